// Row-wise kernels: softmax, RMSNorm and cross-entropy, each over a rows × cols
// matrix, vectorised along the row.
import { hmax, hsum, logf, vexp } from './math';

// The row maximum ignoring NaN, as the js backend's `if (x > max)` loop finds it.
function rowMax(a: usize, cols: i32): f32 {
  let m = f32x4.splat(-Infinity);
  let c = 0;
  for (; c + 4 <= cols; c += 4) m = f32x4.pmax(m, v128.load(a + <usize>c * 4));
  let s = hmax(m);
  for (; c < cols; c++) {
    const x = load<f32>(a + <usize>c * 4);
    if (x > s) s = x;
  }
  return s;
}

// out[c] = exp(a[c] − shift) unless out is 0; returns the sum.
function expShifted(a: usize, out: usize, cols: i32, shift: f32): f32 {
  const sh = f32x4.splat(shift);
  let acc = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    const o = <usize>c * 4;
    const e = vexp(f32x4.sub(v128.load(a + o), sh));
    if (out) v128.store(out + o, e);
    acc = f32x4.add(acc, e);
  }
  let s = hsum(acc);
  for (; c < cols; c++) {
    const o = <usize>c * 4;
    const e = f32x4.extract_lane(vexp(f32x4.splat(load<f32>(a + o) - shift)), 0);
    if (out) store<f32>(out + o, e);
    s += e;
  }
  return s;
}

function scaleRow(p: usize, cols: i32, f: f32): void {
  const fv = f32x4.splat(f);
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    const o = <usize>c * 4;
    v128.store(p + o, f32x4.mul(v128.load(p + o), fv));
  }
  for (; c < cols; c++) store<f32>(p + <usize>c * 4, load<f32>(p + <usize>c * 4) * f);
}

/** Row softmax (or log-softmax) of rows [r0, r1), the maximum subtracted first; out may be a. */
export function softmax(a: usize, out: usize, cols: i32, log: bool, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const base = <usize>r * <usize>cols * 4;
    let mx = rowMax(a + base, cols);
    if (mx === -Infinity) mx = 0;
    // Log-softmax needs a after the sum, so it does not store the exponentials.
    const sum = expShifted(a + base, log ? 0 : out + base, cols, mx);
    if (log) {
      const shift = f32x4.splat(mx + logf(sum));
      let c = 0;
      for (; c + 4 <= cols; c += 4) {
        const o = base + <usize>c * 4;
        v128.store(out + o, f32x4.sub(v128.load(a + o), shift));
      }
      for (; c < cols; c++) {
        const o = base + <usize>c * 4;
        store<f32>(out + o, load<f32>(a + o) - f32x4.extract_lane(shift, 0));
      }
    } else {
      scaleRow(out + base, cols, <f32>(1 / <f64>sum));
    }
  }
}

function sumSquares(x: usize, cols: i32): f64 {
  let acc = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    const v = v128.load(x + <usize>c * 4);
    acc = f32x4.add(acc, f32x4.mul(v, v));
  }
  let s = <f64>hsum(acc);
  for (; c < cols; c++) {
    const v = <f64>load<f32>(x + <usize>c * 4);
    s += v * v;
  }
  return s;
}

// 1 / sqrt(mean(x²) + eps) of one row.
function rowInv(x: usize, cols: i32, eps: f32): f32 {
  return <f32>(1 / Math.sqrt(sumSquares(x, cols) / <f64>cols + <f64>eps));
}

/** y = x / sqrt(mean(x²) + eps) · w, per row. */
export function rmsNorm(x: usize, w: usize, out: usize, rows: i32, cols: i32, eps: f32): void {
  rmsNormRows(x, w, out, cols, eps, 0, rows);
}

/** `rmsNorm` of rows [r0, r1). */
export function rmsNormRows(
  x: usize,
  w: usize,
  out: usize,
  cols: i32,
  eps: f32,
  r0: i32,
  r1: i32,
): void {
  for (let r = r0; r < r1; r++) {
    const base = <usize>r * <usize>cols * 4;
    const inv = rowInv(x + base, cols, eps);
    const iv = f32x4.splat(inv);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c * 4;
      v128.store(
        out + base + o,
        f32x4.mul(f32x4.mul(v128.load(x + base + o), iv), v128.load(w + o)),
      );
    }
    for (; c < cols; c++) {
      const o = <usize>c * 4;
      store<f32>(out + base + o, load<f32>(x + base + o) * inv * load<f32>(w + o));
    }
  }
}

// dw[c] += dy[c]·x̂[c] over columns [c0, c1) of one row, x̂ = x·inv.
function accumulateDw(dy: usize, x: usize, dw: usize, c0: i32, c1: i32, inv: f32): void {
  const iv = f32x4.splat(inv);
  let c = c0;
  for (; c + 4 <= c1; c += 4) {
    const o = <usize>c * 4;
    const xhat = f32x4.mul(v128.load(x + o), iv);
    v128.store(dw + o, f32x4.add(v128.load(dw + o), f32x4.mul(v128.load(dy + o), xhat)));
  }
  for (; c < c1; c++) {
    const o = <usize>c * 4;
    store<f32>(dw + o, load<f32>(dw + o) + load<f32>(dy + o) * (load<f32>(x + o) * inv));
  }
}

