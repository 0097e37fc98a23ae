// Singular value decomposition of an upper bidiagonal matrix by divide and conquer
// (Gu & Eisenstat 1995; the structure of LAPACK dbdsdc → dlasd0/1/2/3/4). Subproblems of at
// most LEAF rows use bidiagonal QR; merges solve a secular equation, recompute z so that the
// computed singular values are exact for a nearby matrix (which keeps the vectors orthogonal),
// and update the vectors with matrix multiplications.

import { gemm, rowMajor } from '../kernels/gemm';
import { bidiagonalQr } from './bdsqr';
import { planeRotation, rot, rotateColumnPair } from './rotations';

const LEAF = 25;
const EPS = 2 ** -53;
const MAX_SECULAR_ITERATIONS = 100;

const TOP = 1;
const BOTTOM = 2;
const DENSE = 3;
const MIDDLE = 4;

export interface DivideAndConquerResult {
  /** Which iteration failed when not converged. */
  stage: 'bidiagonal QR' | 'secular equation';
  /** Singular values (unsorted, non-negative); column j of u and v belongs to s[j]. */
  s: Float64Array;
  /** n×n row-major. */
  u: Float64Array;
  v: Float64Array;
  converged: boolean;
  iterations: number;
  maxIterations: number;
  unconverged: number;
}

class Failure {
  constructor(
    readonly stage: 'bidiagonal QR' | 'secular equation',
    readonly iterations: number,
    readonly maxIterations: number,
    readonly unconverged: number,
  ) {}
}

/** B = U diag(s) Vᵀ for the n×n upper bidiagonal with diagonal d and superdiagonal e. */
export function bidiagonalDivideAndConquer(
  n: number,
  d: Float64Array,
  e: Float64Array,
  maxLeafIterations?: number,
): DivideAndConquerResult {
  const u = new Float64Array(n * n);
  const v = new Float64Array(n * n);
  const s = new Float64Array(n);
  const ctx: Context = { n, d, e, u, v, s, iterations: 0, maxLeafIterations };
  try {
    solve(ctx, 0, n, 0);
  } catch (err) {
    if (!(err instanceof Failure)) throw err;
    return {
      stage: err.stage,
      s,
      u,
      v,
      converged: false,
      iterations: err.iterations,
      maxIterations: err.maxIterations,
      unconverged: err.unconverged,
    };
  }
  return {
    stage: 'bidiagonal QR',
    s,
    u,
    v,
    converged: true,
    iterations: ctx.iterations,
    maxIterations: 0,
    unconverged: 0,
  };
}

interface Context {
  n: number;
  d: Float64Array;
  e: Float64Array;
  /** Global n×n factors; a subproblem at row r0 owns the diagonal block starting at (r0, r0). */
  u: Float64Array;
  v: Float64Array;
  s: Float64Array;
  iterations: number;
  maxLeafIterations: number | undefined;
}

/**
 * The subproblem is the nb × (nb + sqre) upper bidiagonal with diagonal d[r0..] and
 * superdiagonal e[r0..]; with sqre = 1 its V has an extra last column spanning the null space.
 */
function solve(ctx: Context, r0: number, nb: number, sqre: number): void {
  if (nb <= LEAF) {
    leaf(ctx, r0, nb, sqre);
    return;
  }
  const k = nb >> 1;
  solve(ctx, r0, k, 1);
  solve(ctx, r0 + k + 1, nb - k - 1, sqre);
  merge(ctx, r0, nb, sqre, k);
}

function leaf(ctx: Context, r0: number, nb: number, sqre: number): void {
  const { n, u, v } = ctx;
  const dl = ctx.d.slice(r0, r0 + nb);
  const el = new Float64Array(nb);
  el.set(ctx.e.subarray(r0, r0 + nb - 1 + sqre));
  const base = r0 * n + r0;
  for (let i = 0; i < nb; i++) u[base + i * n + i] = 1;
  for (let i = 0; i < nb + sqre; i++) v[base + i * n + i] = 1;
  if (sqre === 1) {
    // Rotate the extra column away from the right, chasing its fill up to row 0.
    let f = el[nb - 1]!;
    el[nb - 1] = 0;
    for (let j = nb - 1; j >= 0 && f !== 0; j--) {
      planeRotation(dl[j]!, f);
      const c = rot.c;
      const s = rot.s;
      dl[j] = rot.r;
      rotateColumnPair(v, base, nb + 1, n, j, nb, c, s);
      if (j > 0) {
        f = -s * el[j - 1]!;
        el[j - 1] = c * el[j - 1]!;
      }
    }
  }
  const result = bidiagonalQr(
    nb,
    dl,
    el,
    { data: u, rows: nb, ld: n, offset: base },
    { data: v, rows: nb + sqre, ld: n, offset: base },
    ctx.maxLeafIterations,
  );
  ctx.iterations += result.iterations;
  if (!result.converged) {
    throw new Failure('bidiagonal QR', ctx.iterations, result.maxIterations, result.unconverged);
  }
  ctx.s.set(dl, r0);
}

