import type { ReduceOp, RopeParams } from '../backend';
import { bufferPool } from '../buffer-pool';
import * as jsMove from '../js/movement';
import * as jsReduce from '../js/reduce';
import type { WasmRuntime } from './runtime';
import { runSplit } from './split';

/** Below this many elements the js loops win (no copies, no call). */
const MIN_ELEMENTS = 256;
/**
 * Below this many elements a rotation runs on one thread (copy in and out included,
 * 2^16 elements took 58 µs on one thread, 50 on two). Permutations stay on one thread:
 * they are as memory-bound as the copies around them, and two threads gained nothing.
 */
export const ROPE_PARALLEL_MIN_ELEMENTS = 1 << 15;

/** Whether the axes longer than 1 stay in the same order, so memory order is unchanged. */
function keepsOrder(shape: readonly number[], perm: readonly number[]): boolean {
  let last = -1;
  for (const p of perm) {
    if (shape[p] === 1) continue;
    if (p < last) return false;
    last = p;
  }
  return true;
}

export function wasmPermute(
  rt: WasmRuntime,
  a: Float32Array,
  shape: readonly number[],
  perm: readonly number[],
): Float32Array {
  const n = shape.length;
  if (keepsOrder(shape, perm)) {
    // Only axes of length 1 move (a head split while decoding one token): a copy.
    const out = bufferPool.acquire(a.length);
    out.set(a);
    return out;
  }
  if (n === 0 || a.length < MIN_ELEMENTS) return jsMove.permute(a, shape, perm);
  const inStrides = new Array<number>(n);
  let acc = 1;
  for (let i = n - 1; i >= 0; i--) {
    inStrides[i] = acc;
    acc *= shape[i]!;
  }
  rt.reset();
  const pa = rt.put(a);
  const po = rt.alloc(a.length * 4);
  const pShape = rt.putInt(Int32Array.from(perm, (p) => shape[p]!));
  const pStrides = rt.putInt(Int32Array.from(perm, (p) => inStrides[p]!));
  const pIndex = rt.alloc(n * 4);
  rt.ex.permute(pa, po, n, pShape, pStrides, pIndex);
  return rt.read(po, bufferPool.acquire(a.length));
}

export function wasmRope(rt: WasmRuntime, x: Float32Array, p: RopeParams): Float32Array {
  const { rows, seq, dim, offset, positions, invFreq, inverse } = p;
  const half = dim / 2;
  rt.reset();
  const px = rt.put(x);
  const pc = rt.alloc(seq * half * 4);
  const ps = rt.alloc(seq * half * 4);
  const f32 = rt.f32;
  for (let t = 0; t < seq; t++) {
    const pos = positions ? positions[t]! : offset + t;
    for (let i = 0; i < half; i++) {
      // float32 angle, as the reference (and the js backend) computes it.
      const angle = Math.fround(pos * invFreq[i]!);
      f32[(pc >> 2) + t * half + i] = Math.cos(angle);
      f32[(ps >> 2) + t * half + i] = inverse ? -Math.sin(angle) : Math.sin(angle);
    }
  }
  runSplit(rt, 'rope', {
    args: [px, px, seq, dim, pc, ps, 0, 0],
    rangeIndex: 6,
    total: rows,
    cost: x.length,
    minCost: ROPE_PARALLEL_MIN_ELEMENTS,
  });
  return rt.read(px, bufferPool.acquire(x.length));
}

const REDUCE_CODES: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };

export function wasmReduce(
  rt: WasmRuntime,
  op: ReduceOp,
  a: Float32Array,
  outer: number,
  len: number,
  inner: number,
): Float32Array {
  if (a.length < MIN_ELEMENTS || len === 0) return jsReduce.reduce(op, a, outer, len, inner);
  rt.reset();
  const pa = rt.put(a);
  const po = rt.alloc(outer * inner * 4);
  rt.ex.reduce(REDUCE_CODES[op], pa, po, outer, len, inner);
  return rt.read(po, bufferPool.acquire(outer * inner));
}
