import { record } from '../autograd/record';
import { getBackend } from '../kernels/registry';
import { broadcastShapes, formatShape, sizeOf } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';
import { sumToShape } from './broadcast';
import { expand, reshape } from './movement';

export interface MatmulOptions {
  /** Use the transpose of `a`'s last two axes. */
  transA?: boolean;
  /** Use the transpose of `b`'s last two axes (x Wᵀ for a linear layer). */
  transB?: boolean;
}

/**
 * Batched matrix product over the last two axes, leading axes broadcast (NumPy).
 * 1-D operands are treated as a row (a) or column (b) vector and squeezed back.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const { transA = false, transB = false } = opts;
  if (a.ndim === 0 || b.ndim === 0) throw new Error('matmul: operands must have at least one axis');
  if (a.ndim === 1)
    return reshape(matmul(reshape(a, [1, a.size]), b, { transB }), dropSecondLast(b, transB));
  if (b.ndim === 1) {
    const out = matmul(a, reshape(b, [b.size, 1]), { transA });
    return reshape(out, out.shape.slice(0, -1));
  }
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const kb = transB ? bc : br;
  const n = transB ? br : bc;
  if (k !== kb) {
    throw new Error(
      `matmul: inner dimensions differ: ${formatShape(a.shape)}${transA ? 'ᵀ' : ''} × ${formatShape(b.shape)}${transB ? 'ᵀ' : ''}`,
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batchShape = broadcastShapes(aBatch, bBatch, 'matmul');
  const batch = sizeOf(batchShape);
  // A batch that is broadcast as a whole is read with stride 0; a partial broadcast is materialised.
  const strideFor = (
    t: Tensor,
    tb: readonly number[],
    rows: number,
    cols: number,
  ): [Tensor, number] => {
    if (sizeOf(tb) === 1) return [t, 0];
    if (tb.length === batchShape.length && tb.every((d, i) => d === batchShape[i]))
      return [t, rows * cols];
    return [expand(t, [...batchShape, rows, cols]), rows * cols];
  };
  const [ax, aStride] = strideFor(a, aBatch, ar, ac);
  const [bx, bStride] = strideFor(b, bBatch, br, bc);
  // One b for a whole batch of untransposed a (x Wᵀ of a linear layer over [batch, seq, in]):
  // the batch's rows stacked are one matrix, so a single product reads (packs) b once.
  const fold = bStride === 0 && aStride !== 0 && !transA;
  const be = getBackend();
  const data = be.matmul(ax.kernelData(be), bx.kernelData(be), {
    batch: fold ? 1 : batch,
    m: fold ? batch * m : m,
    k,
    n,
    transA,
    transB,
    aBatchStride: fold ? 0 : aStride,
    bBatchStride: bStride,
  });
  const out = new Tensor(data, [...batchShape, m, n]);
  return record(out, 'matmul', [a, b], (g) => {
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (a.requiresGrad) {
      da = transA
        ? matmul(b, g, { transA: transB, transB: true })
        : matmul(g, b, { transB: !transB });
      da = sumToShape(da, a.shape);
    }
    if (b.requiresGrad && fold && a.size === batch * m * k) {
      // The same stacking for b's gradient: one product over every row, not a sum of batch many.
      const a2 = reshape(a, [batch * m, k]);
      const g2 = reshape(g, [batch * m, n]);
      db = transB ? matmul(g2, a2, { transA: true }) : matmul(a2, g2, { transA: true });
      db = reshape(db, b.shape);
    } else if (b.requiresGrad) {
      db = transB
        ? matmul(g, a, { transA: true, transB: transA })
        : matmul(a, g, { transA: !transA });
      db = sumToShape(db, b.shape);
    }
    return [da, db];
  });
}

function dropSecondLast(b: Tensor, transB: boolean): number[] {
  const shape = [...b.shape];
  const n = transB ? shape[shape.length - 2]! : shape[shape.length - 1]!;
  return [...shape.slice(0, -2), n];
}