function merge(ctx: Context, r0: number, nb: number, sqre: number, k: number): void {
  const { n, u, v, s } = ctx;
  const nv = nb + sqre;
  const mid = r0 + k;
  const base = r0 * n + r0;
  const alpha = ctx.d[mid]!;
  const beta = ctx.e[mid]!;

  // Entries of the arrowhead [z0 zᵀ; 0 D]: 0 is the middle row / null column of the left
  // child, 1..k the left child's triplets, k+1..nb−1 the right child's.
  const ed = new Float64Array(nb);
  const ez = new Float64Array(nb);
  for (let j = 0; j < k; j++) {
    ed[1 + j] = s[r0 + j]!;
    ez[1 + j] = alpha * v[mid * n + r0 + j]!;
  }
  for (let j = 0; j < nb - k - 1; j++) {
    ed[k + 1 + j] = s[mid + 1 + j]!;
    ez[k + 1 + j] = beta * v[(mid + 1) * n + mid + 1 + j]!;
  }
  const z1 = alpha * v[mid * n + mid]!;
  const z2 = sqre ? beta * v[(mid + 1) * n + r0 + nb]! : 0;

  let scale = Math.max(Math.abs(alpha), Math.abs(beta));
  for (let j = 1; j < nb; j++) scale = Math.max(scale, ed[j]!);
  if (scale === 0) {
    // Zero block: every vector already fits, only the middle row's U vector must be added.
    zeroMerge(ctx, r0, nb, sqre, k);
    return;
  }
  for (let j = 0; j < nb; j++) {
    ed[j] /= scale;
    ez[j] /= scale;
  }
  const tol = 64 * EPS * Math.max(Math.abs(alpha) / scale, Math.abs(beta) / scale, 1);

  // Combine the two null columns of V into the one that couples to z0 and the new null column.
  let c0 = 1;
  let s0 = 0;
  if (sqre) {
    const z0 = Math.hypot(z1, z2) / scale;
    if (z0 <= tol) {
      ez[0] = tol;
    } else {
      c0 = z1 / scale / z0;
      s0 = z2 / scale / z0;
      ez[0] = z0;
    }
  } else {
    ez[0] = Math.abs(z1 / scale) <= tol ? tol : z1 / scale;
  }

  // Old vectors, one column per entry, restricted to the block.
  const uold = new Float64Array(nb * nb);
  const vold = new Float64Array(nv * nb);
  const utype = new Uint8Array(nb);
  const vtype = new Uint8Array(nb);
  uold[k * nb] = 1;
  utype[0] = MIDDLE;
  vtype[0] = sqre ? DENSE : TOP;
  for (let r = 0; r <= k; r++) vold[r * nb] = c0 * v[base + r * n + k]!;
  if (sqre) for (let r = k + 1; r < nv; r++) vold[r * nb] = s0 * v[base + r * n + nb]!;
  for (let r = 0; r < k; r++) {
    for (let j = 0; j < k; j++) uold[r * nb + 1 + j] = u[base + r * n + j]!;
  }
  for (let r = 0; r <= k; r++) {
    for (let j = 0; j < k; j++) vold[r * nb + 1 + j] = v[base + r * n + j]!;
  }
  for (let r = k + 1; r < nb; r++) {
    for (let j = k + 1; j < nb; j++) uold[r * nb + j] = u[base + r * n + j]!;
  }
  for (let r = k + 1; r < nv; r++) {
    for (let j = k + 1; j < nb; j++) vold[r * nb + j] = v[base + r * n + j]!;
  }
  for (let j = 1; j <= k; j++) utype[j] = vtype[j] = TOP;
  for (let j = k + 1; j < nb; j++) utype[j] = vtype[j] = BOTTOM;
  // The parent's null column (sqre = 1) is the rotation's other half.
  const nullColumn = sqre ? new Float64Array(nv) : null;
  if (nullColumn) {
    for (let r = 0; r <= k; r++) nullColumn[r] = -s0 * v[base + r * n + k]!;
    for (let r = k + 1; r < nv; r++) nullColumn[r] = c0 * v[base + r * n + nb]!;
  }

  // Deflation (dlasd2): tiny z, or two singular values closer than tol.
  const order = Int32Array.from({ length: nb - 1 }, (_, i) => i + 1);
  order.sort((a, b) => ed[a]! - ed[b]!);
  const keep: number[] = [0];
  const deflated: number[] = [];
  for (const j of order) {
    if (Math.abs(ez[j]!) <= tol) {
      deflated.push(j);
      continue;
    }
    const jp = keep.length > 1 ? keep[keep.length - 1]! : -1;
    if (jp >= 0 && ed[j]! - ed[jp]! <= tol) {
      const tau = Math.hypot(ez[j]!, ez[jp]!);
      const c = ez[j]! / tau;
      const sn = -ez[jp]! / tau;
      ez[j] = tau;
      ez[jp] = 0;
      rotateColumnPair(uold, 0, nb, nb, jp, j, c, sn);
      rotateColumnPair(vold, 0, nv, nb, jp, j, c, sn);
      if (utype[j] !== utype[jp]) utype[j] = utype[jp] = DENSE;
      if (vtype[j] !== vtype[jp]) vtype[j] = vtype[jp] = DENSE;
      keep.pop();
      deflated.push(jp);
    }
    keep.push(j);
  }
  const K = keep.length;
  const dk = new Float64Array(K);
  const zk = new Float64Array(K);
  for (let i = 0; i < K; i++) {
    dk[i] = ed[keep[i]!]!;
    zk[i] = ez[keep[i]!]!;
  }
  // Keep the smallest pole away from the one at zero.
  if (K > 1 && dk[1]! <= tol / 2) dk[1] = tol / 2;

  const sigma = new Float64Array(K);
  const qu = new Float64Array(K * K);
  const qv = new Float64Array(K * K);
  secularVectors(K, dk, zk, sigma, qu, qv);

  // New vectors: old columns times the arrowhead's vectors, split by row support.
  multiplyBlock(u, base, n, uold, nb, keep, utype, qu, K, 0, k, TOP);
  for (let i = 0; i < K; i++) u[base + k * n + i] = qu[i]!;
  multiplyBlock(u, base, n, uold, nb, keep, utype, qu, K, k + 1, nb, BOTTOM);
  multiplyBlock(v, base, n, vold, nb, keep, vtype, qv, K, 0, k + 1, TOP);
  multiplyBlock(v, base, n, vold, nb, keep, vtype, qv, K, k + 1, nv, BOTTOM);
  for (let t = 0; t < deflated.length; t++) {
    const j = deflated[t]!;
    const col = K + t;
    for (let r = 0; r < nb; r++) u[base + r * n + col] = uold[r * nb + j]!;
    for (let r = 0; r < nv; r++) v[base + r * n + col] = vold[r * nb + j]!;
    s[r0 + col] = ed[j]! * scale;
  }
  if (nullColumn) for (let r = 0; r < nv; r++) v[base + r * n + nb] = nullColumn[r]!;
  for (let i = 0; i < K; i++) s[r0 + i] = sigma[i]! * scale;
}

