// Singular values and vectors of an upper bidiagonal matrix by implicit-shift QR with the
// Demmel–Kahan zero-shift sweep (a port of LAPACK dbdsqr's main loop), applying each sweep's
// rotations to the accumulated factors in one pass.

import {
  planeRotation,
  rot,
  rotateColumnPair,
  rotateColumnsBackward,
  rotateColumnsForward,
  smallerSingularValue2x2,
  sv2,
  svd2x2,
} from './rotations';

const EPS = 2 ** -53;
const UNDERFLOW = 2 ** -1022;
/** LAPACK's MAXITR: at most 6·n² inner steps before reporting failure. */
export const MAX_ITERATIONS_PER_N2 = 6;

/** A place to accumulate rotations: columns of a row-major `rows`×? matrix with leading dim `ld`. */
export interface RotationTarget {
  data: Float64Array;
  rows: number;
  ld: number;
  /** Index in `data` of the entry (row 0, column of bidiagonal index 0). */
  offset: number;
}

export interface BidiagonalQrResult {
  converged: boolean;
  iterations: number;
  maxIterations: number;
  /** Non-negligible superdiagonal entries left when not converged. */
  unconverged: number;
}

/**
 * On return `d` holds the singular values, made non-negative but unsorted; `e` is destroyed.
 * B = U_B diag(d) V_Bᵀ, and the rotations are applied as U ← U U_B and V ← V V_B.
 */
