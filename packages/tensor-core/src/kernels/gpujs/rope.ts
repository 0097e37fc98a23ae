import type { KernelData, RopeParams } from '../backend';
import { EXACT_INDEX_LIMIT, view } from './context';
import { type KernelPlan, singleLaunch } from './plan';

/**
 * Rotate-half rotary embedding, one thread per element of [rows, seq, dim]: element i
 * pairs with i ± dim/2. The angle is rounded to float32 first (Math.fround), as the
 * reference computes it.
 */
export function rope(x: KernelData, p: RopeParams): KernelPlan | null {
  const { rows, seq, dim, offset, positions, invFreq, inverse } = p;
  if (rows * seq * dim === 0 || Math.max(rows, seq, dim) >= EXACT_INDEX_LIMIT) return null;
  const pos = new Float32Array(seq);
  for (let t = 0; t < seq; t++) pos[t] = positions ? positions[t]! : offset + t;
  // Positions beyond 2^24 are not exact in float32; the reference keeps them exact.
  for (let t = 0; t < seq; t++) if (Math.abs(pos[t]!) >= EXACT_INDEX_LIMIT) return null;
  return singleLaunch(
    'rope',
    () => `function rope(x, pos, invFreq, half, sign) {
      const d = this.thread.x;
      let i = d;
      if (d >= half) { i = d - half; }
      const angle = Math.fround(pos[this.thread.y] * invFreq[i]);
      const c = Math.cos(angle);
      const s = sign * Math.sin(angle);
      const v = x[this.thread.z][this.thread.y][d];
      if (d < half) {
        return v * c - x[this.thread.z][this.thread.y][d + half] * s;
      }
      return v * c + x[this.thread.z][this.thread.y][d - half] * s;
    }`,
    [dim, seq, rows],
    view(x, dim, seq, rows),
    pos,
    invFreq,
    dim / 2,
    inverse ? -1 : 1,
  );
}
