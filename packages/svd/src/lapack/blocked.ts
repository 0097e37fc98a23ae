// Householder reflectors applied NB at a time in compact WY form (H_k ⋯ H_{k+NB−1} = I − Y T Yᵀ,
// LAPACK dlarft + dlarfb), so that almost all of the work is matrix multiplication; and the
// blocked QR factorisation built on it (dgeqrf).
//
// Y is unit lower trapezoidal: its top nb×nb triangle is copied out (the storage holds R or the
// bidiagonal there), the rectangle below it is read in place by the GEMM as a strided view, as
// dlarfb splits Y into a TRMM and a GEMM part. Wider blocks give each GEMM a longer inner
// dimension (its packing and write-back cost per flop falls as 1/NB), at the price of forming
// T from YᵀY (about NB·mn extra flops per pass); QR factors each wide panel with narrow blocks.

import { gemm, rowMajor, type View } from '../kernels/gemm';
import { qrFactor } from './householder';

/** Block sizes of the WY passes: reflectors per block, and QR's inner panel width. */
export interface Blocking {
  nb: number;
  panel: number;
}

const DEFAULT_BLOCKING: Blocking = { nb: 96, panel: 32 };
let blocking: Blocking = DEFAULT_BLOCKING;

/**
 * Sets the block sizes (for benchmarks and tests: `{ nb: 32, panel: 32 }` is this package's
 * previous blocking); called without an argument it restores the default.
 */
export function setBlocking(b: Blocking = DEFAULT_BLOCKING): void {
  if (!(Number.isInteger(b.nb) && b.nb >= 1 && Number.isInteger(b.panel) && b.panel >= 1)) {
    throw new Error(`svd: block sizes must be positive integers, got ${JSON.stringify(b)}`);
  }
  blocking = { ...b };
}

/**
 * Reflectors per block for `count` of them: wide blocks only pay off when there are several,
 * so a small factor gets at most a quarter of them per block (never fewer than `panel`).
 */
function blockWidth(count: number): number {
  return Math.min(blocking.nb, Math.max(blocking.panel, Math.ceil(count / 4)));
}

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
  nb: number;
  y1: Float64Array;
  t: Float64Array;
  g: Float64Array;
  w: Float64Array;
  tw: Float64Array;
}

function workspace(nb: number, cols: number): Workspace {
  return {
    nb,
    y1: new Float64Array(nb * nb),
    t: new Float64Array(nb * nb),
    g: new Float64Array(nb * nb),
    w: new Float64Array(nb * cols),
    tw: new Float64Array(nb * cols),
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
  const { y1, t, g, w, tw } = ws;
  const p0 = k0 + shift;
  const len = rows - p0;
  if (len <= 0 || cols === 0) return;
  // Y = [Y1; Y2]: Y1 (top rows × nb) unit lower triangular, Y2 the rest of the stored vectors.
  const top = Math.min(nb, len);
  const rest = len - top;
  for (let r = 0; r < top; r++) {
    const yo = r * nb;
    for (let b = 0; b < nb; b++) {
      y1[yo + b] = r < b ? 0 : r === b ? 1 : store[(k0 + b) * ks + (p0 + r) * rs]!;
    }
  }
  const y2Off = k0 * ks + (p0 + top) * rs;
  const y2: View = { data: store, offset: y2Off, rs, cs: ks };
  const y2t: View = { data: store, offset: y2Off, rs: ks, cs: rs };
  // T upper triangular with H_k0 ⋯ H_k0+nb−1 = I − Y T Yᵀ (forward, columnwise), from YᵀY.
  gemm(nb, nb, top, 1, rowMajor(y1, nb, 0, true), rowMajor(y1, nb), 0, g, 0, nb);
  gemm(nb, nb, rest, 1, y2t, y2, 1, g, 0, nb);
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
  const c1 = cOff + p0 * ldc;
  const c2 = c1 + top * ldc;
  // W = Yᵀ C, then W ← T W (or Tᵀ W), then C ← C − Y W.
  gemm(nb, cols, top, 1, rowMajor(y1, nb, 0, true), rowMajor(c, ldc, c1), 0, w, 0, cols);
  gemm(nb, cols, rest, 1, y2t, rowMajor(c, ldc, c2), 1, w, 0, cols);
  gemm(nb, cols, nb, 1, rowMajor(t, nb, 0, transpose), rowMajor(w, cols), 0, tw, 0, cols);
  gemm(top, cols, nb, -1, rowMajor(y1, nb), rowMajor(tw, cols), 1, c, c1, ldc);
  gemm(rest, cols, nb, -1, y2, rowMajor(tw, cols), 1, c, c2, ldc);
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
  const nb = Math.min(blockWidth(h.count), h.count);
  const ws = workspace(nb, cols);
  for (let k0 = Math.floor((h.count - 1) / nb) * nb; k0 >= 0; k0 -= nb) {
    applyBlock(h, k0, Math.min(nb, h.count - k0), c, 0, rows, cols, ldc, false, ws);
  }
}

/**
 * Householder QR of a row-major m×n a (m ≥ n), R in the upper triangle and reflectors below as
 * in {@link qrFactor}: panels of NB columns are factored (themselves in blocks of `panel`
 * columns, one column at a time inside those) and the rest of the matrix is updated with one
 * block reflector per panel.
 */
export function blockedQr(a: Float64Array, m: number, n: number, tau: Float64Array): void {
  const { panel } = blocking;
  const nb = blockWidth(n);
  if (n <= 2 * Math.min(nb, panel)) {
    qrFactor(a, m, n, tau);
    return;
  }
  const h: Reflectors = { store: a, ks: 1, rs: n, count: n, shift: 0, tau };
  const outer = workspace(nb, n);
  const inner = workspace(panel, nb);
  for (let k0 = 0; k0 < n; k0 += nb) {
    const width = Math.min(nb, n - k0);
    for (let k1 = k0; k1 < k0 + width; k1 += panel) {
      const w1 = Math.min(panel, k0 + width - k1);
      qrFactor(a, m - k1, w1, tau.subarray(k1, k1 + w1), n, k1 * n + k1);
      const right = k0 + width - k1 - w1;
      if (right > 0) applyBlock(h, k1, w1, a, k1 + w1, m, right, n, true, inner);
    }
    const rest = n - k0 - width;
    if (rest > 0) applyBlock(h, k0, width, a, k0 + width, m, rest, n, true, outer);
  }
}
