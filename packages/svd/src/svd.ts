import { bidiagonalQr } from './kernels/bdsqr';
import { applyQ, bidiagonalize, formOrthogonal, qrFactor } from './kernels/householder';
import { SvdConvergenceError } from './errors';
import { type MatrixLike, readMatrix, transpose } from './matrix';

export interface SvdOptions {
  /** The thin factorisation (U m×k, V n×k, k = min(m, n)) is the only layout produced. */
  mode?: 'thin';
  /** Keep only the `rank` largest singular triplets (0 ≤ rank ≤ min(m, n)). */
  rank?: number;
  /** Names the matrix in error messages, e.g. a parameter name from a safetensors file. */
  name?: string;
  /** Cap on bidiagonal QR inner steps; LAPACK's 6·k² when left out. */
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

/** Matrices at least this much taller than wide are QR-factored first (LAPACK's dgesvd uses 1.6). */
const QR_FIRST_RATIO = 1.6;

// Rescaling keeps squared norms inside the float64 range (LAPACK dgesvd's smlnum/bignum).
const SMALL = Math.sqrt(2 ** -1022) / 2 ** -53;
const BIG = 1 / SMALL;

function rangeScale(maxAbs: number): number {
  if (maxAbs > 0 && maxAbs < SMALL) return SMALL / maxAbs;
  if (maxAbs > BIG) return BIG / maxAbs;
  return 1;
}

interface TallFactors {
  U: Float64Array;
  S: Float64Array;
  V: Float64Array;
}

/** Unsorted thin SVD of a (m×n, m ≥ n ≥ 1, destroyed): U m×n, V n×n. */
function tallSvd(
  a: Float64Array,
  m: number,
  n: number,
  name: string,
  maxIterations: number | undefined,
): TallFactors {
  if (m >= QR_FIRST_RATIO * n && n > 1) {
    // R-SVD: the QR rotations then act on an n×n R instead of the m×n U.
    const tau = new Float64Array(n);
    qrFactor(a, m, n, tau);
    const r = new Float64Array(n * n);
    for (let i = 0; i < n; i++) r.set(a.subarray(i * n + i, i * n + n), i * n + i);
    const inner = tallSvd(r, n, n, name, maxIterations);
    const u = new Float64Array(m * n);
    u.set(inner.U);
    applyQ(a, m, n, n, tau, u, n);
    return { U: u, S: inner.S, V: inner.V };
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const tauq = new Float64Array(n);
  const taup = new Float64Array(n);
  bidiagonalize(a, m, n, d, e, tauq, taup);
  const u = new Float64Array(m * n);
  formOrthogonal(u, m, n, n, 0, a, 1, n, tauq);
  const v = new Float64Array(n * n);
  formOrthogonal(v, n, n, n - 1, 1, a, n, 1, taup);
  const result = bidiagonalQr(
    n,
    d,
    e,
    { data: u, rows: m, ld: n, offset: 0 },
    { data: v, rows: n, ld: n, offset: 0 },
    maxIterations,
  );
  if (!result.converged) {
    throw new SvdConvergenceError(
      name,
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

/**
 * Copies the chosen columns of `from` (rows×ld) into a rows×k matrix, multiplying column c by
 * signs[c].
 */
function gatherColumns(
  from: Float64Array,
  rows: number,
  ld: number,
  columns: Int32Array,
  k: number,
  signs: Float64Array,
): Float64Array {
  const out = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const fo = r * ld;
    const oo = r * k;
    for (let c = 0; c < k; c++) out[oo + c] = signs[c]! * from[fo + columns[c]!]!;
  }
  return out;
}

/**
 * The sign convention: in every column of U the entry of largest magnitude (the first one on a
 * tie) is positive, and the matching column of V is flipped with it (scikit-learn's svd_flip).
 */
function signsFromU(u: Float64Array, rows: number, ld: number, columns: Int32Array, k: number) {
  const best = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    const o = r * ld;
    for (let c = 0; c < k; c++) {
      const x = u[o + columns[c]!]!;
      if (Math.abs(x) > Math.abs(best[c]!)) best[c] = x;
    }
  }
  const signs = new Float64Array(k);
  for (let c = 0; c < k; c++) signs[c] = best[c]! < 0 ? -1 : 1;
  return signs;
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
 * bidiagonalisation followed by implicit-shift bidiagonal QR (Golub–Kahan).
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
  const mat = readMatrix(a, name);
  const { rows: m, cols: n } = mat;
  const k = Math.min(m, n);
  const rank = checkRank(options.rank, k, name);
  if (k === 0) {
    return { U: new Float64Array(0), S: new Float64Array(0), V: new Float64Array(0), m, n, k: 0 };
  }
  const wide = m < n;
  const work = wide ? transpose(mat.data, m, n) : mat.data;
  const scale = rangeScale(mat.maxAbs);
  if (scale !== 1) for (let i = 0; i < work.length; i++) work[i] *= scale;
  const f = tallSvd(work, wide ? n : m, k, name, options.maxIterations);
  if (scale !== 1) for (let i = 0; i < k; i++) f.S[i] /= scale;

  // A = U S Vᵀ for the tall case; for a wide A, Aᵀ = U' S V'ᵀ so U = V' and V = U'.
  const uOf = wide ? f.V : f.U;
  const vOf = wide ? f.U : f.V;
  const order = descendingOrder(f.S);
  const signs = signsFromU(uOf, m, k, order, rank);
  const S = new Float64Array(rank);
  for (let c = 0; c < rank; c++) S[c] = f.S[order[c]!]!;
  return {
    U: gatherColumns(uOf, m, k, order, rank, signs),
    S,
    V: gatherColumns(vOf, n, k, order, rank, signs),
    m,
    n,
    k: rank,
  };
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
    qrFactor(work, rows, k, tau);
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
      result.iterations,
      result.maxIterations,
      result.unconverged,
    );
  }
  const s = Float64Array.from(d, (x) => x / scale);
  return s.sort().reverse();
}