/**
 * Rows [r0, r1) of the block: out[:, 0..K) = old[rows, kept columns of the given support] ·
 * q[those entries, :].
 */
function multiplyBlock(
  out: Float64Array,
  base: number,
  ld: number,
  old: Float64Array,
  ldOld: number,
  keep: number[],
  type: Uint8Array,
  q: Float64Array,
  K: number,
  r0: number,
  r1: number,
  side: number,
): void {
  const rows = r1 - r0;
  if (rows <= 0) return;
  const sel: number[] = [];
  for (let i = 0; i < K; i++) {
    const t = type[keep[i]!]!;
    if (t === side || t === DENSE) sel.push(i);
  }
  const m = sel.length;
  const a = new Float64Array(rows * m);
  const b = new Float64Array(m * K);
  for (let r = 0; r < rows; r++) {
    const oo = (r0 + r) * ldOld;
    for (let c = 0; c < m; c++) a[r * m + c] = old[oo + keep[sel[c]!]!]!;
  }
  for (let c = 0; c < m; c++) b.set(q.subarray(sel[c]! * K, sel[c]! * K + K), c * K);
  gemm(rows, K, m, 1, rowMajor(a, m), rowMajor(b, K), 0, out, base + r0 * ld, ld);
}

function zeroMerge(ctx: Context, r0: number, nb: number, sqre: number, k: number): void {
  const { n, u, v, s } = ctx;
  const base = r0 * n + r0;
  const nv = nb + sqre;
  // Children's columns stay; the middle row gets e_k in the column left free by the left
  // child's null vector, which moves to the parent's null column (or stays, if sqre = 0).
  const vnull = new Float64Array(nv);
  for (let r = 0; r < nv; r++) vnull[r] = v[base + r * n + k]!;
  // Shift the left child's columns right by one so that column 0 is the new entry.
  for (let r = 0; r < nb; r++) {
    for (let j = k; j > 0; j--) u[base + r * n + j] = u[base + r * n + j - 1]!;
    u[base + r * n] = r === k ? 1 : 0;
  }
  for (let r = 0; r < nv; r++) {
    for (let j = k; j > 0; j--) v[base + r * n + j] = v[base + r * n + j - 1]!;
    v[base + r * n] = vnull[r]!;
  }
  for (let j = k; j > 0; j--) s[r0 + j] = s[r0 + j - 1]!;
  s[r0] = 0;
}

