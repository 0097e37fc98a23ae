import { gemm, rowMajor } from './kernels/gemm';
import type { SvdResult } from './svd';

/** U diag(S) Vᵀ as a row-major m×n Float64Array, from the first `rank` triplets (all by default). */
export function reconstruct(f: SvdResult, rank = f.k): Float64Array {
  const { U, S, V, m, n, k } = f;
  if (!Number.isInteger(rank) || rank < 0 || rank > k) {
    throw new Error(`reconstruct: rank must be an integer in [0, ${k}], got ${rank}`);
  }
  const us = new Float64Array(m * rank);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < rank; c++) us[i * rank + c] = U[i * k + c]! * S[c]!;
  }
  const out = new Float64Array(m * n);
  gemm(m, n, rank, 1, rowMajor(us, rank), rowMajor(V, k, 0, true), 0, out, 0, n);
  return out;
}

/** Columns [c0, c1) of a row-major rows×k matrix. */
function columns(a: Float64Array, rows: number, k: number, c0: number, c1: number): Float64Array {
  const w = c1 - c0;
  const out = new Float64Array(rows * w);
  for (let i = 0; i < rows; i++) out.set(a.subarray(i * k + c0, i * k + c1), i * w);
  return out;
}

export interface TopSplit {
  /** The r largest triplets: W_r = U_r diag(S_r) V_rᵀ, what PiSSA trains. */
  top: SvdResult;
  /** The remaining triplets; `reconstruct(residual)` is W − W_r, PiSSA's frozen weight. */
  residual: SvdResult;
}

/**
 * Splits a decomposition into its top-r part and the rest (PiSSA's initialisation). The residual
 * is exactly W − W_r only when `f` holds all min(m, n) triplets (not a truncated result).
 */
export function topSplit(f: SvdResult, r: number): TopSplit {
  const { U, S, V, m, n, k } = f;
  if (!Number.isInteger(r) || r < 0 || r > k) {
    throw new Error(`topSplit: r must be an integer in [0, ${k}], got ${r}`);
  }
  return {
    top: {
      U: columns(U, m, k, 0, r),
      S: S.slice(0, r),
      V: columns(V, n, k, 0, r),
      m,
      n,
      k: r,
    },
    residual: {
      U: columns(U, m, k, r, k),
      S: S.slice(r),
      V: columns(V, n, k, r, k),
      m,
      n,
      k: k - r,
    },
  };
}
