import type { BinaryOp, UnaryOp } from '../backend';
import { bufferPool } from '../buffer-pool';
import * as js from '../js/elementwise';
import type { WasmRuntime } from './runtime';
import { runSplit } from './split';

/** Op codes of wasm/elementwise.ts; ops missing here run on the js backend. */
const UNARY_CODES: Partial<Record<UnaryOp, number>> = {
  neg: 0,
  exp: 1,
  sqrt: 2,
  rsqrt: 3,
  abs: 4,
  sigmoid: 5,
  silu: 6,
  gelu: 7,
  tanh: 8,
  relu: 9,
  square: 10,
  sign: 11,
  reciprocal: 12,
  siluGrad: 13,
  geluGrad: 14,
  step: 15,
  log: 16,
};

const BINARY_CODES: Partial<Record<BinaryOp, number>> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  maximum: 4,
  minimum: 5,
  greater: 6,
  less: 7,
  equal: 8,
};

/**
 * Below this many elements the copy in and out and the call cost more than a JS loop.
 * Ops whose JS loop is a plain `a + b` are only worth it when the wasm side saves
 * a per-element function call, so they have their own, higher threshold.
 */
const MIN_ELEMENTS = 256;

/**
 * Below this many elements an elementwise kernel runs on one thread. Measured with the
 * copies in and out (idle 2-core machine): ops with an exponential gain from 2^14
 * (exp 24 → 17 µs; 98 → 62 at 2^16). Binary ops are as memory-bound as the copies
 * around them: in the stories260K training step (2^17–2^19 elements, fresh operands)
 * splitting them cost more than it saved (binary 13–16 → 18–22 ms per step on 2
 * threads), so they are split only from 2^20 elements (4 MiB per operand, 1 Mi adds
 * 1.16 → 1.01 ms). One-instruction unary ops (neg, abs, relu, …) gained nothing up
 * to 2^20 and stay on one thread. Chunk boundaries fall on multiples of 16 elements
 * (64 bytes): each thread writes its own cache lines.
 */
export const BINARY_PARALLEL_MIN_ELEMENTS = 1 << 20;
export const UNARY_PARALLEL_MIN_ELEMENTS = 1 << 14;
/** Unary ops worth splitting: an exponential, logarithm or tanh per element. */
const TRANSCENDENTAL = new Set<UnaryOp>([
  'exp',
  'log',
  'sigmoid',
  'silu',
  'gelu',
  'tanh',
  'siluGrad',
  'geluGrad',
]);
const STEP = 16;

export function wasmUnary(rt: WasmRuntime, op: UnaryOp, a: Float32Array): Float32Array {
  const code = UNARY_CODES[op];
  if (code === undefined || a.length < MIN_ELEMENTS) return js.unary(op, a);
  rt.reset();
  const p = rt.put(a);
  runSplit(rt, 'unary', {
    args: [code, p, p, 0, 0],
    rangeIndex: 3,
    total: a.length,
    step: STEP,
    cost: a.length,
    minCost: TRANSCENDENTAL.has(op) ? UNARY_PARALLEL_MIN_ELEMENTS : Number.POSITIVE_INFINITY,
  });
  return rt.read(p, bufferPool.acquire(a.length));
}

export function wasmBinary(
  rt: WasmRuntime,
  op: BinaryOp,
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  outShape: readonly number[],
): Float32Array {
  const code = BINARY_CODES[op];
  let total = 1;
  for (const d of outShape) total *= d;
  if (code === undefined || total < MIN_ELEMENTS) {
    return js.binary(op, a, aShape, b, bShape, outShape);
  }
  // out as rows × cols; each operand is full (row stride cols, column stride 1),
  // repeated along leading axes (row stride 0) or a scalar (both 0).
  let rows = 1;
  let cols = total;
  let aRow = 0;
  let aCol = 1;
  let bRow = 0;
  let bCol = 1;
  if (a.length === total && b.length === total) {
    // Same shape: one row.
  } else if (a.length === total && b.length === 1) {
    bCol = 0;
  } else if (a.length === 1 && b.length === total) {
    aCol = 0;
  } else if (a.length === total && isTrailing(bShape, outShape)) {
    cols = b.length;
    rows = total / cols;
    aRow = cols;
  } else if (b.length === total && isTrailing(aShape, outShape)) {
    cols = a.length;
    rows = total / cols;
    bRow = cols;
  } else {
    return js.binary(op, a, aShape, b, bShape, outShape);
  }
  rt.reset();
  const pa = rt.put(a);
  const pb = rt.put(b);
  const po = rt.alloc(total * 4);
  // One row is split by columns, several by rows.
  runSplit(rt, 'binary', {
    args: [code, pa, aRow, aCol, pb, bRow, bCol, po, cols, 0, 0, 0, 0],
    rangeIndex: 9,
    total: rows === 1 ? cols : rows,
    step: rows === 1 ? STEP : 1,
    cost: total,
    minCost: BINARY_PARALLEL_MIN_ELEMENTS,
    range: rows === 1 ? (lo, hi) => [0, 1, lo, hi] : (lo, hi) => [lo, hi, 0, cols],
  });
  return rt.read(po, bufferPool.acquire(total));
}

/** True when `shape` equals the trailing dims of `outShape` (after dropping leading 1s). */
function isTrailing(shape: readonly number[], outShape: readonly number[]): boolean {
  let i = 0;
  while (i < shape.length && shape[i] === 1) i++;
  const tail = shape.slice(i);
  if (tail.length > outShape.length) return false;
  const outTail = outShape.slice(outShape.length - tail.length);
  return tail.every((d, k) => d === outTail[k]);
}
