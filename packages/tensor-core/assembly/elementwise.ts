// Elementwise kernels over f32x4, with a scalar tail through the same vector code
// (one lane used) so that every element is computed by the same formula.
import { vexp, vlog, vsigmoid, vtanh } from './math';

// Op codes shared with src/kernels/wasm/elementwise.ts.
const NEG = 0;
const EXP = 1;
const SQRT = 2;
const RSQRT = 3;
const ABS = 4;
const SIGMOID = 5;
const SILU = 6;
const GELU = 7;
const TANH = 8;
const RELU = 9;
const SQUARE = 10;
const SIGN = 11;
const RECIPROCAL = 12;
const SILU_GRAD = 13;
const GELU_GRAD = 14;
const STEP = 15;
const LOG = 16;

const ADD = 0;
const SUB = 1;
const MUL = 2;
const DIV = 3;
const MAXIMUM = 4;
const MINIMUM = 5;
const GREATER = 6;
const LESS = 7;
const EQUAL = 8;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_C: f32 = 0.044715;

// u = √(2/π)·(x + 0.044715·x³), the argument of tanh in GELU's tanh approximation.
function geluInner(x: v128): v128 {
  const x3 = f32x4.mul(x, f32x4.mul(x, x));
  return f32x4.mul(f32x4.splat(SQRT_2_OVER_PI), f32x4.add(x, f32x4.mul(f32x4.splat(GELU_C), x3)));
}

// Static methods because AssemblyScript takes @inline only there in TS syntax. The
// loops are inlined into one switch case per op, where `op` is a constant, so the
// per-vector switch folds away.
// biome-ignore lint/complexity/noStaticOnlyClass: AssemblyScript takes @inline only on methods.
class Kernels {
  @inline
  static unary(op: i32, x: v128): v128 {
    const one = f32x4.splat(1);
    const zero = f32x4.splat(0);
    switch (op) {
      case NEG:
        return f32x4.neg(x);
      case EXP:
        return vexp(x);
      case SQRT:
        return f32x4.sqrt(x);
      case RSQRT:
        return f32x4.div(one, f32x4.sqrt(x));
      case ABS:
        return f32x4.abs(x);
      case SIGMOID:
        return vsigmoid(x);
      case SILU:
        return f32x4.mul(x, vsigmoid(x));
      case GELU:
        // 0.5·x·(1 + tanh u) = x·σ(2u): no cancellation where tanh u ≈ −1.
        return f32x4.mul(x, vsigmoid(f32x4.mul(f32x4.splat(2), geluInner(x))));
      case TANH:
        return vtanh(x);
      case RELU:
        return v128.and(x, f32x4.gt(x, zero));
      case SQUARE:
        return f32x4.mul(x, x);
      case SIGN: {
        // ±1 by sign, and x itself for ±0 and NaN (Math.sign).
        const s = v128.bitselect(one, f32x4.splat(-1), f32x4.gt(x, zero));
        return v128.bitselect(s, x, v128.or(f32x4.gt(x, zero), f32x4.lt(x, zero)));
      }
      case RECIPROCAL:
        return f32x4.div(one, x);
      case SILU_GRAD:
        // σ(x)·(1 + x·(1 − σ(x))), with 1 − σ(x) = σ(−x) to keep its precision.
        return f32x4.mul(vsigmoid(x), f32x4.add(one, f32x4.mul(x, vsigmoid(f32x4.neg(x)))));
      case GELU_GRAD: {
        // With s = σ(2u): 1 + tanh u = 2s and 1 − tanh²u = 4·s·(1 − s), so the derivative
        // is s + 2·x·s·(1 − s)·u′ with 1 − s = σ(−2u), u′ = √(2/π)·(1 + 3·0.044715·x²).
        const u2 = f32x4.mul(f32x4.splat(2), geluInner(x));
        const s = vsigmoid(u2);
        const sm = vsigmoid(f32x4.neg(u2));
        const du = f32x4.mul(
          f32x4.splat(SQRT_2_OVER_PI),
          f32x4.add(one, f32x4.mul(f32x4.splat(3 * GELU_C), f32x4.mul(x, x))),
        );
        const ssm = f32x4.mul(s, sm);
        const d = f32x4.add(s, f32x4.mul(f32x4.mul(f32x4.add(x, x), ssm), du));
        // Where s·(1 − s) underflows the second term is 0, even if x·u′ overflowed.
        return v128.bitselect(s, d, f32x4.eq(ssm, zero));
      }
      case STEP:
        return v128.and(one, f32x4.gt(x, zero));
      case LOG:
        return vlog(x);
      default:
        return f32x4.splat(NaN);
    }
  }

