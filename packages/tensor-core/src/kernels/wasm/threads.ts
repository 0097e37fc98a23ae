/**
 * Worker threads (worker_threads in Node, Web Workers in browsers) that share kernel
 * work over one shared WebAssembly.Memory. A job is a kernel, its arguments and a
 * table of chunks (argument ranges: rows, batch entries, heads); every thread, the
 * caller included, claims chunks one at a time until none is left. So a worker that
 * the OS does not schedule (a busy machine) costs nothing: the caller does its chunks.
 *
 * The job block lives in the memory's reserved low region. A claim is a
 * compare-exchange on one word holding (job tag << 12 | next chunk), so a worker
 * that wakes late for a finished job can never take a chunk of the next one.
 */
import { PARALLEL_KERNELS, type ParallelKernel } from './module';

/** Per-worker wake-up word, then its count of chunks run (int32s, 64 bytes apart). */
const WAKE_BASE = 4096;
const WAKE_STRIDE = 64;
/** The job block. */
const JOB = 8192;
const ARGS = JOB + 64;
const MAX_ARGS = 32;
const WORK = ARGS + MAX_ARGS * 8;
/** Most threads (workers + caller): WAKE region and work pointer table bound it. */
export const MAX_THREADS = 64;
const TABLE = WORK + MAX_THREADS * 8;
/** Chunk table capacity in int32 values (up to the end of the 64 KiB reserved region). */
const TABLE_CAPACITY = (65536 - TABLE) / 4;
export const MAX_CHUNKS = 4095;

// Job block int32 slots.
const CLAIM = 0;
const DONE = 1;
const KERNEL = 2;
const NARGS = 3;
const RANGE_INDEX = 4;
const RANGE_LEN = 5;
const NCHUNKS = 6;
const WORK_INDEX = 7;
const FAILED = 8;

// How long an idle worker polls before sleeping (a fraction of a millisecond): kernels
// arrive in quick succession during training and decoding, with the caller's copies in
// between, and waking a sleeping thread costs tens of microseconds — as much as a whole
// small product (256×64×172 ran no faster on two threads than on one with 10× fewer spins).
const SPIN_ITERATIONS = 200000;

/** The worker's whole program; plain JS so that it runs from a string in either host. */
const WORKER_SOURCE = `
'use strict';
function start(init, post) {
  const { module, memory, names, wake, thread } = init;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const fns = names.map((n) => instance.exports[n]);
  const i32 = new Int32Array(memory.buffer, 0, 16384);
  const f64 = new Float64Array(memory.buffer, 0, 8192);
  const S = wake >> 2;
  const J = ${JOB} >> 2;
  const A = ${ARGS} >> 3;
  const W = ${WORK} >> 3;
  const T = ${TABLE} >> 2;
  post('ready');
  let seen = Atomics.load(i32, S);
  for (;;) {
    let spins = 0;
    while (Atomics.load(i32, S) === seen) {
      if (++spins > ${SPIN_ITERATIONS}) Atomics.wait(i32, S, seen);
    }
    seen = Atomics.load(i32, S);
    if (seen < 0) return;
    const tag = seen & 0xfffff;
    for (;;) {
      const v = Atomics.load(i32, J + ${CLAIM});
      if (v >>> 12 !== tag) break;
      const idx = v & 0xfff;
      if (idx >= i32[J + ${NCHUNKS}]) break;
      if (Atomics.compareExchange(i32, J + ${CLAIM}, v, v + 1) !== v) continue;
      const n = i32[J + ${NARGS}];
      const ri = i32[J + ${RANGE_INDEX}];
      const rl = i32[J + ${RANGE_LEN}];
      const args = new Array(n);
      for (let i = 0; i < n; i++) args[i] = f64[A + i];
      for (let r = 0; r < rl; r++) args[ri + r] = i32[T + idx * rl + r];
      const wi = i32[J + ${WORK_INDEX}];
      if (wi >= 0) args[wi] = f64[W + thread];
      try {
        fns[i32[J + ${KERNEL}]](...args);
      } catch (e) {
        Atomics.store(i32, J + ${FAILED}, 1);
      }
      Atomics.add(i32, S + 1, 1);
      Atomics.add(i32, J + ${DONE}, 1);
      Atomics.notify(i32, J + ${DONE});
    }
  }
}
if (typeof require === 'function') {
  const { parentPort } = require('node:worker_threads');
  parentPort.once('message', (init) => start(init, (m) => parentPort.postMessage(m)));
} else {
  self.onmessage = (e) => start(e.data, (m) => self.postMessage(m));
}
`;

