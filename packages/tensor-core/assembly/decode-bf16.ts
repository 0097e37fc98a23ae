// Decode kernels over bfloat16 weights: a checkpoint's BF16 values kept as stored (two
// bytes each), widened to float32 as they are loaded. A bfloat16 is the top half of a
// float32, so widening is exact and every output gets the bits the float32 kernels in
// decode.ts give for the widened weights (same products, same summation order).
// Decoding streams every weight once per token, so half the bytes is up to twice the speed.
import { hsum } from './math';

/** Four bfloat16 values at p (8 bytes) as a float32 vector. */
function widen4(p: usize): v128 {
  return i32x4.shl(i32x4.extend_low_i16x8_u(v128.load64_zero(p)), 16);
}

/** The low four of eight bfloat16 values in v as a float32 vector. */
function low4(v: v128): v128 {
  return i32x4.shl(i32x4.extend_low_i16x8_u(v), 16);
}

/** The high four of eight bfloat16 values in v as a float32 vector. */
function high4(v: v128): v128 {
  return i32x4.shl(i32x4.extend_high_i16x8_u(v), 16);
}

function bf16At(p: usize): f32 {
  return reinterpret<f32>((<u32>load<u16>(p)) << 16);
}

/**
 * `gemv` with W in bfloat16: y[r] = W[r, :] · x (+ bias[r]) for rows r in [r0, r1); x,
 * y and bias are float32. `work` is unused (the thread pool's slot).
 */
export function gemvBf16(
  w: usize,
  x: usize,
  y: usize,
  bias: usize,
  cols: i32,
  r0: i32,
  r1: i32,
  work: usize,
): void {
  const rowBytes = <usize>cols * 2;
  const c8 = cols & ~7;
  const c4 = cols & ~3;
  let r = r0;
  for (; r + 4 <= r1; r += 4) {
    const w0 = w + <usize>r * rowBytes;
    const w1 = w0 + rowBytes;
    const w2 = w1 + rowBytes;
    const w3 = w2 + rowBytes;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let c = 0;
    for (; c < c8; c += 8) {
      const o = <usize>c * 2;
      const xl = v128.load(x + <usize>c * 4);
      const xh = v128.load(x + <usize>c * 4 + 16);
      const v0 = v128.load(w0 + o);
      const v1 = v128.load(w1 + o);
      const v2 = v128.load(w2 + o);
      const v3 = v128.load(w3 + o);
      a0 = f32x4.add(a0, f32x4.mul(low4(v0), xl));
      a1 = f32x4.add(a1, f32x4.mul(low4(v1), xl));
      a2 = f32x4.add(a2, f32x4.mul(low4(v2), xl));
      a3 = f32x4.add(a3, f32x4.mul(low4(v3), xl));
      a0 = f32x4.add(a0, f32x4.mul(high4(v0), xh));
      a1 = f32x4.add(a1, f32x4.mul(high4(v1), xh));
      a2 = f32x4.add(a2, f32x4.mul(high4(v2), xh));
      a3 = f32x4.add(a3, f32x4.mul(high4(v3), xh));
    }
    if (c < c4) {
      const o = <usize>c * 2;
      const xv = v128.load(x + <usize>c * 4);
      a0 = f32x4.add(a0, f32x4.mul(widen4(w0 + o), xv));
      a1 = f32x4.add(a1, f32x4.mul(widen4(w1 + o), xv));
      a2 = f32x4.add(a2, f32x4.mul(widen4(w2 + o), xv));
      a3 = f32x4.add(a3, f32x4.mul(widen4(w3 + o), xv));
    }
    let s0 = hsum(a0);
    let s1 = hsum(a1);
    let s2 = hsum(a2);
    let s3 = hsum(a3);
    for (let c = c4; c < cols; c++) {
      const xs = load<f32>(x + <usize>c * 4);
      const o = <usize>c * 2;
      s0 += bf16At(w0 + o) * xs;
      s1 += bf16At(w1 + o) * xs;
      s2 += bf16At(w2 + o) * xs;
      s3 += bf16At(w3 + o) * xs;
    }
    if (bias) {
      s0 += load<f32>(bias + <usize>r * 4);
      s1 += load<f32>(bias + <usize>(r + 1) * 4);
      s2 += load<f32>(bias + <usize>(r + 2) * 4);
      s3 += load<f32>(bias + <usize>(r + 3) * 4);
    }
    store<f32>(y + <usize>r * 4, s0);
    store<f32>(y + <usize>(r + 1) * 4, s1);
    store<f32>(y + <usize>(r + 2) * 4, s2);
    store<f32>(y + <usize>(r + 3) * 4, s3);
  }
  for (; r < r1; r++) {
    const wr = w + <usize>r * rowBytes;
    let acc = f32x4.splat(0);
    for (let c = 0; c < c4; c += 4) {
      acc = f32x4.add(acc, f32x4.mul(widen4(wr + <usize>c * 2), v128.load(x + <usize>c * 4)));
    }
    let s = hsum(acc);
    for (let c = c4; c < cols; c++) s += bf16At(wr + <usize>c * 2) * load<f32>(x + <usize>c * 4);
    if (bias) s += load<f32>(bias + <usize>r * 4);
    store<f32>(y + <usize>r * 4, s);
  }
  void work;
}

/**
 * `gemvBatch` with W in bfloat16: Y[j, r] = W[r, :] · X[j, :] (+ bias[r]) for the m rows
 * of X and rows r in [r0, r1) of W, one pass over the weights for the m vectors, each
 * output as `gemvBf16` computes it. `work` is unused (the thread pool's slot).
 */
export function gemvBatchBf16(
  w: usize,
  x: usize,
  y: usize,
  bias: usize,
  cols: i32,
  rows: i32,
  m: i32,
  r0: i32,
  r1: i32,
  work: usize,
): void {
  // Blocks of weight rows of at most 8 KB (the float32 kernel's 16 KB of floats) stay in
  // the cache while every vector meets them.
  const block = max(4, (8192 / max(cols, 1)) & ~3);
  const xBytes = <usize>cols * 4;
  const yBytes = <usize>rows * 4;
  for (let b = r0; b < r1; b += block) {
    const e = min(b + block, r1);
    for (let j = 0; j < m; j++)
      gemvBf16(w, x + <usize>j * xBytes, y + <usize>j * yBytes, bias, cols, b, e, 0);
  }
  void work;
}

/** dst[i] = the float32 of the bfloat16 src[i], for n values (a weight widened for a gemm). */
export function widenBf16(src: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const v = v128.load(src + <usize>i * 2);
    v128.store(dst + <usize>i * 4, low4(v));
    v128.store(dst + <usize>i * 4 + 16, high4(v));
  }
  for (; i < n; i++) store<f32>(dst + <usize>i * 4, bf16At(src + <usize>i * 2));
}
