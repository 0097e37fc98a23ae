// Kernels for decoding one token at a time over weights that stay in the memory:
// a matrix–vector product over row-major weights (no packing: each output is one
// contiguous dot product), attention of one query over a KV cache, SwiGLU, and
// the small glue (bias, residual add, rotary, cache writes) that would otherwise
// cost a JS call and a copy each.
import { hsum, vexp } from './math';

/**
 * y[r] = W[r, :] · x (+ bias[r]) for rows r in [r0, r1); W is rows × cols, row-major.
 * Four rows at a time share each load of x. `work` is unused (the thread pool's slot).
 */
export function gemv(
  w: usize,
  x: usize,
  y: usize,
  bias: usize,
  cols: i32,
  r0: i32,
  r1: i32,
  work: usize,
): void {
  const rowBytes = <usize>cols * 4;
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
    for (let c = 0; c < c4; c += 4) {
      const o = <usize>c * 4;
      const xv = v128.load(x + o);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(w0 + o), xv));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(w1 + o), xv));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(w2 + o), xv));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(w3 + o), xv));
    }
    let s0 = hsum(a0);
    let s1 = hsum(a1);
    let s2 = hsum(a2);
    let s3 = hsum(a3);
    for (let c = c4; c < cols; c++) {
      const o = <usize>c * 4;
      const xs = load<f32>(x + o);
      s0 += load<f32>(w0 + o) * xs;
      s1 += load<f32>(w1 + o) * xs;
      s2 += load<f32>(w2 + o) * xs;
      s3 += load<f32>(w3 + o) * xs;
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
      const o = <usize>c * 4;
      acc = f32x4.add(acc, f32x4.mul(v128.load(wr + o), v128.load(x + o)));
    }
    let s = hsum(acc);
    for (let c = c4; c < cols; c++) s += load<f32>(wr + <usize>c * 4) * load<f32>(x + <usize>c * 4);
    if (bias) s += load<f32>(bias + <usize>r * 4);
    store<f32>(y + <usize>r * 4, s);
  }
  void work;
}

/**
 * Y[j, r] = W[r, :] · X[j, :] (+ bias[r]) for the m rows of X [m, cols] and rows r in
 * [r0, r1) of W, Y being [m, rows]: one pass over the weights for m vectors (a batch of
 * sequences decoding one token each). Blocks of weight rows small enough to stay in the
 * cache meet every vector in turn, each output computed by `gemv`'s own code, so a row of
 * the batch gets the bits it would get alone. `work` is unused (the thread pool's slot).
 */
export function gemvBatch(
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
  const block = max(4, (16384 / max(cols, 1)) & ~3);
  const xBytes = <usize>cols * 4;
  const yBytes = <usize>rows * 4;
  for (let b = r0; b < r1; b += block) {
    const e = min(b + block, r1);
    for (let j = 0; j < m; j++)
      gemv(w, x + <usize>j * xBytes, y + <usize>j * yBytes, bias, cols, b, e, 0);
  }
  void work;
}

/** y[i, :] += bias for each of `rows` rows of `cols`. */
export function addBias(y: usize, bias: usize, rows: i32, cols: i32): void {
  for (let i = 0; i < rows; i++) addInto(y + <usize>i * <usize>cols * 4, bias, cols);
}

