import { bufferPool } from '../buffer-pool';
import type { WasmRuntime } from './runtime';

export function wasmSoftmax(
  rt: WasmRuntime,
  a: Float32Array,
  rows: number,
  cols: number,
  log: boolean,
): Float32Array {
  rt.reset();
  const p = rt.put(a);
  rt.ex.softmax(p, p, rows, cols, log ? 1 : 0);
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
  rt.ex.rmsNorm(px, pw, px, rows, cols, eps);
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
  rt.ex.rmsNormBackward(pdy, px, pw, pdy, pdw, rows, cols, eps);
  return [rt.read(pdy, bufferPool.acquire(rows * cols)), rt.read(pdw, bufferPool.acquire(cols))];
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
  rt.ex.crossEntropy(pl, pt, po, rows, cols, ignoreIndex);
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
  rt.ex.crossEntropyBackward(pl, pt, pg, pl, rows, cols, ignoreIndex);
  return rt.read(pl, bufferPool.acquire(rows * cols));
}
