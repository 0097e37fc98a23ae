// Applying a product of Householder reflectors H_0 H_1 ⋯ H_{count−1} to a matrix in blocks of
// NB (compact WY: H_k ⋯ H_{k+NB−1} = I − Y T Yᵀ, LAPACK dlarft + dlarfb), so that almost all
// of the work is matrix multiplication.

import { gemm, rowMajor } from './gemm';

const NB = 64;

/** Reflector storage as left by the factorisations in householder.ts. */
export interface Reflectors {
  store: Float64Array;
  /** Stride between consecutive reflectors and between entries of one reflector. */
  ks: number;
  rs: number;
  count: number;
  /** Reflector k acts on indices ≥ k + shift. */
  shift: number;
  tau: Float64Array;
}

/** C ← H_0 H_1 ⋯ H_{count−1} C for a row-major C (rows×cols, leading dimension ldc). */
export function applyReflectors(
  h: Reflectors,
  c: Float64Array,
  rows: number,
  cols: number,
  ldc: number,
): void {
  const { store, ks, rs, count, shift, tau } = h;
  if (count <= 0 || cols === 0) return;
  const y = new Float64Array(rows * NB);
  const t = new Float64Array(NB * NB);
  const w = new Float64Array(NB * cols);
  const g = new Float64Array(NB * NB);
  const lastBlock = Math.floor((count - 1) / NB) * NB;
  for (let k0 = lastBlock; k0 >= 0; k0 -= NB) {
    const nb = Math.min(NB, count - k0);
    const p0 = k0 + shift;
    const len = rows - p0;
    if (len <= 0) continue;
    // Y (len×nb): unit lower trapezoidal.
    for (let r = 0; r < len; r++) {
      const yo = r * nb;
      for (let b = 0; b < nb; b++) {
        const k = k0 + b;
        y[yo + b] = r < b ? 0 : r === b ? 1 : store[k * ks + (p0 + r) * rs]!;
      }
    }
    // T: H_k0 ⋯ H_k0+nb−1 = I − Y T Yᵀ with T upper triangular (forward, columnwise).
    gemm(nb, nb, len, 1, rowMajor(y, nb, 0, true), rowMajor(y, nb), 0, g, 0, nb);
    t.fill(0);
    for (let b = 0; b < nb; b++) {
      const tb = tau[k0 + b]!;
      t[b * nb + b] = tb;
      if (tb === 0) continue;
      for (let i = 0; i < b; i++) {
        let s = 0;
        for (let l = i; l < b; l++) s += t[i * nb + l]! * g[l * nb + b]!;
        t[i * nb + b] = -tb * s;
      }
    }
    const cv = { data: c, offset: p0 * ldc, rs: ldc, cs: 1 };
    gemm(nb, cols, len, 1, rowMajor(y, nb, 0, true), cv, 0, w, 0, cols);
    // W ← T W in place, top row first since T is upper triangular.
    for (let i = 0; i < nb; i++) {
      const wi = i * cols;
      const tii = t[i * nb + i]!;
      for (let j = 0; j < cols; j++) w[wi + j] *= tii;
      for (let l = i + 1; l < nb; l++) {
        const til = t[i * nb + l]!;
        if (til === 0) continue;
        const wl = l * cols;
        for (let j = 0; j < cols; j++) w[wi + j] += til * w[wl + j]!;
      }
    }
    gemm(len, cols, nb, -1, rowMajor(y, nb), rowMajor(w, cols), 1, c, p0 * ldc, ldc);
  }
}
