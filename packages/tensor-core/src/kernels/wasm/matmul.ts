import type { MatmulParams } from '../backend';
import { bufferPool } from '../buffer-pool';
import type { WasmRuntime } from './runtime';

/**
 * Below this many flops a product runs on one thread: waking a worker and the
 * split's packing overhead cost more than the halved arithmetic (measured in
 * bench/wasm.bench.ts, where 256×64×172 — 5.6 Mflop — still gains from two threads).
 */
export const PARALLEL_MIN_FLOPS = 2e6;
/** Rows of the micro-kernel: thread slices start on multiples of it. */
const MR = 4;
const NR = 8;

/** Splits [0, total) into `parts` contiguous ranges whose inner boundaries are multiples of `step`. */
export function splitRange(total: number, parts: number, step: number): [number, number][] {
  const units = Math.ceil(total / step);
  const n = Math.max(1, Math.min(parts, units));
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const lo = Math.min(total, Math.floor((units * i) / n) * step);
    const hi = i === n - 1 ? total : Math.min(total, Math.floor((units * (i + 1)) / n) * step);
    if (hi > lo) out.push([lo, hi]);
  }
  return out;
}

export function wasmMatmul(
  rt: WasmRuntime,
  a: Float32Array,
  b: Float32Array,
  p: MatmulParams,
): Float32Array {
  const { batch, m, k, n, transA, transB, aBatchStride, bBatchStride } = p;
  const out = bufferPool.acquire(batch * m * n);
  if (out.length === 0) return out;
  rt.reset();
  const pa = rt.put(a);
  const pb = rt.put(b);
  const pc = rt.alloc(out.length * 4);
  const flops = 2 * batch * m * n * k;
  const threads = flops >= PARALLEL_MIN_FLOPS ? rt.threads : 1;
  // Slices of the batch when there are enough entries, else of the longer output axis.
  let slices: [number, number, number, number, number, number][];
  if (threads === 1) {
    slices = [[0, batch, 0, m, 0, n]];
  } else if (batch >= 2 * threads) {
    slices = splitRange(batch, threads, 1).map(([lo, hi]) => [lo, hi, 0, m, 0, n]);
  } else if (batch === 1 && n > m) {
    slices = splitRange(n, threads, NR).map(([lo, hi]) => [0, 1, 0, m, lo, hi]);
  } else {
    // Rows of every batch entry, split the same way.
    slices = splitRange(m, threads, MR).map(([lo, hi]) => [0, batch, lo, hi, 0, n]);
  }
  const wsBytes = rt.ex.gemmWorkspaceBytes();
  const args = slices.map(([b0, b1, r0, r1, c0, c1]) => [
    pa,
    pb,
    pc,
    m,
    k,
    n,
    transA ? 1 : 0,
    transB ? 1 : 0,
    aBatchStride,
    bBatchStride,
    b0,
    b1,
    r0,
    r1,
    c0,
    c1,
    rt.alloc(wsBytes),
  ]);
  const local = (x: number[]) => (rt.ex.matmul as (...v: number[]) => void)(...x);
  if (args.length === 1 || !rt.pool) local(args[0]!);
  else rt.pool.run('matmul', args, local);
  return rt.read(pc, out);
}
