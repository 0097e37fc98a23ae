// Vector transcendental functions, f32x4. exp is Cephes' expf (range reduction by
// ln 2 split in two constants, degree-6 polynomial; ~1 ulp); tanh uses Cephes'
// odd polynomial near 0 (where 1 − 2/(e^2x + 1) would cancel) and exp elsewhere.

const LOG2E: f32 = <f32>Math.LOG2E;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.1219444e-4;
// e^x overflows float32 above this and is below the smallest normal below EXP_LO.
const EXP_HI: f32 = 88.72283905206835;
const EXP_LO: f32 = -87.3365447505531;

// 1.5·2^23: adding it rounds a float of magnitude < 2^22 to an integer held in the
// low mantissa bits, which is cheaper than f32x4.nearest plus i32x4.trunc_sat.
const ROUND_MAGIC: f32 = 12582912;

export function vexp(x: v128): v128 {
  // pmin/pmax are single instructions on x86 (min/max must order NaN and ±0); a NaN
  // x passes through both and makes the result NaN.
  const xc = f32x4.pmax(f32x4.pmin(x, f32x4.splat(EXP_HI)), f32x4.splat(EXP_LO));
  const t = f32x4.add(f32x4.mul(xc, f32x4.splat(LOG2E)), f32x4.splat(ROUND_MAGIC));
  const fx = f32x4.sub(t, f32x4.splat(ROUND_MAGIC));
  let r = f32x4.sub(xc, f32x4.mul(fx, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(fx, f32x4.splat(LN2_LO)));
  const z = f32x4.mul(r, r);
  let y = f32x4.splat(1.98756915e-4);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.add(f32x4.mul(y, z), r), f32x4.splat(1));
  // 2^n as 2^(n−1)·2, so that n = 128 (x near EXP_HI) does not hit the inf exponent;
  // n = −126 (x at EXP_LO) gives exponent bits 0, i.e. exactly 0.
  const n = i32x4.sub(t, f32x4.splat(ROUND_MAGIC));
  const scale = i32x4.shl(i32x4.add(n, i32x4.splat(126)), 23);
  const out = f32x4.mul(f32x4.mul(y, scale), f32x4.splat(2));
  return v128.bitselect(f32x4.splat(Infinity), out, f32x4.gt(x, f32x4.splat(EXP_HI)));
}

export function vsigmoid(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, vexp(f32x4.neg(x))));
}

export function vtanh(x: v128): v128 {
  const ax = f32x4.abs(x);
  // Small |x|: x + x³·P(x²).
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(x, f32x4.mul(f32x4.mul(p, z), x));
  // Large |x|: sign(x)·(1 − 2/(e^{2|x|} + 1)).
  const e = vexp(f32x4.add(ax, ax));
  const one = f32x4.splat(1);
  const big = f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(e, one)));
  const signed = v128.or(big, v128.and(x, f32x4.splat(-0.0)));
  return v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(0.625)));
}

/** Horizontal sum of four lanes. */
export function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.add(s, v128.shuffle<f32>(s, s, 1, 0, 3, 2)), 0);
}

/** Horizontal maximum of four lanes, NaN lanes ignored (pmax keeps its first operand). */
export function hmax(v: v128): f32 {
  const s = f32x4.pmax(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.pmax(s, v128.shuffle<f32>(s, s, 1, 0, 3, 2)), 0);
}

const SQRT_HALF: f32 = <f32>Math.SQRT1_2;
const MIN_NORMAL: f32 = 1.17549435e-38;

/** Natural log (Cephes' logf): x = m·2^e with m in [√½, √2), polynomial in m − 1. */
export function vlog(x: v128): v128 {
  // Denormals are scaled into the normal range first (2^23), and e corrected.
  const tiny = f32x4.lt(x, f32x4.splat(MIN_NORMAL));
  const xs = v128.bitselect(f32x4.mul(x, f32x4.splat(8388608)), x, tiny);
  let e = i32x4.sub(i32x4.shr_u(xs, 23), i32x4.splat(126));
  e = i32x4.sub(e, v128.and(tiny, i32x4.splat(23)));
  const m = v128.or(v128.and(xs, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000));
  // m in [0.5, 1): below √½ use 2m − 1 and e − 1, else m − 1.
  const lo = f32x4.lt(m, f32x4.splat(SQRT_HALF));
  e = i32x4.add(e, lo);
  const one = f32x4.splat(1);
  const r = f32x4.sub(f32x4.add(m, v128.and(m, lo)), one);
  const fe = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(r, r);
  let y = f32x4.splat(7.0376836292e-2);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(-1.151461031e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.167699874e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(-1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.4249322787e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(-1.6668057665e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(2.0000714765e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(-2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, r), z);
  y = f32x4.add(y, f32x4.mul(fe, f32x4.splat(-2.1219444e-4)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  let out = f32x4.add(f32x4.add(r, y), f32x4.mul(fe, f32x4.splat(0.693359375)));
  // log 0 = −∞, log x<0 = NaN, log ∞ = ∞; NaN stays NaN.
  out = v128.bitselect(f32x4.splat(-Infinity), out, f32x4.eq(x, f32x4.splat(0)));
  out = v128.bitselect(f32x4.splat(NaN), out, v128.or(f32x4.lt(x, f32x4.splat(0)), f32x4.ne(x, x)));
  return v128.bitselect(x, out, f32x4.eq(x, f32x4.splat(Infinity)));
}

/** Scalar log through the vector code (one lane). */
export function logf(x: f32): f32 {
  return f32x4.extract_lane(vlog(f32x4.splat(x)), 0);
}