/**
 * Roots σ_0 < … < σ_{K−1} of 1 + Σ z_j² / (d_j² − σ²) for 0 = d_0 < d_1 < … and the singular
 * vectors of [z0 zᵀ; 0 diag(d_1..)] (dlasd3/dlasd4). Column i of qu / qv (K×K row-major) is the
 * left / right vector of σ_i.
 */
function secularVectors(
  K: number,
  d: Float64Array,
  z: Float64Array,
  sigma: Float64Array,
  qu: Float64Array,
  qv: Float64Array,
): void {
  if (K === 1) {
    sigma[0] = Math.abs(z[0]!);
    qu[0] = -1;
    qv[0] = z[0]! >= 0 ? -1 : 1;
    return;
  }
  // dm[j*K+i] = d_j − σ_i and dp[j*K+i] = d_j + σ_i, both to full relative accuracy.
  const dm = new Float64Array(K * K);
  const dp = new Float64Array(K * K);
  const delta = new Float64Array(K);
  for (let i = 0; i < K; i++) secularRoot(K, d, z, i, delta, dm, dp, sigma);

  // Gu–Eisenstat: the z for which the computed σ are exact (dlasd3).
  const zhat = new Float64Array(K);
  for (let j = 0; j < K; j++) {
    const dj = d[j]!;
    let prod = dm[j * K + K - 1]! * dp[j * K + K - 1]!;
    for (let i = 0; i < j; i++) {
      prod *= (dm[j * K + i]! * dp[j * K + i]!) / ((dj - d[i]!) * (dj + d[i]!));
    }
    for (let i = j; i < K - 1; i++) {
      prod *= (dm[j * K + i]! * dp[j * K + i]!) / ((dj - d[i + 1]!) * (dj + d[i + 1]!));
    }
    const zj = Math.sqrt(Math.abs(prod));
    zhat[j] = z[j]! >= 0 ? zj : -zj;
  }
  for (let i = 0; i < K; i++) {
    let nu = 1;
    let nv = 0;
    for (let j = 0; j < K; j++) {
      const vj = zhat[j]! / (dm[j * K + i]! * dp[j * K + i]!);
      qv[j * K + i] = vj;
      nv += vj * vj;
      if (j > 0) {
        const uj = d[j]! * vj;
        qu[j * K + i] = uj;
        nu += uj * uj;
      }
    }
    qu[i] = -1;
    const iu = 1 / Math.sqrt(nu);
    const iv = 1 / Math.sqrt(nv);
    for (let j = 0; j < K; j++) {
      qu[j * K + i] *= iu;
      qv[j * K + i] *= iv;
    }
  }
}

