import { record } from '../autograd/record';
import { releaseKernelData } from '../kernels/backend';
import { getBackend } from '../kernels/registry';
import { formatShape } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';

export interface CrossEntropyOptions {
  /** Targets equal to this contribute nothing (default −100, as in PyTorch). */
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy from logits [..., vocab] and integer targets [...]; 'mean' averages
 * over the targets that are not ignored.
 */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor | ArrayLike<number>,
  opts: CrossEntropyOptions = {},
): Tensor {
  const { ignoreIndex = -100, reduction = 'mean' } = opts;
  const cols = logits.shape[logits.ndim - 1]!;
  const rows = logits.size / cols;
  const raw = targets instanceof Tensor ? targets.data : targets;
  if (raw.length !== rows) {
    throw new Error(
      `crossEntropy: ${raw.length} targets for ${rows} rows of logits ${formatShape(logits.shape)}`,
    );
  }
  const tgt = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const t = raw[i]!;
    if (t !== ignoreIndex && (!Number.isInteger(t) || t < 0 || t >= cols)) {
      throw new Error(`crossEntropy: target ${t} at row ${i} is outside [0, ${cols})`);
    }
    tgt[i] = t;
  }
  let count = 0;
  for (let i = 0; i < rows; i++) if (tgt[i] !== ignoreIndex) count++;
  const scale = reduction === 'mean' ? (count > 0 ? 1 / count : 0) : 1;
  const be = getBackend();
  const perRow = be.crossEntropy(logits.kernelData(be), tgt, rows, cols, ignoreIndex);
  let out: Tensor;
  if (reduction === 'none') {
    out = new Tensor(perRow, logits.shape.slice(0, -1));
  } else {
    // Summed by the backend, so a GPU backend's rows stay on the device.
    const total = be.reduce('sum', perRow, 1, rows, 1);
    out = new Tensor(be.binary('mul', total, [], scaleOf(scale), [], []), []);
    releaseKernelData(total);
    releaseKernelData(perRow);
  }
  return record(out, 'crossEntropy', [logits], (g) => {
    const gb = getBackend();
    // d loss / d rowLoss: g itself, or g · scale for every row.
    const rowGrad =
      reduction === 'none'
        ? g.kernelData(gb)
        : gb.binary('mul', g.kernelData(gb), [1], filled(rows, scale), [rows], [rows]);
    const dLogits = gb.crossEntropyBackward(
      logits.kernelData(gb),
      tgt,
      rows,
      cols,
      ignoreIndex,
      rowGrad,
    );
    if (reduction !== 'none') releaseKernelData(rowGrad);
    return [new Tensor(dLogits, logits.shape)];
  });
}

function scaleOf(value: number): Float32Array {
  return new Float32Array([value]);
}

function filled(n: number, value: number): Float32Array {
  return new Float32Array(n).fill(value);
}
