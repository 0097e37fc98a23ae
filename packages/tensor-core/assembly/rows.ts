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

/** Row softmax (or log-softmax), the maximum subtracted first; out may be a. */
export function softmax(a: usize, out: usize, rows: i32, cols: i32, log: bool): void {
  for (let r = 0; r < rows; r++) {
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

/** y = x / sqrt(mean(x²) + eps) · w, per row. */
export function rmsNorm(x: usize, w: usize, out: usize, rows: i32, cols: i32, eps: f32): void {
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * <usize>cols * 4;
    const inv = <f32>(1 / Math.sqrt(sumSquares(x + base, cols) / <f64>cols + <f64>eps));
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

/** dx = inv·(g − x̂·mean(g·x̂)) with x̂ = x·inv and g = dy·w; dw = Σ_rows dy·x̂. */
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
    const inv = <f32>(1 / Math.sqrt(sumSquares(x + base, cols) / <f64>cols + <f64>eps));
    const iv = f32x4.splat(inv);
    let dotv = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c * 4;
      const xhat = f32x4.mul(v128.load(x + base + o), iv);
      const d = v128.load(dy + base + o);
      dotv = f32x4.add(dotv, f32x4.mul(f32x4.mul(d, v128.load(w + o)), xhat));
      v128.store(dw + o, f32x4.add(v128.load(dw + o), f32x4.mul(d, xhat)));
    }
    let dot = hsum(dotv);
    for (let t = c; t < cols; t++) {
      const o = <usize>t * 4;
      const xhat = load<f32>(x + base + o) * inv;
      const d = load<f32>(dy + base + o);
      dot += d * load<f32>(w + o) * xhat;
      store<f32>(dw + o, load<f32>(dw + o) + d * xhat);
    }
    dot /= <f32>cols;
    const dv = f32x4.splat(dot);
    c = 0;
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c * 4;
      const xhat = f32x4.mul(v128.load(x + base + o), iv);
      const g = f32x4.mul(v128.load(dy + base + o), v128.load(w + o));
      v128.store(dx + base + o, f32x4.mul(iv, f32x4.sub(g, f32x4.mul(xhat, dv))));
    }
    for (; c < cols; c++) {
      const o = <usize>c * 4;
      const xhat = load<f32>(x + base + o) * inv;
      const g = load<f32>(dy + base + o) * load<f32>(w + o);
      store<f32>(dx + base + o, inv * (g - xhat * dot));
    }
  }
}

/** Per-row −log softmax(logits)[target]; ignored rows give 0. */
export function crossEntropy(
  logits: usize,
  targets: usize,
  out: usize,
  rows: i32,
  cols: i32,
  ignoreIndex: i32,
): void {
  for (let r = 0; r < rows; r++) {
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

/** d loss / d logits = rowGrad · (softmax − onehot(target)); ignored rows give 0. */
export function crossEntropyBackward(
  logits: usize,
  targets: usize,
  rowGrad: usize,
  out: usize,
  rows: i32,
  cols: i32,
  ignoreIndex: i32,
): void {
  for (let r = 0; r < rows; r++) {
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
