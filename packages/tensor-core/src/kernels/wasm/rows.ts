import { bufferPool } from '../buffer-pool';
import type { WasmRuntime } from './runtime';
import { runSplit } from './split';

/**
 * Below this many elements a row kernel runs on one thread. Measured with the copies in
 * and out (idle 2-core machine): at 2^14 elements two threads lost to or tied one
 * (rmsNorm 13 → 14 µs, its backward 24 → 31 µs); at 2^15 they won (rmsNorm 23 → 20 µs,
 * backward 73 → 55, cross-entropy gradient over 512 columns 67 → 43).
 */
export const ROWS_PARALLEL_MIN_ELEMENTS = 1 << 15;

export function wasmSoftmax(
  rt: WasmRuntime,
  a: Float32Array,
  rows: number,
  cols: number,
  log: boolean,
): Float32Array {
  rt.reset();
  const p = rt.put(a);
  runSplit(rt, 'softmax', {
    args: [p, p, cols, log ? 1 : 0, 0, 0],
    rangeIndex: 4,
    total: rows,
    cost: rows * cols,
    minCost: ROWS_PARALLEL_MIN_ELEMENTS,
  });
  return rt.read(p, bufferPool.acquire(rows * cols));
}

export function wasmRmsNorm(
  rt: WasmRuntime,
  x: Float32Array,
  w: Float32Array,
  rows: number,
  cols: number,
  eps: number,
): Float32Array {
  rt.reset();
  const px = rt.put(x);
  const pw = rt.put(w);
  runSplit(rt, 'rmsNormRows', {
    args: [px, pw, px, cols, eps, 0, 0],
    rangeIndex: 5,
    total: rows,
    cost: rows * cols,
    minCost: ROWS_PARALLEL_MIN_ELEMENTS,
  });
  return rt.read(px, bufferPool.acquire(rows * cols));
}

export function wasmRmsNormBackward(
  rt: WasmRuntime,
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  rows: number,
  cols: number,
  eps: number,
): [Float32Array, Float32Array] {
  rt.reset();
  const pdy = rt.put(dy);
  const px = rt.put(x);
  const pw = rt.put(w);
  const pdw = rt.alloc(cols * 4);
  if (!rt.pool || rows * cols < ROWS_PARALLEL_MIN_ELEMENTS || rows < 2) {
    // One pass, dx over dy.
    rt.ex.rmsNormBackward(pdy, px, pw, pdy, pdw, rows, cols, eps);
    return [rt.read(pdy, bufferPool.acquire(rows * cols)), rt.read(pdw, bufferPool.acquire(cols))];
  }
  // dx by rows (keeping each row's inv), then dw by columns with the rows summed in
  // the one-pass order: the same bits. One column block per thread, whole cache lines.
  const pdx = rt.alloc(rows * cols * 4);
  const pinv = rt.alloc(rows * 4);
  runSplit(rt, 'rmsNormBackwardRows', {
    args: [pdy, px, pw, pdx, pinv, cols, eps, 0, 0],
    rangeIndex: 7,
    total: rows,
    cost: rows * cols,
    minCost: ROWS_PARALLEL_MIN_ELEMENTS,
  });
  runSplit(rt, 'rmsNormBackwardDw', {
    args: [pdy, px, pinv, pdw, rows, cols, 0, 0],
    rangeIndex: 6,
    total: cols,
    step: 16,
    cost: 1,
    minCost: 1,
  });
  return [rt.read(pdx, bufferPool.acquire(rows * cols)), rt.read(pdw, bufferPool.acquire(cols))];
}

export function wasmCrossEntropy(
  rt: WasmRuntime,
  logits: Float32Array,
  targets: Int32Array,
  rows: number,
  cols: number,
  ignoreIndex: number,
): Float32Array {
  rt.reset();
  const pl = rt.put(logits);
  const pt = rt.putInt(targets);
  const po = rt.alloc(rows * 4);
  runSplit(rt, 'crossEntropy', {
    args: [pl, pt, po, cols, ignoreIndex, 0, 0],
    rangeIndex: 5,
    total: rows,
    cost: rows * cols,
    minCost: ROWS_PARALLEL_MIN_ELEMENTS,
  });
  return rt.read(po, bufferPool.acquire(rows));
}

export function wasmCrossEntropyBackward(
  rt: WasmRuntime,
  logits: Float32Array,
  targets: Int32Array,
  rows: number,
  cols: number,
  ignoreIndex: number,
  rowGrad: Float32Array,
): Float32Array {
  rt.reset();
  const pl = rt.put(logits);
  const pt = rt.putInt(targets);
  const pg = rt.put(rowGrad);
  runSplit(rt, 'crossEntropyBackward', {
    args: [pl, pt, pg, pl, cols, ignoreIndex, 0, 0],
    rangeIndex: 6,
    total: rows,
    cost: rows * cols,
    minCost: ROWS_PARALLEL_MIN_ELEMENTS,
  });
  return rt.read(pl, bufferPool.acquire(rows * cols));
}
