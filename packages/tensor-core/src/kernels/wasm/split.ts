/**
 * Row kernels (norms, softmax, cross-entropy, elementwise, rope) split over
 * the worker threads. Each kernel takes a range and computes every element of it by
 * the same code whatever the range, so the split gives the bits of one thread.
 */
import { splitRange } from './matmul';
import type { ParallelKernel } from './module';
import type { WasmRuntime } from './runtime';

/** A kernel's arguments with its range at `rangeIndex` (and workspace, if any). */
export interface SplitJob {
  args: number[];
  rangeIndex: number;
  /** Units to split (rows, or elements), and the multiple inner boundaries fall on. */
  total: number;
  step?: number;
  /** Estimated cost (elements touched); below `minCost` the kernel runs on one thread. */
  cost: number;
  minCost: number;
  /** The range arguments of units [lo, hi) (default [lo, hi]). */
  range?: (lo: number, hi: number) => number[];
  /** Workspace argument index and bytes per thread, for kernels that take one. */
  workIndex?: number;
  workBytes?: number;
}

/**
 * Runs kernel `name` over the whole of `job.total`: in a few chunks per thread when the
 * job is large enough to pay for handing chunks to the workers, else in one call.
 */
export function runSplit(rt: WasmRuntime, name: ParallelKernel, job: SplitJob): void {
  const { args, rangeIndex, total, step = 1, cost, minCost, workIndex, workBytes = 0 } = job;
  const range = job.range ?? ((lo: number, hi: number) => [lo, hi]);
  const fn = rt.ex[name] as unknown as (...v: number[]) => void;
  const threads = rt.threads;
  if (!rt.pool || threads === 1 || cost < minCost || total < 2 * step) {
    const a = [...args];
    const r = range(0, total);
    for (let i = 0; i < r.length; i++) a[rangeIndex + i] = r[i]!;
    if (workIndex !== undefined) a[workIndex] = rt.alloc(workBytes);
    fn(...a);
    return;
  }
  // One chunk per thread (finer chunks cost more than they balanced in measurements),
  // two for large jobs, so that a worker the OS delays holds less of the work.
  const parts = cost >= 16 * minCost ? 2 * threads : threads;
  const chunks = splitRange(total, parts, step).map(([lo, hi]) => range(lo, hi));
  const work =
    workIndex === undefined
      ? undefined
      : Array.from({ length: threads }, () => rt.alloc(workBytes));
  rt.pool.run(name, { args, rangeIndex, chunks, workIndex, work }, (a) => fn(...a));
}