export function bidiagonalQr(
  n: number,
  d: Float64Array,
  e: Float64Array,
  u: RotationTarget | null,
  v: RotationTarget | null,
  maxIterations = MAX_ITERATIONS_PER_N2 * n * n,
): BidiagonalQrResult {
  const result: BidiagonalQrResult = {
    converged: true,
    iterations: 0,
    maxIterations,
    unconverged: 0,
  };
  if (n === 0) return result;
  const uc = new Float64Array(n);
  const us = new Float64Array(n);
  const vc = new Float64Array(n);
  const vs = new Float64Array(n);

  const applyForward = (lo: number, hi: number) => {
    if (u) rotateColumnsForward(u.data, u.offset, u.rows, u.ld, lo, hi, uc, us);
    if (v) rotateColumnsForward(v.data, v.offset, v.rows, v.ld, lo, hi, vc, vs);
  };
  const applyBackward = (lo: number, hi: number) => {
    if (u) rotateColumnsBackward(u.data, u.offset, u.rows, u.ld, lo, hi, uc, us);
    if (v) rotateColumnsBackward(v.data, v.offset, v.rows, v.ld, lo, hi, vc, vs);
  };

  if (n > 1) {
    // Relative accuracy: LAPACK's tol = max(10, min(100, eps^(-1/8))) · eps.
    const tol = Math.max(10, Math.min(100, EPS ** -0.125)) * EPS;
    let smax = 0;
    for (let i = 0; i < n; i++) smax = Math.max(smax, Math.abs(d[i]!));
    for (let i = 0; i < n - 1; i++) smax = Math.max(smax, Math.abs(e[i]!));
    // Lower bound on the smallest singular value sets the absolute negligibility threshold.
    let sminoa = Math.abs(d[0]!);
    if (sminoa !== 0) {
      let mu = sminoa;
      for (let i = 1; i < n; i++) {
        mu = Math.abs(d[i]!) * (mu / (mu + Math.abs(e[i - 1]!)));
        sminoa = Math.min(sminoa, mu);
        if (sminoa === 0) break;
      }
    }
    sminoa /= Math.sqrt(n);
    const thresh = Math.max(tol * sminoa, MAX_ITERATIONS_PER_N2 * n * n * UNDERFLOW);

    let oldll = -1;
    let oldm = -1;
    let idir = 0;
    let m = n - 1;
    let iter = 0;

    main: while (m > 0) {
      if (iter >= maxIterations) {
        result.converged = false;
        result.iterations = iter;
        for (let i = 0; i < m; i++) if (e[i] !== 0) result.unconverged++;
        return result;
      }
      // Find the bottom unreduced block [ll, m].
      let ll = -1;
      smax = Math.abs(d[m]!);
      for (let i = m - 1; i >= 0; i--) {
        const abss = Math.abs(d[i]!);
        const abse = Math.abs(e[i]!);
        if (abse <= thresh) {
          ll = i;
          break;
        }
        smax = Math.max(smax, abss, abse);
      }
      if (ll >= 0) {
        e[ll] = 0;
        if (ll === m - 1) {
          m--;
          continue;
        }
      }
      ll++;

      if (ll === m - 1) {
        svd2x2(d[m - 1]!, e[m - 1]!, d[m]!);
        d[m - 1] = sv2.ssmax;
        e[m - 1] = 0;
        d[m] = sv2.ssmin;
        if (v) rotateColumnPair(v.data, v.offset, v.rows, v.ld, m - 1, m, sv2.csr, sv2.snr);
        if (u) rotateColumnPair(u.data, u.offset, u.rows, u.ld, m - 1, m, sv2.csl, sv2.snl);
        m -= 2;
        continue;
      }

      // Chase the bulge from the larger end (LAPACK's heuristic for graded matrices).
      if (ll > oldm || m < oldll) idir = Math.abs(d[ll]!) >= Math.abs(d[m]!) ? 1 : 2;

      let sminl: number;
      if (idir === 1) {
        if (Math.abs(e[m - 1]!) <= tol * Math.abs(d[m]!)) {
          e[m - 1] = 0;
          continue;
        }
        let mu = Math.abs(d[ll]!);
        sminl = mu;
        for (let i = ll; i < m; i++) {
          if (Math.abs(e[i]!) <= tol * mu) {
            e[i] = 0;
            continue main;
          }
          mu = Math.abs(d[i + 1]!) * (mu / (mu + Math.abs(e[i]!)));
          sminl = Math.min(sminl, mu);
        }
      } else {
        if (Math.abs(e[ll]!) <= tol * Math.abs(d[ll]!)) {
          e[ll] = 0;
          continue;
        }
        let mu = Math.abs(d[m]!);
        sminl = mu;
        for (let i = m - 1; i >= ll; i--) {
          if (Math.abs(e[i]!) <= tol * mu) {
            e[i] = 0;
            continue main;
          }
          mu = Math.abs(d[i]!) * (mu / (mu + Math.abs(e[i]!)));
          sminl = Math.min(sminl, mu);
        }
      }
      oldll = ll;
      oldm = m;

      // A zero shift keeps tiny singular values to high relative accuracy.
      let shift = 0;
      if (n * tol * (sminl / smax) > Math.max(EPS, 0.01 * tol)) {
        let sll: number;
        if (idir === 1) {
          sll = Math.abs(d[ll]!);
          shift = smallerSingularValue2x2(d[m - 1]!, e[m - 1]!, d[m]!);
        } else {
          sll = Math.abs(d[m]!);
          shift = smallerSingularValue2x2(d[ll]!, e[ll]!, d[ll + 1]!);
        }
        if (sll > 0 && (shift / sll) ** 2 < EPS) shift = 0;
      }
      iter += m - ll;

      if (shift === 0) {
        if (idir === 1) {
          let cs = 1;
          let oldcs = 1;
          let oldsn = 0;
          for (let i = ll; i < m; i++) {
            planeRotation(d[i]! * cs, e[i]!);
            cs = rot.c;
            const sn = rot.s;
            const r = rot.r;
            if (i > ll) e[i - 1] = oldsn * r;
            planeRotation(oldcs * r, d[i + 1]! * sn);
            oldcs = rot.c;
            oldsn = rot.s;
            d[i] = rot.r;
            vc[i] = cs;
            vs[i] = sn;
            uc[i] = oldcs;
            us[i] = oldsn;
          }
          const h = d[m]! * cs;
          d[m] = h * oldcs;
          e[m - 1] = h * oldsn;
          applyForward(ll, m);
          if (Math.abs(e[m - 1]!) <= thresh) e[m - 1] = 0;
        } else {
          let cs = 1;
          let oldcs = 1;
          let oldsn = 0;
          for (let i = m; i > ll; i--) {
            planeRotation(d[i]! * cs, e[i - 1]!);
            cs = rot.c;
            const sn = rot.s;
            const r = rot.r;
            if (i < m) e[i] = oldsn * r;
            planeRotation(oldcs * r, d[i - 1]! * sn);
            oldcs = rot.c;
            oldsn = rot.s;
            d[i] = rot.r;
            uc[i - 1] = cs;
            us[i - 1] = -sn;
            vc[i - 1] = oldcs;
            vs[i - 1] = -oldsn;
          }
          const h = d[ll]! * cs;
          d[ll] = h * oldcs;
          e[ll] = h * oldsn;
          applyBackward(ll, m);
          if (Math.abs(e[ll]!) <= thresh) e[ll] = 0;
        }
      } else if (idir === 1) {
        const dll = d[ll]!;
        let f = (Math.abs(dll) - shift) * ((dll >= 0 ? 1 : -1) + shift / dll);
        let g = e[ll]!;
        for (let i = ll; i < m; i++) {
          planeRotation(f, g);
          const cosr = rot.c;
          const sinr = rot.s;
          if (i > ll) e[i - 1] = rot.r;
          const di = d[i]!;
          const ei = e[i]!;
          f = cosr * di + sinr * ei;
          e[i] = cosr * ei - sinr * di;
          const di1 = d[i + 1]!;
          g = sinr * di1;
          d[i + 1] = cosr * di1;
          planeRotation(f, g);
          const cosl = rot.c;
          const sinl = rot.s;
          d[i] = rot.r;
          f = cosl * e[i]! + sinl * d[i + 1]!;
          d[i + 1] = cosl * d[i + 1]! - sinl * e[i]!;
          if (i < m - 1) {
            g = sinl * e[i + 1]!;
            e[i + 1] = cosl * e[i + 1]!;
          }
          vc[i] = cosr;
          vs[i] = sinr;
          uc[i] = cosl;
          us[i] = sinl;
        }
        e[m - 1] = f;
        applyForward(ll, m);
        if (Math.abs(e[m - 1]!) <= thresh) e[m - 1] = 0;
      } else {
        const dm = d[m]!;
        let f = (Math.abs(dm) - shift) * ((dm >= 0 ? 1 : -1) + shift / dm);
        let g = e[m - 1]!;
        for (let i = m; i > ll; i--) {
          planeRotation(f, g);
          const cosr = rot.c;
          const sinr = rot.s;
          if (i < m) e[i] = rot.r;
          const di = d[i]!;
          const ei1 = e[i - 1]!;
          f = cosr * di + sinr * ei1;
          e[i - 1] = cosr * ei1 - sinr * di;
          const dim1 = d[i - 1]!;
          g = sinr * dim1;
          d[i - 1] = cosr * dim1;
          planeRotation(f, g);
          const cosl = rot.c;
          const sinl = rot.s;
          d[i] = rot.r;
          f = cosl * e[i - 1]! + sinl * d[i - 1]!;
          d[i - 1] = cosl * d[i - 1]! - sinl * e[i - 1]!;
          if (i > ll + 1) {
            g = sinl * e[i - 2]!;
            e[i - 2] = cosl * e[i - 2]!;
          }
          uc[i - 1] = cosr;
          us[i - 1] = -sinr;
          vc[i - 1] = cosl;
          vs[i - 1] = -sinl;
        }
        e[ll] = f;
        if (Math.abs(e[ll]!) <= thresh) e[ll] = 0;
        applyBackward(ll, m);
      }
    }
    result.iterations = iter;
  }

  for (let i = 0; i < n; i++) {
    if (d[i]! < 0) {
      d[i] = -d[i]!;
      if (v) {
        const { data, rows, ld, offset } = v;
        for (let r = 0, o = offset + i; r < rows; r++, o += ld) data[o] = -data[o]!;
      }
    }
  }
  return result;
}
