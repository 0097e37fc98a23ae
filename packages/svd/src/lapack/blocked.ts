// Householder reflectors applied NB at a time in compact WY form (H_k ⋯ H_{k+NB−1} = I − Y T Yᵀ,
// LAPACK dlarft + dlarfb), so that almost all of the work is matrix multiplication; and the
// blocked QR factorisation built on it (dgeqrf).

import { gemm, rowMajor } from '../kernels/gemm';
import { qrFactor } from './householder';

const NB = 32;

/** Reflector storage as left by the factorisations in householder.ts. */
export interface Reflectors {
  store: Float64Array;
  /** Reflector k's entry for index r is store[k·ks + r·rs] (r > k + shift; 1 at r = k + shift). */
  ks: number;
  rs: number;
  count: number;
  /** Reflector k acts on indices ≥ k + shift. */
  shift: number;
  tau: Float64Array;
}

/** Scratch reused across blocks of one application. */
interface Workspace {
  y: Float64Array;
  t: Float64Array;
  g: Float64Array;
  w: Float64Array;
}

function workspace(rows: number, cols: number): Workspace {
  return {
    y: new Float64Array(rows * NB),
    t: new Float64Array(NB * NB),
    g: new Float64Array(NB * NB),
    w: new Float64Array(NB * cols),
  };
}

/**
 * C ← (H_k0 ⋯ H_{k0+nb−1}) C, or its transpose, for the rows×cols matrix whose entry (r, j) is
 * c[cOff + r·ldc + j]; row r of C is index r of the reflectors.
 */
function applyBlock(
  h: Reflectors,
  k0: number,
  nb: number,
  c: Float64Array,
  cOff: number,
  rows: number,
  cols: number,
  ldc: number,
  transpose: boolean,
  ws: Workspace,
): void {
  const { store, ks, rs, shift, tau } = h;
  const { y, t, g, w } = ws;
  const p0 = k0 + shift;
  const len = rows - p0;
  if (len <= 0 || cols === 0) return;
  // Y (len×nb), unit lower trapezoidal.
  for (let r = 0; r < len; r++) {
    const yo = r * nb;
    for (let b = 0; b < nb; b++) {
      y[yo + b] = r < b ? 0 : r === b ? 1 : store[(k0 + b) * ks + (p0 + r) * rs]!;
    }
  }
  // T upper triangular with H_k0 ⋯ H_k0+nb−1 = I − Y T Yᵀ (forward, columnwise).
  gemm(nb, nb, len, 1, rowMajor(y, nb, 0, true), rowMajor(y, nb), 0, g, 0, nb);
  t.fill(0, 0, nb * nb);
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
  const co = cOff + p0 * ldc;
  gemm(nb, cols, len, 1, rowMajor(y, nb, 0, true), rowMajor(c, ldc, co), 0, w, 0, cols);
  // W ← T W (or Tᵀ W) in place, in the order that reads only rows not yet overwritten.
  if (!transpose) {
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
  } else {
    for (let i = nb - 1; i >= 0; i--) {
      const wi = i * cols;
      const tii = t[i * nb + i]!;
      for (let j = 0; j < cols; j++) w[wi + j] *= tii;
      for (let l = 0; l < i; l++) {
        const tli = t[l * nb + i]!;
        if (tli === 0) continue;
        const wl = l * cols;
        for (let j = 0; j < cols; j++) w[wi + j] += tli * w[wl + j]!;
      }
    }
  }
  gemm(len, cols, nb, -1, rowMajor(y, nb), rowMajor(w, cols), 1, c, co, ldc);
}

/** C ← H_0 H_1 ⋯ H_{count−1} C for a row-major C (rows×cols, leading dimension ldc). */
export function applyReflectors(
  h: Reflectors,
  c: Float64Array,
  rows: number,
  cols: number,
  ldc: number,
): void {
  if (h.count <= 0 || cols === 0) return;
  const ws = workspace(rows, cols);
  for (let k0 = Math.floor((h.count - 1) / NB) * NB; k0 >= 0; k0 -= NB) {
    applyBlock(h, k0, Math.min(NB, h.count - k0), c, 0, rows, cols, ldc, false, ws);
  }
}

/**
 * Householder QR of a row-major m×n a (m ≥ n), R in the upper triangle and reflectors below as
 * in {@link qrFactor}: panels of NB columns are factored one column at a time and the rest of
 * the matrix is updated with one block reflector per panel.
 */
export function blockedQr(a: Float64Array, m: number, n: number, tau: Float64Array): void {
  if (n <= 2 * NB) {
    qrFactor(a, m, n, tau);
    return;
  }
  const ws = workspace(m, n);
  const h: Reflectors = { store: a, ks: 1, rs: n, count: n, shift: 0, tau };
  for (let k0 = 0; k0 < n; k0 += NB) {
    const nb = Math.min(NB, n - k0);
    qrFactor(a, m - k0, nb, tau.subarray(k0, k0 + nb), n, k0 * n + k0);
    const rest = n - k0 - nb;
    if (rest > 0) applyBlock(h, k0, nb, a, k0 + nb, m, rest, n, true, ws);
  }
}