/** a += b over n floats (the residual connection). */
export function addInto(a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * 4;
    v128.store(a + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    store<f32>(a + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** out = silu(g) ⊙ u = g·σ(g)·u over n floats; out may be g. */
export function swiglu(g: usize, u: usize, out: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * 4;
    const gv = v128.load(g + o);
    const sig = f32x4.div(one, f32x4.add(one, vexp(f32x4.neg(gv))));
    v128.store(out + o, f32x4.mul(f32x4.mul(gv, sig), v128.load(u + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    const gv = load<f32>(g + o);
    const e = f32x4.extract_lane(vexp(f32x4.splat(-gv)), 0);
    store<f32>(out + o, (gv / (1 + e)) * load<f32>(u + o));
  }
}

/**
 * Rotate-half rotary embedding, in place, of `heads` vectors of `dim` at one position:
 * (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin) with cos/sin of dim/2 angles.
 */
export function ropeOne(x: usize, heads: i32, dim: i32, cos: usize, sin: usize): void {
  const half = dim >> 1;
  for (let h = 0; h < heads; h++) {
    const lo = x + <usize>h * <usize>dim * 4;
    const hi = lo + <usize>half * 4;
    for (let i = 0; i < half; i++) {
      const o = <usize>i * 4;
      const a = load<f32>(lo + o);
      const b = load<f32>(hi + o);
      const c = load<f32>(cos + o);
      const s = load<f32>(sin + o);
      store<f32>(lo + o, a * c - b * s);
      store<f32>(hi + o, b * c + a * s);
    }
  }
}

/**
 * Writes one token's keys or values, [kvHeads, dim] contiguous, at slot `at` of a cache
 * laid out [kvHeads, capacity, dim].
 */
export function cacheWrite(
  src: usize,
  cache: usize,
  kvHeads: i32,
  dim: i32,
  capacity: i32,
  at: i32,
): void {
  const rowBytes = <usize>dim * 4;
  for (let h = 0; h < kvHeads; h++) {
    memory.copy(
      cache + (<usize>h * <usize>capacity + <usize>at) * rowBytes,
      src + <usize>h * rowBytes,
      rowBytes,
    );
  }
}

function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * 4;
    acc = f32x4.add(acc, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  let s = hsum(acc);
  for (; i < n; i++) s += load<f32>(a + <usize>i * 4) * load<f32>(b + <usize>i * 4);
  return s;
}

/**
 * Attention of one query position over the first `len` cached keys and values of a
 * [kvHeads, capacity, dim] cache: q and out are [heads, dim]; query head h reads kv
 * head h / (heads / kvHeads). `scores` holds `len` floats of workspace.
 */
export function attendOne(
  q: usize,
  kc: usize,
  vc: usize,
  out: usize,
  heads: i32,
  kvHeads: i32,
  dim: i32,
  capacity: i32,
  len: i32,
  scale: f32,
  scores: usize,
): void {
  const group = heads / kvHeads;
  const rowBytes = <usize>dim * 4;
  for (let h = 0; h < heads; h++) {
    const qh = q + <usize>h * rowBytes;
    const kh = kc + <usize>(h / group) * <usize>capacity * rowBytes;
    const vh = vc + <usize>(h / group) * <usize>capacity * rowBytes;
    let mx: f32 = -Infinity;
    for (let j = 0; j < len; j++) {
      const s = dot(qh, kh + <usize>j * rowBytes, dim) * scale;
      store<f32>(scores + <usize>j * 4, s);
      if (s > mx) mx = s;
    }
    let sum: f32 = 0;
    let j = 0;
    const mv = f32x4.splat(mx);
    let acc = f32x4.splat(0);
    for (; j + 4 <= len; j += 4) {
      const o = <usize>j * 4;
      const e = vexp(f32x4.sub(v128.load(scores + o), mv));
      v128.store(scores + o, e);
      acc = f32x4.add(acc, e);
    }
    sum = hsum(acc);
    for (; j < len; j++) {
      const o = <usize>j * 4;
      const e = f32x4.extract_lane(vexp(f32x4.splat(load<f32>(scores + o) - mx)), 0);
      store<f32>(scores + o, e);
      sum += e;
    }
    const inv: f32 = 1 / sum;
    // out_h = Σ_j p_j v_j, accumulated in place.
    const oh = out + <usize>h * rowBytes;
    memory.fill(oh, 0, rowBytes);
    const d4 = dim & ~3;
    for (let t = 0; t < len; t++) {
      const p = load<f32>(scores + <usize>t * 4) * inv;
      const pv = f32x4.splat(p);
      const vr = vh + <usize>t * rowBytes;
      let i = 0;
      for (; i < d4; i += 4) {
        const o = <usize>i * 4;
        v128.store(oh + o, f32x4.add(v128.load(oh + o), f32x4.mul(pv, v128.load(vr + o))));
      }
      for (; i < dim; i++) {
        const o = <usize>i * 4;
        store<f32>(oh + o, load<f32>(oh + o) + p * load<f32>(vr + o));
      }
    }
  }
}
