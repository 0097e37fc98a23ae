import type { RopeParams } from '../backend';
import { bufferPool } from '../buffer-pool';

/** Rotate-half rotary embedding (Hugging Face LLaMA): pairs (i, i + dim/2). */
export function rope(x: Float32Array, p: RopeParams): Float32Array {
  const { rows, seq, dim, offset, positions, invFreq, inverse } = p;
  const half = dim / 2;
  const out = bufferPool.acquire(x.length);
  const cos = new Float32Array(seq * half);
  const sin = new Float32Array(seq * half);
  for (let t = 0; t < seq; t++) {
    const pos = positions ? positions[t]! : offset + t;
    for (let i = 0; i < half; i++) {
      // float32 angle, as the reference computes it.
      const angle = Math.fround(pos * invFreq[i]!);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = inverse ? -Math.sin(angle) : Math.sin(angle);
    }
  }
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < seq; t++) {
      const base = (r * seq + t) * dim;
      const cs = t * half;
      for (let i = 0; i < half; i++) {
        const x1 = x[base + i]!;
        const x2 = x[base + half + i]!;
        const c = cos[cs + i]!;
        const s = sin[cs + i]!;
        out[base + i] = x1 * c - x2 * s;
        out[base + half + i] = x2 * c + x1 * s;
      }
    }
  }
  return out;
}
