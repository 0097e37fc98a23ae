import { record } from '../autograd/record';
import { getBackend } from '../kernels/registry';
import { broadcastShapes, formatShape, stridesOf } from '../tensor/shape';
import { releaseWhenCollected, Tensor } from '../tensor/tensor';

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
