import type { MatmulParams } from '../backend';
import { bufferPool } from '../buffer-pool';
import type { WasmRuntime } from './runtime';

/**
 * Below this many flops a product runs on one thread: 2 Mflop is ~60 µs at ~35
 * GFLOP/s, against tens of µs to wake a sleeping worker and re-pack B per chunk.
 * (bench/wasm.bench.ts: with both cores free, 256×64×64 — 2.1 Mflop — ran at up to
 * 1.4× one thread, 256³ at 1.7×.)
 */
export const PARALLEL_MIN_FLOPS = 2e6;
/**
 * Flops per chunk a product is cut into (between 1 and 8 chunks per thread): each
 * chunk re-packs its share of B, but smaller chunks bound how long the caller waits
 * for a worker that the OS preempted in the middle of one.
 */
const CHUNK_FLOPS = 4e6;
/** Rows of the micro-kernel: row chunks start on multiples of it. */
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
  const out = bufferPool.acquire(p.batch * p.m * p.n);
  if (out.length === 0) return out;
  rt.reset();
  const pa = rt.put(a);
  const pb = rt.put(b);
  const pc = rt.alloc(out.length * 4);
  matmulAt(rt, pa, pb, pc, p);
  return rt.read(pc, out);
}

/**
 * The product over operands already in the memory (byte offsets), split over the
 * threads when it is large enough. Lays out its workspace in the arena.
 */
export function matmulAt(
  rt: WasmRuntime,
  pa: number,
  pb: number,
  pc: number,
  p: MatmulParams,
): void {
  const { batch, m, k, n, transA, transB, aBatchStride, bBatchStride } = p;
  const flops = 2 * batch * m * n * k;
  const threads = flops >= PARALLEL_MIN_FLOPS ? rt.threads : 1;
  const tA = transA ? 1 : 0;
  const tB = transB ? 1 : 0;
  const wsBytes = rt.ex.gemmWorkspaceBytes();
  if (threads === 1 || !rt.pool) {
    // The common small case: a direct call, no argument lists.
    const ws = rt.alloc(wsBytes);
    rt.ex.matmul(pa, pb, pc, m, k, n, tA, tB, aBatchStride, bBatchStride, 0, batch, 0, m, 0, n, ws);
    return;
  }
  // Chunks of the batch when there are enough entries, else of the longer output axis;
  // a few per thread, so that a thread the OS delays leaves its share to the others.
  const parts = Math.max(threads, Math.min(8 * threads, Math.floor(flops / CHUNK_FLOPS)));
  let chunks: number[][];
  if (batch >= 2 * threads) {
    chunks = splitRange(batch, parts, 1).map(([lo, hi]) => [lo, hi, 0, m, 0, n]);
  } else if (n > m) {
    chunks = splitRange(n, parts, NR).map(([lo, hi]) => [0, batch, 0, m, lo, hi]);
  } else {
    chunks = splitRange(m, parts, MR).map(([lo, hi]) => [0, batch, lo, hi, 0, n]);
  }
  const args = [pa, pb, pc, m, k, n, tA, tB, aBatchStride, bBatchStride, 0, 0, 0, 0, 0, 0, 0];
  const work = Array.from({ length: rt.threads }, () => rt.alloc(wsBytes));
  rt.pool.run('matmul', { args, rangeIndex: 10, chunks, workIndex: 16, work }, (x) =>
    (rt.ex.matmul as (...v: number[]) => void)(...x),
  );
}