  @inline
  static unaryLoop(op: i32, a: usize, out: usize, i0: i32, i1: i32): void {
    let i = i0;
    for (; i + 4 <= i1; i += 4) {
      const o = <usize>i * 4;
      v128.store(out + o, Kernels.unary(op, v128.load(a + o)));
    }
    for (; i < i1; i++) {
      const o = <usize>i * 4;
      store<f32>(out + o, f32x4.extract_lane(Kernels.unary(op, f32x4.splat(load<f32>(a + o))), 0));
    }
  }

  @inline
  static binary(op: i32, x: v128, y: v128): v128 {
    switch (op) {
      case ADD:
        return f32x4.add(x, y);
      case SUB:
        return f32x4.sub(x, y);
      case MUL:
        return f32x4.mul(x, y);
      case DIV:
        return f32x4.div(x, y);
      // x where x ≥ y or x is NaN, else y: the js backend's tie and NaN rules exactly.
      case MAXIMUM:
        return v128.bitselect(x, y, v128.or(f32x4.ge(x, y), f32x4.ne(x, x)));
      case MINIMUM:
        return v128.bitselect(x, y, v128.or(f32x4.le(x, y), f32x4.ne(x, x)));
      case GREATER:
        return v128.and(f32x4.splat(1), f32x4.gt(x, y));
      case LESS:
        return v128.and(f32x4.splat(1), f32x4.lt(x, y));
      case EQUAL:
        return v128.and(f32x4.splat(1), f32x4.eq(x, y));
      default:
        return f32x4.splat(NaN);
    }
  }

  @inline
  static binaryLoop(
    op: i32,
    a: usize,
    aRow: i32,
    aCol: i32,
    b: usize,
    bRow: i32,
    bCol: i32,
    out: usize,
    cols: i32,
    r0: i32,
    r1: i32,
    c0: i32,
    c1: i32,
  ): void {
    for (let r = r0; r < r1; r++) {
      const ar = a + <usize>(r * aRow) * 4;
      const br = b + <usize>(r * bRow) * 4;
      const orow = out + <usize>r * <usize>cols * 4;
      let c = c0;
      if (aCol === 1 && bCol === 1) {
        for (; c + 4 <= c1; c += 4) {
          const o = <usize>c * 4;
          v128.store(orow + o, Kernels.binary(op, v128.load(ar + o), v128.load(br + o)));
        }
      } else if (aCol === 1) {
        const y = v128.load32_splat(br);
        for (; c + 4 <= c1; c += 4) {
          const o = <usize>c * 4;
          v128.store(orow + o, Kernels.binary(op, v128.load(ar + o), y));
        }
      } else if (bCol === 1) {
        const x = v128.load32_splat(ar);
        for (; c + 4 <= c1; c += 4) {
          const o = <usize>c * 4;
          v128.store(orow + o, Kernels.binary(op, x, v128.load(br + o)));
        }
      }
      for (; c < c1; c++) {
        const x = f32x4.splat(load<f32>(ar + <usize>(c * aCol) * 4));
        const y = f32x4.splat(load<f32>(br + <usize>(c * bCol) * 4));
        store<f32>(orow + <usize>c * 4, f32x4.extract_lane(Kernels.binary(op, x, y), 0));
      }
    }
  }
}

