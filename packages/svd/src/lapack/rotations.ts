// Plane rotations: generation (LAPACK dlartg, dlas2, dlasv2) and application of a whole sweep
// of rotations to a row-major matrix (dlasr, side 'R', pivot 'V').

/** Results of the scalar routines, kept in module state so the QR sweep allocates nothing. */
export const rot = { c: 1, s: 0, r: 0 };
export const sv2 = { ssmin: 0, ssmax: 0, snr: 0, csr: 1, snl: 0, csl: 1 };

const SAFE_MIN = 2 ** -511;
const SAFE_MAX = 2 ** 511;

/** c, s, r with [c s; -s c] [f; g] = [r; 0] and r carrying the sign of f (LAPACK 3.10 dlartg). */
export function planeRotation(f: number, g: number): void {
  if (g === 0) {
    rot.c = 1;
    rot.s = 0;
    rot.r = f;
  } else if (f === 0) {
    rot.c = 0;
    rot.s = g > 0 ? 1 : -1;
    rot.r = Math.abs(g);
  } else {
    const af = Math.abs(f);
    const ag = Math.abs(g);
    // Squares are only safe well inside the exponent range; Math.hypot is slower but exact.
    const d =
      af > SAFE_MIN && af < SAFE_MAX && ag > SAFE_MIN && ag < SAFE_MAX
        ? Math.sqrt(f * f + g * g)
        : Math.hypot(f, g);
    rot.c = af / d;
    const r = f >= 0 ? d : -d;
    rot.s = g / r;
    rot.r = r;
  }
}

const sign = (a: number, b: number): number => (b >= 0 ? Math.abs(a) : -Math.abs(a));

/** Smaller singular value of [f g; 0 h] (LAPACK dlas2), without over/underflow. */
export function smallerSingularValue2x2(f: number, g: number, h: number): number {
  const fa = Math.abs(f);
  const ga = Math.abs(g);
  const ha = Math.abs(h);
  const fhmn = Math.min(fa, ha);
  const fhmx = Math.max(fa, ha);
  if (fhmn === 0) return 0;
  if (ga < fhmx) {
    const as = 1 + fhmn / fhmx;
    const at = (fhmx - fhmn) / fhmx;
    const au = (ga / fhmx) ** 2;
    const c = 2 / (Math.sqrt(as * as + au) + Math.sqrt(at * at + au));
    return fhmn * c;
  }
  const au = fhmx / ga;
  if (au === 0) return (fhmn * fhmx) / ga;
  const as = 1 + fhmn / fhmx;
  const at = (fhmx - fhmn) / fhmx;
  const c = 1 / (Math.sqrt(1 + (as * au) ** 2) + Math.sqrt(1 + (at * au) ** 2));
  return 2 * (fhmn * c * au);
}

const EPS = 2 ** -53;

/**
 * SVD of the 2×2 upper triangular [f g; 0 h] (LAPACK dlasv2):
 * [csl snl; -snl csl] [f g; 0 h] [csr -snr; snr csr] = [ssmax 0; 0 ssmin], results in `sv2`.
 */
export function svd2x2(f: number, g: number, h: number): void {
  let ft = f;
  let fa = Math.abs(ft);
  let ht = h;
  let ha = Math.abs(h);
  let pmax = 1;
  const swap = ha > fa;
  if (swap) {
    pmax = 3;
    [ft, ht] = [ht, ft];
    [fa, ha] = [ha, fa];
  }
  const gt = g;
  const ga = Math.abs(gt);
  let clt: number;
  let crt: number;
  let slt: number;
  let srt: number;
  let ssmin: number;
  let ssmax: number;
  if (ga === 0) {
    ssmin = ha;
    ssmax = fa;
    clt = 1;
    crt = 1;
    slt = 0;
    srt = 0;
  } else {
    let gasmal = true;
    clt = crt = 1;
    slt = srt = 0;
    ssmin = ssmax = 0;
    if (ga > fa) {
      pmax = 2;
      if (fa / ga < EPS) {
        // g dominates so much that the formulas below would lose it.
        gasmal = false;
        ssmax = ga;
        ssmin = ha > 1 ? fa / (ga / ha) : (fa / ga) * ha;
        clt = 1;
        slt = ht / gt;
        srt = 1;
        crt = ft / gt;
      }
    }
    if (gasmal) {
      const dd = fa - ha;
      let l = dd === fa ? 1 : dd / fa;
      const m = gt / ft;
      let t = 2 - l;
      const mm = m * m;
      const tt = t * t;
      const s = Math.sqrt(tt + mm);
      const r = l === 0 ? Math.abs(m) : Math.sqrt(l * l + mm);
      const a = 0.5 * (s + r);
      ssmin = ha / a;
      ssmax = fa * a;
      if (mm === 0) {
        t = l === 0 ? sign(2, ft) * sign(1, gt) : gt / sign(dd, ft) + m / t;
      } else {
        t = (m / (s + t) + m / (r + l)) * (1 + a);
      }
      l = Math.sqrt(t * t + 4);
      crt = 2 / l;
      srt = t / l;
      clt = (crt + srt * m) / a;
      slt = ((ht / ft) * srt) / a;
    }
  }
  let csl: number;
  let snl: number;
  let csr: number;
  let snr: number;
  if (swap) {
    csl = srt;
    snl = crt;
    csr = slt;
    snr = clt;
  } else {
    csl = clt;
    snl = slt;
    csr = crt;
    snr = srt;
  }
  let tsign: number;
  if (pmax === 1) tsign = sign(1, csr) * sign(1, csl) * sign(1, f);
  else if (pmax === 2) tsign = sign(1, snr) * sign(1, csl) * sign(1, g);
  else tsign = sign(1, snr) * sign(1, snl) * sign(1, h);
  sv2.ssmax = sign(ssmax, tsign);
  sv2.ssmin = sign(ssmin, tsign * sign(1, f) * sign(1, h));
  sv2.csl = csl;
  sv2.snl = snl;
  sv2.csr = csr;
  sv2.snr = snr;
}