/**
 * The i-th root, found in coordinates shifted to the nearer pole d_o so that d_j − σ keeps
 * full relative accuracy: λ = σ² − d_o², poles at δ_j = (d_j − d_o)(d_j + d_o). Each step fits
 * both neighbouring poles exactly and the rest by value and slope (a quadratic in the step),
 * safeguarded by bisection on a bracket.
 */
function secularRoot(
  K: number,
  d: Float64Array,
  z: Float64Array,
  i: number,
  delta: Float64Array,
  dm: Float64Array,
  dp: Float64Array,
  sigma: Float64Array,
): void {
  const last = i === K - 1;
  let origin: number;
  let left: number;
  let lo: number;
  let hi: number;
  if (!last) {
    const mid = (d[i]! + d[i + 1]!) / 2;
    let f = 1;
    for (let j = 0; j < K; j++) f += (z[j]! * z[j]!) / ((d[j]! - mid) * (d[j]! + mid));
    origin = f >= 0 ? i : i + 1;
    const o = d[origin]!;
    const edge = (mid - o) * (mid + o);
    lo = f >= 0 ? 0 : edge;
    hi = f >= 0 ? edge : 0;
    left = i;
  } else {
    origin = i;
    left = i;
    lo = 0;
    hi = 0;
    for (let j = 0; j < K; j++) hi += z[j]! * z[j]!;
  }
  const o = d[origin]!;
  for (let j = 0; j < K; j++) delta[j] = (d[j]! - o) * (d[j]! + o);
  const dLeft = delta[left]!;
  const dRight = last ? 0 : delta[left + 1]!;

  let lambda = origin === i ? hi : lo;
  let converged = false;
  for (let iter = 0; iter < MAX_SECULAR_ITERATIONS; iter++) {
    let psi = 0;
    let dpsi = 0;
    let phi = 0;
    let dphi = 0;
    for (let j = 0; j <= left; j++) {
      const inv = 1 / (delta[j]! - lambda);
      const t = z[j]! * z[j]! * inv;
      psi += t;
      dpsi += t * inv;
    }
    for (let j = left + 1; j < K; j++) {
      const inv = 1 / (delta[j]! - lambda);
      const t = z[j]! * z[j]! * inv;
      phi += t;
      dphi += t * inv;
    }
    const f = 1 + psi + phi;
    const bound = EPS * (8 * (1 + phi - psi) + 3 * Math.abs(lambda) * (dpsi + dphi));
    if (Math.abs(f) <= bound) {
      converged = true;
      break;
    }
    if (f < 0) lo = lambda;
    else hi = lambda;
    if (hi - lo <= 4 * EPS * Math.max(Math.abs(lo), Math.abs(hi))) {
      converged = true;
      break;
    }
    const dl = dLeft - lambda;
    const b1 = dpsi * dl * dl;
    const a1 = psi - b1 / dl;
    let eta: number;
    if (last) {
      const c0 = 1 + a1;
      eta = c0 > 0 ? dl + b1 / c0 : Number.NaN;
    } else {
      const dr = dRight - lambda;
      const b2 = dphi * dr * dr;
      const a2 = phi - b2 / dr;
      const c0 = 1 + a1 + a2;
      const bq = c0 * (dl + dr) + b1 + b2;
      const cq = f * dl * dr;
      if (c0 === 0) {
        eta = cq / bq;
      } else {
        const sq = Math.sqrt(Math.max(bq * bq - 4 * c0 * cq, 0));
        const q = 0.5 * (bq >= 0 ? bq + sq : bq - sq);
        const r1 = q / c0;
        const r2 = cq / q;
        eta = r1 > dl && r1 < dr ? r1 : r2;
      }
    }
    let next = lambda + eta;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (next === lambda) {
      converged = true;
      break;
    }
    lambda = next;
  }
  if (!converged) {
    throw new Failure('secular equation', MAX_SECULAR_ITERATIONS, MAX_SECULAR_ITERATIONS, 1);
  }
  // σ − d_o without cancellation.
  const tau = lambda / (o + Math.sqrt(o * o + lambda));
  sigma[i] = o + tau;
  for (let j = 0; j < K; j++) {
    dm[j * K + i] = d[j]! - o - tau;
    dp[j * K + i] = d[j]! + o + tau;
  }
}
