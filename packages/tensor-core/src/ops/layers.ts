import { record } from '../autograd/record';
import { releaseKernelData } from '../kernels/backend';
import { getBackend } from '../kernels/registry';
import { broadcastShapes, formatShape, stridesOf } from '../tensor/shape';
import { releaseWhenCollected, Tensor } from '../tensor/tensor';
import { toIndices } from './creation';

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · weight (fused). */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  const cols = x.shape[x.ndim - 1]!;
  if (weight.ndim !== 1 || weight.size !== cols) {
    throw new Error(
      `rmsNorm: weight ${formatShape(weight.shape)} does not match last axis of ${formatShape(x.shape)}`,
    );
  }
  const rows = x.size / cols;
  const be = getBackend();
  const out = new Tensor(
    be.rmsNorm(x.kernelData(be), weight.kernelData(be), rows, cols, eps),
    x.shape,
  );
  return record(out, 'rmsNorm', [x, weight], (g) => {
    const gb = getBackend();
    const [dx, dw] = gb.rmsNormBackward(
      g.kernelData(gb),
      x.kernelData(gb),
      weight.kernelData(gb),
      rows,
      cols,
      eps,
    );
    return [new Tensor(dx, x.shape), new Tensor(dw, weight.shape)];
  });
}

/** Inverse frequencies θ^(−2i/dim) of rotary embeddings. */
export function ropeInvFreq(dim: number, theta = 10000): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) out[i] = 1 / theta ** ((2 * i) / dim);
  return out;
}

export interface RopeOptions {
  /** Base of the frequencies (rope_theta); ignored when invFreq is given. */
  theta?: number;
  /** Precomputed inverse frequencies (for scaled variants such as llama3). */
  invFreq?: Float32Array;
  /** Position of the first sequence entry (KV-cache decoding). */
  offset?: number;
  /** Explicit position per sequence entry. */
  positions?: ArrayLike<number>;
}

/**
 * Rotary position embedding, rotate-half convention (Hugging Face LLaMA), on
 * x of shape [..., seq, dim]; pairs are (i, i + dim/2).
 */
export function rope(x: Tensor, opts: RopeOptions = {}): Tensor {
  if (x.ndim < 2) throw new Error(`rope: need [..., seq, dim], got ${formatShape(x.shape)}`);
  const dim = x.shape[x.ndim - 1]!;
  const seq = x.shape[x.ndim - 2]!;
  if (dim % 2 !== 0) throw new Error(`rope: head dim ${dim} must be even`);
  const invFreq = opts.invFreq ?? ropeInvFreq(dim, opts.theta ?? 10000);
  if (invFreq.length !== dim / 2)
    throw new Error(`rope: invFreq has ${invFreq.length} entries, need ${dim / 2}`);
  const positions = opts.positions
    ? toIndices(opts.positions, Number.MAX_SAFE_INTEGER, 'rope')
    : undefined;
  if (positions && positions.length !== seq)
    throw new Error(`rope: ${positions.length} positions for seq ${seq}`);
  const params = {
    rows: x.size / (seq * dim),
    seq,
    dim,
    offset: opts.offset ?? 0,
    positions,
    invFreq,
  };
  const be = getBackend();
  const out = new Tensor(be.rope(x.kernelData(be), { ...params, inverse: false }), x.shape);
  return record(out, 'rope', [x], (g) => {
    const gb = getBackend();
    return [new Tensor(gb.rope(g.kernelData(gb), { ...params, inverse: true }), x.shape)];
  });
}

export interface AttentionOptions {
  /** Causal masking; with a KV cache, query t sees keys up to t + (tk − tq). */
  causal?: boolean;
  /** Additive mask broadcastable to [batch, heads, tq, tk] (−Infinity blocks). */
  mask?: Tensor;
  /** Defaults to 1/sqrt(dim). */
  scale?: number;
}

/**
 * Scaled dot-product attention with grouped-query heads (fused): q [batch, heads, tq, dim],
 * k and v [batch, kvHeads, tk, dim], heads a multiple of kvHeads.
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions = {},
): Tensor {
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) {
    throw new Error('scaledDotProductAttention: q, k, v must be [batch, heads, seq, dim]');
  }
  const [batch, heads, tq, dim] = q.shape as [number, number, number, number];
  const [kb, kvHeads, tk, kd] = k.shape as [number, number, number, number];
  if (kb !== batch || kd !== dim || v.shape.some((d, i) => d !== k.shape[i])) {
    throw new Error(
      `scaledDotProductAttention: shapes q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)} do not fit`,
    );
  }
  if (heads % kvHeads !== 0)
    throw new Error(
      `scaledDotProductAttention: ${heads} heads not a multiple of ${kvHeads} kv heads`,
    );
  let maskStrides: [number, number, number, number] | undefined;
  const mask = opts.mask;
  if (mask) {
    const full = [batch, heads, tq, tk];
    const b = broadcastShapes(mask.shape, full, 'attention mask');
    if (b.some((d, i) => d !== full[i])) {
      throw new Error(
        `scaledDotProductAttention: mask ${formatShape(mask.shape)} does not broadcast to ${formatShape(full)}`,
      );
    }
    const padded = [...new Array(4 - mask.ndim).fill(1), ...mask.shape];
    const strides = stridesOf(padded);
    maskStrides = padded.map((d, i) => (d === 1 ? 0 : strides[i]!)) as [
      number,
      number,
      number,
      number,
    ];
  }
  const params = {
    batch,
    heads,
    kvHeads,
    tq,
    tk,
    dim,
    scale: opts.scale ?? 1 / Math.sqrt(dim),
    causal: opts.causal ?? false,
    maskStrides,
  };
  const be = getBackend();
  const [outData, probs] = be.attention(
    q.kernelData(be),
    k.kernelData(be),
    v.kernelData(be),
    mask ? mask.kernelData(be) : null,
    params,
  );
  const out = new Tensor(outData, q.shape);
  // The saved state is private to `be` (see Backend.attention), so the gradient uses it too.
  releaseWhenCollected(out, probs);
  return record(out, 'attention', [q, k, v], (g) => {
    const [dq, dk, dv] = be.attentionBackward(
      g.kernelData(be),
      q.kernelData(be),
      k.kernelData(be),
      v.kernelData(be),
      probs,
      params,
    );
    return [new Tensor(dq, q.shape), new Tensor(dk, k.shape), new Tensor(dv, v.shape)];
  });
}

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
