import type { AttentionParams } from '../backend';
import { bufferPool } from '../buffer-pool';

/**
 * Fused scaled dot-product attention with grouped-query heads: query head h reads
 * key/value head floor(h / (heads / kvHeads)). Probabilities are returned for the
 * backward pass.
 */
export function attention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  mask: Float32Array | null,
  p: AttentionParams,
): [Float32Array, Float32Array] {
  const { batch, heads, kvHeads, tq, tk, dim, scale, causal, maskStrides } = p;
  const group = heads / kvHeads;
  const out = bufferPool.acquireZeroed(batch * heads * tq * dim);
  const probs = bufferPool.acquire(batch * heads * tq * tk);
  const shift = tk - tq;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / group);
      const qBase = (b * heads + h) * tq * dim;
      const kvBase = (b * kvHeads + kvh) * tk * dim;
      for (let i = 0; i < tq; i++) {
        const row = ((b * heads + h) * tq + i) * tk;
        const qi = qBase + i * dim;
        const limit = causal ? Math.max(0, Math.min(tk, i + shift + 1)) : tk;
        let max = Number.NEGATIVE_INFINITY;
        // Keys past the causal limit get probability 0 and are never visited again.
        probs.fill(0, row + limit, row + tk);
        for (let j = 0; j < limit; j++) {
          const kj = kvBase + j * dim;
          let s = 0;
          for (let d = 0; d < dim; d++) s += q[qi + d]! * k[kj + d]!;
          s *= scale;
          if (mask && maskStrides) {
            s +=
              mask[
                b * maskStrides[0] + h * maskStrides[1] + i * maskStrides[2] + j * maskStrides[3]
              ]!;
          }
          probs[row + j] = s;
          // A NaN score makes the row's maximum NaN, so it reaches every probability and
          // the output as in exact arithmetic (a row max that skipped it would turn an
          // all-NaN row into "fully masked" zeros).
          if (s > max || Number.isNaN(s)) max = s;
        }
        let sum = 0;
        for (let j = 0; j < limit; j++) {
          const e = max === Number.NEGATIVE_INFINITY ? 0 : Math.exp(probs[row + j]! - max);
          probs[row + j] = e;
          sum += e;
        }
        // A fully masked row attends to nothing and outputs zeros rather than NaN; a NaN
        // sum stays NaN.
        const inv = sum > 0 ? 1 / sum : sum === 0 ? 0 : Number.NaN;
        const oi = qBase + i * dim;
        for (let j = 0; j < limit; j++) {
          const pj = probs[row + j]! * inv;
          probs[row + j] = pj;
          if (pj === 0) continue;
          const vj = kvBase + j * dim;
          for (let d = 0; d < dim; d++) out[oi + d]! += pj * v[vj + d]!;
        }
      }
    }
  }
  return [out, probs];
}

export function attentionBackward(
  dOut: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  probs: Float32Array,
  p: AttentionParams,
): [Float32Array, Float32Array, Float32Array] {
  const { batch, heads, kvHeads, tq, tk, dim, scale } = p;
  const group = heads / kvHeads;
  const dq = bufferPool.acquireZeroed(q.length);
  const dk = bufferPool.acquireZeroed(k.length);
  const dv = bufferPool.acquireZeroed(v.length);
  const dS = new Float32Array(tk);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / group);
      const qBase = (b * heads + h) * tq * dim;
      const kvBase = (b * kvHeads + kvh) * tk * dim;
      for (let i = 0; i < tq; i++) {
        const row = ((b * heads + h) * tq + i) * tk;
        const oi = qBase + i * dim;
        // dP = dO · Vᵀ; dS = P ⊙ (dP − Σ P ⊙ dP); dV += Pᵀ dO.
        let dot = 0;
        for (let j = 0; j < tk; j++) {
          const pj = probs[row + j]!;
          if (pj === 0) {
            dS[j] = 0;
            continue;
          }
          const vj = kvBase + j * dim;
          let dp = 0;
          for (let d = 0; d < dim; d++) {
            dp += dOut[oi + d]! * v[vj + d]!;
            dv[vj + d]! += pj * dOut[oi + d]!;
          }
          dS[j] = dp;
          dot += pj * dp;
        }
        for (let j = 0; j < tk; j++) {
          const pj = probs[row + j]!;
          if (pj === 0) continue;
          const ds = pj * (dS[j]! - dot) * scale;
          const kj = kvBase + j * dim;
          for (let d = 0; d < dim; d++) {
            dq[oi + d]! += ds * k[kj + d]!;
            dk[kj + d]! += ds * q[oi + d]!;
          }
        }
      }
    }
  }
  return [dq, dk, dv];
}