/** out[i] = op(a[i]) for i in [i0, i1) (pointers in bytes; out may be a). */
export function unary(op: i32, a: usize, out: usize, i0: i32, i1: i32): void {
  switch (op) {
    case NEG:
      Kernels.unaryLoop(NEG, a, out, i0, i1);
      break;
    case EXP:
      Kernels.unaryLoop(EXP, a, out, i0, i1);
      break;
    case SQRT:
      Kernels.unaryLoop(SQRT, a, out, i0, i1);
      break;
    case RSQRT:
      Kernels.unaryLoop(RSQRT, a, out, i0, i1);
      break;
    case ABS:
      Kernels.unaryLoop(ABS, a, out, i0, i1);
      break;
    case SIGMOID:
      Kernels.unaryLoop(SIGMOID, a, out, i0, i1);
      break;
    case SILU:
      Kernels.unaryLoop(SILU, a, out, i0, i1);
      break;
    case GELU:
      Kernels.unaryLoop(GELU, a, out, i0, i1);
      break;
    case TANH:
      Kernels.unaryLoop(TANH, a, out, i0, i1);
      break;
    case RELU:
      Kernels.unaryLoop(RELU, a, out, i0, i1);
      break;
    case SQUARE:
      Kernels.unaryLoop(SQUARE, a, out, i0, i1);
      break;
    case SIGN:
      Kernels.unaryLoop(SIGN, a, out, i0, i1);
      break;
    case RECIPROCAL:
      Kernels.unaryLoop(RECIPROCAL, a, out, i0, i1);
      break;
    case SILU_GRAD:
      Kernels.unaryLoop(SILU_GRAD, a, out, i0, i1);
      break;
    case GELU_GRAD:
      Kernels.unaryLoop(GELU_GRAD, a, out, i0, i1);
      break;
    case STEP:
      Kernels.unaryLoop(STEP, a, out, i0, i1);
      break;
    case LOG:
      Kernels.unaryLoop(LOG, a, out, i0, i1);
      break;
  }
}

/**
 * out viewed as rows × cols; a[r, c] is read at a + (r·aRow + c·aCol) floats with
 * aRow ∈ {0, cols} and aCol ∈ {0, 1} (a full, repeating or scalar operand), b alike;
 * computes rows [r0, r1) × columns [c0, c1).
 */
export function binary(
  op: i32,
  a: usize,
  aRow: i32,
  aCol: i32,
  b: usize,
  bRow: i32,
  bCol: i32,
  out: usize,
  cols: i32,
  r0: i32,
  r1: i32,
  c0: i32,
  c1: i32,
): void {
  switch (op) {
    case ADD:
      Kernels.binaryLoop(ADD, a, aRow, aCol, b, bRow, bCol, out, cols, r0, r1, c0, c1);
      break;
    case SUB:
      Kernels.binaryLoop(SUB, a, aRow, aCol, b, bRow, bCol, out, cols, r0, r1, c0, c1);
      break;
    case MUL:
      Kernels.binaryLoop(MUL, a, aRow, aCol, b, bRow, bCol, out, cols, r0, r1, c0, c1);
      break;
    case DIV:
      Kernels.binaryLoop(DIV, a, aRow, aCol, b, bRow, bCol, out, cols, r0, r1, c0, c1);
      break;
    case MAXIMUM:
      Kernels.binaryLoop(MAXIMUM, a, aRow, aCol, b, bRow, bCol, out, cols, r0, r1, c0, c1);
      break;
    case MINIMUM:
      Kernels.binaryLoop(MINIMUM, a, aRow, aCol, b, bRow, bCol, out, cols, r0, r1, c0, c1);
      break;
    case GREATER:
      Kernels.binaryLoop(GREATER, a, aRow, aCol, b, bRow, bCol, out, cols, r0, r1, c0, c1);
      break;
    case LESS:
      Kernels.binaryLoop(LESS, a, aRow, aCol, b, bRow, bCol, out, cols, r0, r1, c0, c1);
      break;
    case EQUAL:
      Kernels.binaryLoop(EQUAL, a, aRow, aCol, b, bRow, bCol, out, cols, r0, r1, c0, c1);
      break;
  }
}