// dx of one row (dx may be dy).
function rowDx(dy: usize, x: usize, w: usize, dx: usize, cols: i32, inv: f32): void {
  const iv = f32x4.splat(inv);
  let dotv = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    const o = <usize>c * 4;
    const xhat = f32x4.mul(v128.load(x + o), iv);
    dotv = f32x4.add(dotv, f32x4.mul(f32x4.mul(v128.load(dy + o), v128.load(w + o)), xhat));
  }
  let dot = hsum(dotv);
  for (let t = c; t < cols; t++) {
    const o = <usize>t * 4;
    dot += load<f32>(dy + o) * load<f32>(w + o) * (load<f32>(x + o) * inv);
  }
  dot /= <f32>cols;
  const dv = f32x4.splat(dot);
  c = 0;
  for (; c + 4 <= cols; c += 4) {
    const o = <usize>c * 4;
    const xhat = f32x4.mul(v128.load(x + o), iv);
    const g = f32x4.mul(v128.load(dy + o), v128.load(w + o));
    v128.store(dx + o, f32x4.mul(iv, f32x4.sub(g, f32x4.mul(xhat, dv))));
  }
  for (; c < cols; c++) {
    const o = <usize>c * 4;
    const xhat = load<f32>(x + o) * inv;
    const g = load<f32>(dy + o) * load<f32>(w + o);
    store<f32>(dx + o, inv * (g - xhat * dot));
  }
}

/**
 * dx = inv·(g − x̂·mean(g·x̂)) with x̂ = x·inv and g = dy·w; dw = Σ_rows dy·x̂ (dx may
 * be dy). Split over threads as `rmsNormBackwardRows` then `rmsNormBackwardDw`,
 * which give the same bits.
 */
export function rmsNormBackward(
  dy: usize,
  x: usize,
  w: usize,
  dx: usize,
  dw: usize,
  rows: i32,
  cols: i32,
  eps: f32,
): void {
  memory.fill(dw, 0, <usize>cols * 4);
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * <usize>cols * 4;
    const inv = rowInv(x + base, cols, eps);
    accumulateDw(dy + base, x + base, dw, 0, cols, inv);
    rowDx(dy + base, x + base, w, dx + base, cols, inv);
  }
}

/** dx of rows [r0, r1) and each row's inv (rows floats); dx must not be dy. */
export function rmsNormBackwardRows(
  dy: usize,
  x: usize,
  w: usize,
  dx: usize,
  inv: usize,
  cols: i32,
  eps: f32,
  r0: i32,
  r1: i32,
): void {
  for (let r = r0; r < r1; r++) {
    const base = <usize>r * <usize>cols * 4;
    const v = rowInv(x + base, cols, eps);
    store<f32>(inv + <usize>r * 4, v);
    rowDx(dy + base, x + base, w, dx + base, cols, v);
  }
}

/** dw over columns [c0, c1), rows summed in order, with the inv of `rmsNormBackwardRows`. */
export function rmsNormBackwardDw(
  dy: usize,
  x: usize,
  inv: usize,
  dw: usize,
  rows: i32,
  cols: i32,
  c0: i32,
  c1: i32,
): void {
  memory.fill(dw + <usize>c0 * 4, 0, <usize>(c1 - c0) * 4);
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * <usize>cols * 4;
    accumulateDw(dy + base, x + base, dw, c0, c1, load<f32>(inv + <usize>r * 4));
  }
}

/** Per-row −log softmax(logits)[target] of rows [r0, r1); ignored rows give 0. */
export function crossEntropy(
  logits: usize,
  targets: usize,
  out: usize,
  cols: i32,
  ignoreIndex: i32,
  r0: i32,
  r1: i32,
): void {
  for (let r = r0; r < r1; r++) {
    const t = load<i32>(targets + <usize>r * 4);
    const o = out + <usize>r * 4;
    if (t === ignoreIndex) {
      store<f32>(o, 0);
      continue;
    }
    const base = logits + <usize>r * <usize>cols * 4;
    const mx = rowMax(base, cols);
    const sum = expShifted(base, 0, cols, mx);
    store<f32>(o, mx + logf(sum) - load<f32>(base + <usize>t * 4));
  }
}

/** d loss / d logits = rowGrad · (softmax − onehot(target)) of rows [r0, r1); ignored rows give 0. */
export function crossEntropyBackward(
  logits: usize,
  targets: usize,
  rowGrad: usize,
  out: usize,
  cols: i32,
  ignoreIndex: i32,
  r0: i32,
  r1: i32,
): void {
  for (let r = r0; r < r1; r++) {
    const t = load<i32>(targets + <usize>r * 4);
    const g = load<f32>(rowGrad + <usize>r * 4);
    const base = <usize>r * <usize>cols * 4;
    if (t === ignoreIndex || g === 0) {
      memory.fill(out + base, 0, <usize>cols * 4);
      continue;
    }
    const mx = rowMax(logits + base, cols);
    const sum = expShifted(logits + base, out + base, cols, mx);
    scaleRow(out + base, cols, <f32>(<f64>g / <f64>sum));
    const ot = out + base + <usize>t * 4;
    store<f32>(ot, load<f32>(ot) - g);
  }
}