/**
 * Applies rotations j = lo..hi-1 in increasing order to column pairs (j, j+1) of the row-major
 * block whose entry (0, 0) is x[x0]: (x_j, x_j+1) ← (c x_j + s x_j+1, c x_j+1 − s x_j). Each row carries the running column
 * in a register so every entry is loaded and stored once per sweep; four rows are interleaved
 * because the carry is a serial dependency within a row.
 */
export function rotateColumnsForward(
  x: Float64Array,
  x0: number,
  rows: number,
  ld: number,
  lo: number,
  hi: number,
  c: Float64Array,
  s: Float64Array,
): void {
  if (hi <= lo) return;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const o0 = x0 + r * ld;
    const o1 = o0 + ld;
    const o2 = o1 + ld;
    const o3 = o2 + ld;
    let a0 = x[o0 + lo]!;
    let a1 = x[o1 + lo]!;
    let a2 = x[o2 + lo]!;
    let a3 = x[o3 + lo]!;
    for (let j = lo; j < hi; j++) {
      const cj = c[j]!;
      const sj = s[j]!;
      const b0 = x[o0 + j + 1]!;
      const b1 = x[o1 + j + 1]!;
      const b2 = x[o2 + j + 1]!;
      const b3 = x[o3 + j + 1]!;
      x[o0 + j] = cj * a0 + sj * b0;
      x[o1 + j] = cj * a1 + sj * b1;
      x[o2 + j] = cj * a2 + sj * b2;
      x[o3 + j] = cj * a3 + sj * b3;
      a0 = cj * b0 - sj * a0;
      a1 = cj * b1 - sj * a1;
      a2 = cj * b2 - sj * a2;
      a3 = cj * b3 - sj * a3;
    }
    x[o0 + hi] = a0;
    x[o1 + hi] = a1;
    x[o2 + hi] = a2;
    x[o3 + hi] = a3;
  }
  for (; r < rows; r++) {
    const o = x0 + r * ld;
    let a = x[o + lo]!;
    for (let j = lo; j < hi; j++) {
      const cj = c[j]!;
      const sj = s[j]!;
      const b = x[o + j + 1]!;
      x[o + j] = cj * a + sj * b;
      a = cj * b - sj * a;
    }
    x[o + hi] = a;
  }
}

/** As {@link rotateColumnsForward} with the rotations applied for j = hi-1 down to lo. */
export function rotateColumnsBackward(
  x: Float64Array,
  x0: number,
  rows: number,
  ld: number,
  lo: number,
  hi: number,
  c: Float64Array,
  s: Float64Array,
): void {
  if (hi <= lo) return;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const o0 = x0 + r * ld;
    const o1 = o0 + ld;
    const o2 = o1 + ld;
    const o3 = o2 + ld;
    let b0 = x[o0 + hi]!;
    let b1 = x[o1 + hi]!;
    let b2 = x[o2 + hi]!;
    let b3 = x[o3 + hi]!;
    for (let j = hi - 1; j >= lo; j--) {
      const cj = c[j]!;
      const sj = s[j]!;
      const a0 = x[o0 + j]!;
      const a1 = x[o1 + j]!;
      const a2 = x[o2 + j]!;
      const a3 = x[o3 + j]!;
      x[o0 + j + 1] = cj * b0 - sj * a0;
      x[o1 + j + 1] = cj * b1 - sj * a1;
      x[o2 + j + 1] = cj * b2 - sj * a2;
      x[o3 + j + 1] = cj * b3 - sj * a3;
      b0 = cj * a0 + sj * b0;
      b1 = cj * a1 + sj * b1;
      b2 = cj * a2 + sj * b2;
      b3 = cj * a3 + sj * b3;
    }
    x[o0 + lo] = b0;
    x[o1 + lo] = b1;
    x[o2 + lo] = b2;
    x[o3 + lo] = b3;
  }
  for (; r < rows; r++) {
    const o = x0 + r * ld;
    let b = x[o + hi]!;
    for (let j = hi - 1; j >= lo; j--) {
      const cj = c[j]!;
      const sj = s[j]!;
      const a = x[o + j]!;
      x[o + j + 1] = cj * b - sj * a;
      b = cj * a + sj * b;
    }
    x[o + lo] = b;
  }
}

/** One rotation of columns (p, q) of a row-major matrix: (x_p, x_q) ← (c x_p + s x_q, c x_q − s x_p). */
export function rotateColumnPair(
  x: Float64Array,
  x0: number,
  rows: number,
  ld: number,
  p: number,
  q: number,
  c: number,
  s: number,
): void {
  for (let r = 0, o = x0; r < rows; r++, o += ld) {
    const a = x[o + p]!;
    const b = x[o + q]!;
    x[o + p] = c * a + s * b;
    x[o + q] = c * b - s * a;
  }
}
