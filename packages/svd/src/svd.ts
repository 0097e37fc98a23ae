import { SvdConvergenceError } from './errors';
import { withKernelArrays } from './kernels/gemm';
import { bidiagonalDivideAndConquer } from './lapack/bdsdc';
import { bidiagonalQr } from './lapack/bdsqr';
import { applyReflectors, blockedQr } from './lapack/blocked';
import { bidiagonalize, formOrthogonal } from './lapack/householder';
import { copyInto, type MatrixLike, readMatrix, scanMatrix, transpose } from './matrix';

export interface SvdOptions {
  /** The thin factorisation (U m×k, V n×k, k = min(m, n)) is the only layout produced. */
  mode?: 'thin';
  /** Keep only the `rank` largest singular triplets (0 ≤ rank ≤ min(m, n)). */
  rank?: number;
  /** Names the matrix in error messages, e.g. a parameter name from a safetensors file. */
  name?: string;
  /**
   * Cap on the inner steps of each bidiagonal QR solve (the whole bidiagonal below 32 columns,
   * each divide-and-conquer leaf above); LAPACK's 6·k² for a k×k bidiagonal when left out.
   */
  maxIterations?: number;
}

/**
 * A = U diag(S) Vᵀ with U (m×k) and V (n×k) row-major, S descending and non-negative.
 * Column j of U and of V is the j-th singular vector pair.
 */
export interface SvdResult {
  U: Float64Array;
  S: Float64Array;
  V: Float64Array;
  m: number;
  n: number;
  k: number;
}

/** Below this size the QR sweeps are cheaper than divide and conquer's bookkeeping. */
const DIVIDE_AND_CONQUER_MIN = 32;

/**
 * From this many entries (tall orientation) the work happens in the GEMM kernel's memory; below
 * it, setting that memory up costs more than the write-backs it saves.
 */
const KERNEL_ARRAYS_MIN = 2 ** 14;

/** Matrices at least this much taller than wide are QR-factored first (LAPACK's dgesvd uses 1.6). */
const QR_FIRST_RATIO = 1.6;

// Rescaling keeps squared norms inside the float64 range (LAPACK dgesvd's smlnum/bignum).
const SMALL = Math.sqrt(2 ** -1022) / 2 ** -53;
const BIG = 1 / SMALL;

export function rangeScale(maxAbs: number): number {
  if (maxAbs > 0 && maxAbs < SMALL) return SMALL / maxAbs;
  if (maxAbs > BIG) return BIG / maxAbs;
  return 1;
}

interface TallFactors {
  U: Float64Array;
  S: Float64Array;
  V: Float64Array;
}

/** Whether {@link tallSvd} factors an m×n matrix by QR first. */
function qrFirst(m: number, n: number): boolean {
  return m >= QR_FIRST_RATIO * n && n > 1;
}

/** Lengths of the arrays {@link tallSvd} takes as `space` for an m×n matrix. */
function workLengths(m: number, n: number): number[] {
  return qrFirst(m, n) ? [m * n, n * n, ...workLengths(n, n)] : [m * n, n * n];
}

/**
 * Unsorted thin SVD of a (m×n, m ≥ n ≥ 1, destroyed): U m×n, V n×n, written into `space`
 * (zeroed arrays of the {@link workLengths}, which U and V are views of).
 */
