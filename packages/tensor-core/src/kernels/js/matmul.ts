import type { MatmulParams } from '../backend';
import { bufferPool } from '../buffer-pool';

/**
 * Plain-JS matmul: operands are first laid out as A (m×k) and Bᵀ (n×k) so the inner
 * loop is a contiguous dot product, whatever the requested transposes.
 */
export function matmul(a: Float32Array, b: Float32Array, p: MatmulParams): Float32Array {
  const { batch, m, k, n, transA, transB, aBatchStride, bBatchStride } = p;
  const out = bufferPool.acquire(batch * m * n);
  const aRows = transA ? new Float32Array(m * k) : null;
  const bCols = transB ? null : new Float32Array(n * k);
  let lastA = -1;
  let lastB = -1;
  for (let bi = 0; bi < batch; bi++) {
    const aOff = bi * aBatchStride;
    const bOff = bi * bBatchStride;
    let A: Float32Array;
    let aBase: number;
    if (aRows) {
      if (aOff !== lastA) transposeInto(a, aOff, k, m, aRows);
      A = aRows;
      aBase = 0;
    } else {
      A = a;
      aBase = aOff;
    }
    let Bt: Float32Array;
    let bBase: number;
    if (bCols) {
      if (bOff !== lastB) transposeInto(b, bOff, k, n, bCols);
      Bt = bCols;
      bBase = 0;
    } else {
      Bt = b;
      bBase = bOff;
    }
    lastA = aOff;
    lastB = bOff;
    const cOff = bi * m * n;
    for (let i = 0; i < m; i++) {
      const ai = aBase + i * k;
      for (let j = 0; j < n; j++) {
        const bj = bBase + j * k;
        let s = 0;
        let t = 0;
        // Four accumulators let the JIT overlap the multiply-adds.
        let s2 = 0;
        let s3 = 0;
        for (; t + 3 < k; t += 4) {
          s += A[ai + t]! * Bt[bj + t]!;
          s2 += A[ai + t + 1]! * Bt[bj + t + 1]!;
          s3 += A[ai + t + 2]! * Bt[bj + t + 2]!;
          s += A[ai + t + 3]! * Bt[bj + t + 3]!;
        }
        for (; t < k; t++) s += A[ai + t]! * Bt[bj + t]!;
        out[cOff + i * n + j] = s + s2 + s3;
      }
    }
  }
  return out;
}

/** dst (cols×rows) = transpose of src (rows×cols) starting at offset. */
function transposeInto(
  src: Float32Array,
  offset: number,
  rows: number,
  cols: number,
  dst: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const base = offset + r * cols;
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[base + c]!;
  }
}
