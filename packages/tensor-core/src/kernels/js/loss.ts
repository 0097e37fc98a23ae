import { bufferPool } from '../buffer-pool';

export function crossEntropy(
  logits: Float32Array,
  targets: Int32Array,
  rows: number,
  cols: number,
  ignoreIndex: number,
): Float32Array {
  const out = bufferPool.acquire(rows);
  for (let r = 0; r < rows; r++) {
    const t = targets[r]!;
    if (t === ignoreIndex) {
      out[r] = 0;
      continue;
    }
    const base = r * cols;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < cols; c++) if (logits[base + c]! > max) max = logits[base + c]!;
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp(logits[base + c]! - max);
    out[r] = max + Math.log(sum) - logits[base + t]!;
  }
  return out;
}

export function crossEntropyBackward(
  logits: Float32Array,
  targets: Int32Array,
  rows: number,
  cols: number,
  ignoreIndex: number,
  rowGrad: Float32Array,
): Float32Array {
  const out = bufferPool.acquire(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const t = targets[r]!;
    const g = rowGrad[r]!;
    if (t === ignoreIndex || g === 0) {
      out.fill(0, base, base + cols);
      continue;
    }
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < cols; c++) if (logits[base + c]! > max) max = logits[base + c]!;
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const e = Math.exp(logits[base + c]! - max);
      out[base + c] = e;
      sum += e;
    }
    const inv = g / sum;
    for (let c = 0; c < cols; c++) out[base + c]! *= inv;
    out[base + t]! -= g;
  }
  return out;
}
