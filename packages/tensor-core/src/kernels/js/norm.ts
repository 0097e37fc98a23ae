import { bufferPool } from '../buffer-pool';

/** y = x / sqrt(mean(x²) + eps) · w, per row. */
export function rmsNorm(
  x: Float32Array,
  w: Float32Array,
  rows: number,
  cols: number,
  eps: number,
): Float32Array {
  const out = bufferPool.acquire(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += x[base + c]! * x[base + c]!;
    const inv = 1 / Math.sqrt(ss / cols + eps);
    for (let c = 0; c < cols; c++) out[base + c] = x[base + c]! * inv * w[c]!;
  }
  return out;
}

export function rmsNormBackward(
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  rows: number,
  cols: number,
  eps: number,
): [Float32Array, Float32Array] {
  const dx = bufferPool.acquire(rows * cols);
  const dw = bufferPool.acquireZeroed(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += x[base + c]! * x[base + c]!;
    const inv = 1 / Math.sqrt(ss / cols + eps);
    // With x̂ = x·inv and g = dy·w: dx = inv · (g − x̂ · mean(g · x̂)).
    let dot = 0;
    for (let c = 0; c < cols; c++) {
      const xhat = x[base + c]! * inv;
      const g = dy[base + c]! * w[c]!;
      dot += g * xhat;
      dw[c]! += dy[base + c]! * xhat;
    }
    dot /= cols;
    for (let c = 0; c < cols; c++) {
      const xhat = x[base + c]! * inv;
      dx[base + c] = inv * (dy[base + c]! * w[c]! - xhat * dot);
    }
  }
  return [dx, dw];
}
