import type { ReduceOp } from '../backend';
import { bufferPool } from '../buffer-pool';

export function reduce(
  op: ReduceOp,
  a: Float32Array,
  outer: number,
  len: number,
  inner: number,
): Float32Array {
  const out = bufferPool.acquire(outer * inner);
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    for (let i = 0; i < inner; i++) {
      let acc = op === 'sum' ? 0 : a[base + i]!;
      if (op === 'sum') {
        // Pairs of partial sums keep float32 rounding error lower on long rows.
        let acc2 = 0;
        let j = 0;
        for (; j + 1 < len; j += 2) {
          acc += a[base + j * inner + i]!;
          acc2 += a[base + (j + 1) * inner + i]!;
        }
        if (j < len) acc += a[base + j * inner + i]!;
        acc += acc2;
      } else if (op === 'max') {
        for (let j = 1; j < len; j++) {
          const x = a[base + j * inner + i]!;
          if (x > acc || Number.isNaN(x)) acc = x;
        }
      } else {
        for (let j = 1; j < len; j++) {
          const x = a[base + j * inner + i]!;
          if (x < acc || Number.isNaN(x)) acc = x;
        }
      }
      out[o * inner + i] = acc;
    }
  }
  return out;
}

/** Index of the first maximum along the middle axis. */
export function argmax(a: Float32Array, outer: number, len: number, inner: number): Float32Array {
  const out = bufferPool.acquire(outer * inner);
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    for (let i = 0; i < inner; i++) {
      let best = a[base + i]!;
      let arg = 0;
      for (let j = 1; j < len; j++) {
        const x = a[base + j * inner + i]!;
        if (x > best) {
          best = x;
          arg = j;
        }
      }
      out[o * inner + i] = arg;
    }
  }
  return out;
}

/** Row softmax with the maximum subtracted first, so large logits do not overflow. */
export function softmax(a: Float32Array, rows: number, cols: number, log: boolean): Float32Array {
  const out = bufferPool.acquire(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < cols; c++) if (a[base + c]! > max) max = a[base + c]!;
    if (max === Number.NEGATIVE_INFINITY) max = 0;
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const e = Math.exp(a[base + c]! - max);
      out[base + c] = e;
      sum += e;
    }
    if (log) {
      const lse = Math.log(sum);
      for (let c = 0; c < cols; c++) out[base + c] = a[base + c]! - max - lse;
    } else {
      const inv = 1 / sum;
      for (let c = 0; c < cols; c++) out[base + c]! *= inv;
    }
  }
  return out;
}