interface WorkerHandle {
  postMessage(msg: unknown): void;
  terminate(): unknown;
}

/** Whether this host can run worker threads over shared memory. */
export function threadsSupported(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  if (isNode()) return true;
  return (
    typeof Worker !== 'undefined' &&
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true
  );
}

/** Logical cores of this host. */
export async function hostCores(): Promise<number> {
  if (isNode()) {
    const os = await importNode<{ availableParallelism?: () => number; cpus(): unknown[] }>(
      'node:os',
    );
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return (
    (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
      ?.hardwareConcurrency ?? 1
  );
}

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

// Through a variable so that browser bundlers do not try to resolve Node built-ins.
function importNode<T>(name: string): Promise<T> {
  return import(/* @vite-ignore */ name) as Promise<T>;
}

async function spawn(): Promise<WorkerHandle & { onReady(cb: (err?: unknown) => void): void }> {
  if (isNode()) {
    const { Worker } =
      await importNode<typeof import('node:worker_threads')>('node:worker_threads');
    const w = new Worker(WORKER_SOURCE, { eval: true });
    // An idle pool must not keep the process alive.
    w.unref();
    return {
      postMessage: (m) => w.postMessage(m),
      terminate: () => w.terminate(),
      onReady: (cb) => {
        w.once('message', () => cb());
        w.once('error', (e) => cb(e));
      },
    };
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new Worker(url);
  URL.revokeObjectURL(url);
  return {
    postMessage: (m) => w.postMessage(m),
    terminate: () => w.terminate(),
    onReady: (cb) => {
      w.onmessage = () => cb();
      w.onerror = (e) => cb(e);
    },
  };
}

/**
 * A job: `args` with, per chunk, `chunks[c]` written from `rangeIndex` on and (where
 * the kernel takes one) this thread's workspace at `workIndex`.
 */
export interface Job {
  args: number[];
  rangeIndex: number;
  chunks: number[][];
  /** The workspace argument's index; absent for kernels without one. */
  workIndex?: number;
  /** One workspace pointer per thread (the caller's first), with `workIndex`. */
  work?: number[];
}

export class ThreadPool {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private seq = 0;
  private disposed = false;
  /** Whether Atomics.wait is allowed here (not on a browser's main thread). */
  private readonly canBlock: boolean;

  private constructor(
    private readonly workers: WorkerHandle[],
    memory: WebAssembly.Memory,
  ) {
    this.i32 = new Int32Array(memory.buffer, 0, 65536 / 4);
    this.f64 = new Float64Array(memory.buffer, 0, 65536 / 8);
    let canBlock = true;
    try {
      Atomics.wait(this.i32, JOB >> 2, -1, 0);
    } catch {
      canBlock = false;
    }
    this.canBlock = canBlock;
  }

  /** Starts `count` workers over `memory` (which must be shared). */
  static async create(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    count: number,
  ): Promise<ThreadPool> {
    if (count + 1 > MAX_THREADS) throw new Error(`wasm threads: at most ${MAX_THREADS} threads`);
    const workers = await Promise.all(
      Array.from({ length: count }, async (_, w) => {
        const worker = await spawn();
        await new Promise<void>((resolve, reject) => {
          worker.onReady((err) => (err ? reject(err) : resolve()));
          worker.postMessage({
            module,
            memory,
            names: PARALLEL_KERNELS,
            wake: WAKE_BASE + w * WAKE_STRIDE,
            thread: w + 1,
          });
        });
        return worker;
      }),
    );
    return new ThreadPool(workers, memory);
  }

  /** Workers, not counting the calling thread. */
  get size(): number {
    return this.disposed ? 0 : this.workers.length;
  }

  /**
   * Runs every chunk of `job` with kernel `name`, on the workers and on the calling
   * thread (through `local`); returns when all chunks are done.
   */
  run(name: ParallelKernel, job: Job, local: (args: number[]) => void): void {
    const { args, rangeIndex, chunks, workIndex = -1, work = [] } = job;
    const rangeLen = chunks[0]?.length ?? 0;
    if (args.length > MAX_ARGS || chunks.length > MAX_CHUNKS) {
      throw new Error(`wasm threads: ${args.length} arguments, ${chunks.length} chunks`);
    }
    if (
      chunks.length * rangeLen > TABLE_CAPACITY ||
      (workIndex >= 0 && work.length < this.size + 1)
    ) {
      throw new Error('wasm threads: job does not fit the job block');
    }
    const { i32, f64 } = this;
    const J = JOB >> 2;
    for (let i = 0; i < args.length; i++) f64[(ARGS >> 3) + i] = args[i]!;
    for (let t = 0; t < work.length; t++) f64[(WORK >> 3) + t] = work[t]!;
    for (let c = 0; c < chunks.length; c++) {
      for (let r = 0; r < rangeLen; r++) i32[(TABLE >> 2) + c * rangeLen + r] = chunks[c]![r]!;
    }
    i32[J + KERNEL] = PARALLEL_KERNELS.indexOf(name);
    i32[J + NARGS] = args.length;
    i32[J + RANGE_INDEX] = rangeIndex;
    i32[J + RANGE_LEN] = rangeLen;
    i32[J + NCHUNKS] = chunks.length;
    i32[J + WORK_INDEX] = workIndex;
    Atomics.store(i32, J + FAILED, 0);
    Atomics.store(i32, J + DONE, 0);
    const seq = ++this.seq;
    const tag = seq & 0xfffff;
    // Publishing the claim word makes the job (written above) visible to claimers.
    Atomics.store(i32, J + CLAIM, tag << 12);
    for (let w = 0; w < this.workers.length; w++) {
      const s = (WAKE_BASE + w * WAKE_STRIDE) >> 2;
      Atomics.store(i32, s, seq);
      Atomics.notify(i32, s, 1);
    }
    let error: unknown = null;
    const mine = [...args];
    if (workIndex >= 0) mine[workIndex] = work[0]!;
    for (;;) {
      const v = Atomics.load(i32, J + CLAIM);
      const idx = v & 0xfff;
      if (idx >= chunks.length) break;
      if (Atomics.compareExchange(i32, J + CLAIM, v, v + 1) !== v) continue;
      const range = chunks[idx]!;
      for (let r = 0; r < rangeLen; r++) mine[rangeIndex + r] = range[r]!;
      try {
        local(mine);
      } catch (e) {
        error ??= e;
      }
      Atomics.add(i32, J + DONE, 1);
    }
    // Only chunks already claimed by workers are left: spin briefly, then (where this
    // thread may block) sleep, so that a worker the OS has preempted can use this core.
    let spins = 0;
    for (;;) {
      const done = Atomics.load(i32, J + DONE);
      if (done >= chunks.length) break;
      if (++spins > SPIN_ITERATIONS && this.canBlock) Atomics.wait(i32, J + DONE, done, 1);
    }
    if (error) throw error;
    if (Atomics.load(i32, J + FAILED)) {
      throw new Error(`wasm threads: kernel '${name}' failed in a worker`);
    }
  }

  /** Chunks the workers (not the caller) have run so far. */
  workerChunks(): number {
    let n = 0;
    for (let w = 0; w < this.workers.length; w++) {
      n += Atomics.load(this.i32, ((WAKE_BASE + w * WAKE_STRIDE) >> 2) + 1);
    }
    return n;
  }

  /** Stops the workers; `run` must not be called afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (let w = 0; w < this.workers.length; w++) {
      const s = (WAKE_BASE + w * WAKE_STRIDE) >> 2;
      Atomics.store(this.i32, s, -1);
      Atomics.notify(this.i32, s, 1);
      this.workers[w]!.terminate();
    }
  }
}