function tallSvd(
  a: Float64Array,
  m: number,
  n: number,
  name: string,
  maxIterations: number | undefined,
  space: Float64Array[],
): TallFactors {
  if (qrFirst(m, n)) {
    // R-SVD: the bidiagonal work then happens on an n×n R instead of the m×n A.
    const [u, r] = space as [Float64Array, Float64Array];
    const tau = new Float64Array(n);
    blockedQr(a, m, n, tau);
    for (let i = 0; i < n; i++) r.set(a.subarray(i * n + i, i * n + n), i * n + i);
    const inner = tallSvd(r, n, n, name, maxIterations, space.slice(2));
    u.set(inner.U);
    applyReflectors({ store: a, ks: 1, rs: n, count: n, shift: 0, tau }, u, m, n, n);
    return { U: u, S: inner.S, V: inner.V };
  }
  const [u, v] = space as [Float64Array, Float64Array];
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const tauq = new Float64Array(n);
  const taup = new Float64Array(n);
  bidiagonalize(a, m, n, d, e, tauq, taup);
  const left = { store: a, ks: 1, rs: n, count: n, shift: 0, tau: tauq };
  const right = { store: a, ks: n, rs: 1, count: n - 1, shift: 1, tau: taup };
  let result: {
    stage?: 'bidiagonal QR' | 'secular equation';
    converged: boolean;
    iterations: number;
    maxIterations: number;
    unconverged: number;
  };
  if (n >= DIVIDE_AND_CONQUER_MIN) {
    // Divide and conquer finds the bidiagonal's vectors with matrix products; Q and P are then
    // applied to them in blocks, so nearly all the O(n³) work is matrix multiplication.
    const dc = bidiagonalDivideAndConquer(n, d, e, maxIterations);
    result = dc;
    u.set(dc.u);
    applyReflectors(left, u, m, n, n);
    v.set(dc.v);
    applyReflectors(right, v, n, n, n);
    d.set(dc.s);
  } else {
    formOrthogonal(u, m, n, n, 0, a, 1, n, tauq);
    formOrthogonal(v, n, n, n - 1, 1, a, n, 1, taup);
    result = bidiagonalQr(
      n,
      d,
      e,
      { data: u, rows: m, ld: n, offset: 0 },
      { data: v, rows: n, ld: n, offset: 0 },
      maxIterations,
    );
  }
  if (!result.converged) {
    throw new SvdConvergenceError(
      name,
      result.stage ?? 'bidiagonal QR',
      result.iterations,
      result.maxIterations,
      result.unconverged,
    );
  }
  return { U: u, S: d, V: v };
}

/** Indices of s in descending order of value (stable, so ties keep the algorithm's order). */
function descendingOrder(s: Float64Array): Int32Array {
  const order = Int32Array.from({ length: s.length }, (_, i) => i);
  order.sort((i, j) => s[j]! - s[i]! || i - j);
  return order;
}

/** Copies the chosen columns of `from` (rows×ld) into a rows×k matrix. */
function gatherColumns(
  from: Float64Array,
  rows: number,
  ld: number,
  columns: Int32Array,
  k: number,
): Float64Array {
  const out = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const fo = r * ld;
    const oo = r * k;
    // `+ 0` turns −0 into 0, so exact zeros print as such.
    for (let c = 0; c < k; c++) out[oo + c] = from[fo + columns[c]!]! + 0;
  }
  return out;
}

/**
 * Applies the sign convention in place: in every column of U the entry of largest magnitude
 * (the first one on a tie) is made positive, flipping the matching column of V with it
 * (scikit-learn's svd_flip).
 */
export function signConvention(f: SvdResult): void {
  const { U, V, m, n, k } = f;
  const best = new Float64Array(k);
  for (let r = 0; r < m; r++) {
    const o = r * k;
    for (let c = 0; c < k; c++) {
      const x = U[o + c]!;
      if (Math.abs(x) > Math.abs(best[c]!)) best[c] = x;
    }
  }
  for (let c = 0; c < k; c++) {
    if (best[c]! >= 0) continue;
    for (let r = 0; r < m; r++) U[r * k + c] = 0 - U[r * k + c]!;
    for (let r = 0; r < n; r++) V[r * k + c] = 0 - V[r * k + c]!;
  }
}

export function checkRank(rank: number | undefined, k: number, name: string): number {
  if (rank === undefined) return k;
  if (!Number.isInteger(rank) || rank < 0 || rank > k) {
    throw new Error(`svd: rank for "${name}" must be an integer in [0, ${k}], got ${rank}`);
  }
  return rank;
}

/**
 * Thin singular value decomposition A = U diag(S) Vᵀ, computed in float64: Householder
 * bidiagonalisation (after a QR factorisation when A is much taller than wide; wide matrices are
 * transposed), then divide and conquer on the bidiagonal, or implicit-shift QR (Golub–Kahan)
 * below 32 columns. `rank` truncates the exact decomposition, at the same cost; for a few
 * triplets of a large matrix see `randomizedSvd`.
 *
 * ```ts
 * const { U, S, V } = svd({ shape: [m, n], data }, { rank: 8, name: 'q_proj' });
 * ```
 */
