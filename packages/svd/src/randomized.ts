import { gemm, rowMajor } from './kernels/gemm';
import { applyReflectors, blockedQr } from './lapack/blocked';
import { type MatrixLike, readMatrix } from './matrix';
import { gaussianSamples } from './random';
import { checkRank, rangeScale, type SvdResult, signConvention, svd } from './svd';

export interface RandomizedSvdOptions {
  /** Number of singular triplets wanted. */
  rank: number;
  /** Extra sample columns beyond `rank` (Halko et al. recommend 5–10); default 10. */
  oversample?: number;
  /** Power (subspace) iterations, each re-orthonormalised; default 2. */
  powerIters?: number;
  /** Seed of the Gaussian test matrix; the same seed gives the same factors. Default 0. */
  seed?: number;
  /** Names the matrix in error messages. */
  name?: string;
}

/** Replaces the m×l matrix y by an orthonormal basis of its range (thin Householder Q). */
function orthonormalize(y: Float64Array, m: number, l: number): Float64Array {
  const tau = new Float64Array(l);
  blockedQr(y, m, l, tau);
  const q = new Float64Array(m * l);
  for (let i = 0; i < l; i++) q[i * l + i] = 1;
  applyReflectors({ store: y, ks: 1, rs: l, count: l, shift: 0, tau }, q, m, l, l);
  return q;
}

/**
 * Rank-`rank` SVD by randomized subspace iteration (Halko, Martinsson & Tropp 2011, Alg. 4.4):
 * Q spans A(AᵀA)^q Ω for a Gaussian Ω with rank + oversample columns, and the small matrix QᵀA
 * is decomposed exactly. Costs O(mn(rank + oversample)(2q + 2)) instead of O(mn·min(m, n)).
 */
export function randomizedSvd(a: MatrixLike, options: RandomizedSvdOptions): SvdResult {
  const name = options.name ?? 'A';
  const mat = readMatrix(a, name);
  const { rows: m, cols: n, data } = mat;
  const kMax = Math.min(m, n);
  const rank = checkRank(options.rank, kMax, name);
  const oversample = options.oversample ?? 10;
  const powerIters = options.powerIters ?? 2;
  if (!Number.isInteger(oversample) || oversample < 0) {
    throw new Error(`randomizedSvd: oversample must be a non-negative integer, got ${oversample}`);
  }
  if (!Number.isInteger(powerIters) || powerIters < 0) {
    throw new Error(`randomizedSvd: powerIters must be a non-negative integer, got ${powerIters}`);
  }
  const l = Math.min(rank + oversample, kMax);
  if (l === 0) {
    return { U: new Float64Array(0), S: new Float64Array(0), V: new Float64Array(0), m, n, k: 0 };
  }
  const scale = rangeScale(mat.maxAbs);
  if (scale !== 1) for (let i = 0; i < data.length; i++) data[i] *= scale;
  const av = rowMajor(data, n);
  const at = rowMajor(data, n, 0, true);
  const omega = gaussianSamples(n * l, options.seed ?? 0);
  let y = new Float64Array(m * l);
  gemm(m, l, n, 1, av, rowMajor(omega, l), 0, y, 0, l);
  let q = orthonormalize(y, m, l);
  const z = new Float64Array(n * l);
  for (let it = 0; it < powerIters; it++) {
    gemm(n, l, m, 1, at, rowMajor(q, l), 0, z, 0, l);
    const qz = orthonormalize(z, n, l);
    y = new Float64Array(m * l);
    gemm(m, l, n, 1, av, rowMajor(qz, l), 0, y, 0, l);
    q = orthonormalize(y, m, l);
  }
  // B = QᵀA is l×n; its exact SVD gives A ≈ (Q U_B) S V_Bᵀ.
  const b = new Float64Array(l * n);
  gemm(l, n, m, 1, rowMajor(q, l, 0, true), av, 0, b, 0, n);
  const small = svd({ rows: l, cols: n, data: b }, { name, rank });
  const u = new Float64Array(m * rank);
  gemm(m, rank, l, 1, rowMajor(q, l), rowMajor(small.U, rank), 0, u, 0, rank);
  if (scale !== 1) for (let i = 0; i < rank; i++) small.S[i] /= scale;
  const result = { U: u, S: small.S, V: small.V, m, n, k: rank };
  signConvention(result);
  return result;
}