export function svd(a: MatrixLike, options: SvdOptions = {}): SvdResult {
  const name = options.name ?? 'A';
  if (options.mode !== undefined && options.mode !== 'thin') {
    throw new Error(`svd: only mode 'thin' is supported, got '${options.mode as string}'`);
  }
  const mat = scanMatrix(a, name);
  const { rows: m, cols: n } = mat;
  const k = Math.min(m, n);
  const rank = checkRank(options.rank, k, name);
  if (k === 0) {
    return { U: new Float64Array(0), S: new Float64Array(0), V: new Float64Array(0), m, n, k: 0 };
  }
  const wide = m < n;
  const rows = wide ? n : m;
  // The working copy and the factors live in the GEMM kernel's memory (see withKernelArrays),
  // so they must be copied out before this callback returns; gatherColumns does that.
  const lengths = [rows * k, ...workLengths(rows, k)];
  const inKernelMemory = rows * k >= KERNEL_ARRAYS_MIN;
  const arrays = <T>(fn: (a: Float64Array[]) => T): T =>
    inKernelMemory ? withKernelArrays(lengths, fn) : fn(lengths.map((l) => new Float64Array(l)));
  return arrays(([work, ...space]) => {
    if (wide) transpose(mat.data, m, n, work!);
    else copyInto(mat.data, work!);
    const scale = rangeScale(mat.maxAbs);
    if (scale !== 1) for (let i = 0; i < work!.length; i++) work![i] *= scale;
    const f = tallSvd(work!, rows, k, name, options.maxIterations, space);
    if (scale !== 1) for (let i = 0; i < k; i++) f.S[i] /= scale;

    // A = U S Vᵀ for the tall case; for a wide A, Aᵀ = U' S V'ᵀ so U = V' and V = U'.
    const uOf = wide ? f.V : f.U;
    const vOf = wide ? f.U : f.V;
    const order = descendingOrder(f.S);
    const S = new Float64Array(rank);
    for (let c = 0; c < rank; c++) S[c] = f.S[order[c]!]!;
    const result = {
      U: gatherColumns(uOf, m, k, order, rank),
      S,
      V: gatherColumns(vOf, n, k, order, rank),
      m,
      n,
      k: rank,
    };
    signConvention(result);
    return result;
  });
}

/** Singular values only, descending; cheaper than {@link svd} since no vectors are accumulated. */
export function singularValues(
  a: MatrixLike,
  options: Pick<SvdOptions, 'name' | 'maxIterations'> = {},
): Float64Array {
  const name = options.name ?? 'A';
  const mat = readMatrix(a, name);
  const { rows: m, cols: n } = mat;
  const k = Math.min(m, n);
  if (k === 0) return new Float64Array(0);
  let work = m < n ? transpose(mat.data, m, n) : mat.data;
  let rows = Math.max(m, n);
  const scale = rangeScale(mat.maxAbs);
  if (scale !== 1) for (let i = 0; i < work.length; i++) work[i] *= scale;
  if (rows >= QR_FIRST_RATIO * k && k > 1) {
    const tau = new Float64Array(k);
    blockedQr(work, rows, k, tau);
    const r = new Float64Array(k * k);
    for (let i = 0; i < k; i++) r.set(work.subarray(i * k + i, i * k + k), i * k + i);
    work = r;
    rows = k;
  }
  const d = new Float64Array(k);
  const e = new Float64Array(k);
  bidiagonalize(work, rows, k, d, e, new Float64Array(k), new Float64Array(k));
  const result = bidiagonalQr(k, d, e, null, null, options.maxIterations);
  if (!result.converged) {
    throw new SvdConvergenceError(
      name,
      'bidiagonal QR',
      result.iterations,
      result.maxIterations,
      result.unconverged,
    );
  }
  const s = Float64Array.from(d, (x) => x / scale);
  return s.sort().reverse();
}
