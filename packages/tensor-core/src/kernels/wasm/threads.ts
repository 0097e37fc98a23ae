/**
 * Worker threads (worker_threads in Node, Web Workers in browsers) that run kernel
 * slices over one shared WebAssembly.Memory. Each worker has a mailbox in the
 * memory's reserved low region: a sequence number it waits on, a done number it
 * sets, the kernel index and its arguments. The caller runs its own slice, then
 * spins until every worker is done (browsers forbid Atomics.wait on the main thread,
 * and the slices take about equally long).
 */
import { PARALLEL_KERNELS, type ParallelKernel } from './module';

/** Byte offset of the mailboxes, inside the region the kernels never touch. */
const MAILBOX_BASE = 4096;
/** Bytes per mailbox: 8 int32 of control, then up to 28 float64 arguments. */
const MAILBOX_BYTES = 256;
const ARGS_OFFSET = 32;
const MAX_ARGS = (MAILBOX_BYTES - ARGS_OFFSET) / 8;
/** Most workers the reserved region can hold. */
export const MAX_WORKERS = Math.floor((65536 - MAILBOX_BASE) / MAILBOX_BYTES);

// Mailbox int32 slots.
const SEQ = 0;
const DONE = 1;
const KERNEL = 2;
const NARGS = 3;
const FAILED = 4;

// How long an idle worker polls before sleeping: kernels arrive in quick succession
// during training, and waking a sleeping thread costs tens of microseconds.
const SPIN_ITERATIONS = 20000;

/** The worker's whole program; plain JS so that it runs from a string in either host. */
const WORKER_SOURCE = `
'use strict';
function start(init, post) {
  const { module, memory, names, box } = init;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const fns = names.map((n) => instance.exports[n]);
  const i32 = new Int32Array(memory.buffer);
  const f64 = new Float64Array(memory.buffer);
  const c = box >> 2;
  const argBase = (box + ${ARGS_OFFSET}) >> 3;
  post('ready');
  let seen = Atomics.load(i32, c + ${SEQ});
  for (;;) {
    let spins = 0;
    while (Atomics.load(i32, c + ${SEQ}) === seen) {
      if (++spins > ${SPIN_ITERATIONS}) Atomics.wait(i32, c + ${SEQ}, seen);
    }
    seen = Atomics.load(i32, c + ${SEQ});
    if (seen < 0) return;
    const fn = fns[i32[c + ${KERNEL}]];
    const n = i32[c + ${NARGS}];
    const args = new Array(n);
    for (let i = 0; i < n; i++) args[i] = f64[argBase + i];
    try {
      fn(...args);
      i32[c + ${FAILED}] = 0;
    } catch (e) {
      i32[c + ${FAILED}] = 1;
    }
    Atomics.store(i32, c + ${DONE}, seen);
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
  return typeof Worker !== 'undefined' && (globalThis as { crossOriginIsolated?: boolean })
    .crossOriginIsolated === true;
}

/** Logical cores of this host. */
export async function hostCores(): Promise<number> {
  if (isNode()) {
    const os = await importNode<{ availableParallelism?: () => number; cpus(): unknown[] }>(
      'node:os',
    );
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency ?? 1;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

// Through a variable so that browser bundlers do not try to resolve Node built-ins.
function importNode<T>(name: string): Promise<T> {
  return import(/* @vite-ignore */ name) as Promise<T>;
}

async function spawn(): Promise<
  WorkerHandle & { onReady(cb: (err?: unknown) => void): void }
> {
  if (isNode()) {
    const { Worker } = await importNode<typeof import('node:worker_threads')>(
      'node:worker_threads',
    );
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

export class ThreadPool {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private seq = 0;
  private disposed = false;

  private constructor(
    private readonly workers: WorkerHandle[],
    memory: WebAssembly.Memory,
  ) {
    this.i32 = new Int32Array(memory.buffer, 0, 65536 / 4);
    this.f64 = new Float64Array(memory.buffer, 0, 65536 / 8);
  }

  /** Starts `count` workers over `memory` (which must be shared). */
  static async create(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    count: number,
  ): Promise<ThreadPool> {
    if (count > MAX_WORKERS) throw new Error(`wasm threads: at most ${MAX_WORKERS} workers`);
    const workers = await Promise.all(
      Array.from({ length: count }, async (_, w) => {
        const worker = await spawn();
        await new Promise<void>((resolve, reject) => {
          worker.onReady((err) => (err ? reject(err) : resolve()));
          worker.postMessage({
            module,
            memory,
            names: PARALLEL_KERNELS,
            box: MAILBOX_BASE + w * MAILBOX_BYTES,
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
   * Runs kernel `name` once per argument list: the first on the calling thread (via
   * `local`), the others on workers; returns when all are done.
   */
  run(name: ParallelKernel, argLists: number[][], local: (args: number[]) => void): void {
    const kernel = PARALLEL_KERNELS.indexOf(name);
    const used = argLists.length - 1;
    if (used > this.size) throw new Error(`wasm threads: ${used} slices for ${this.size} workers`);
    const seq = ++this.seq;
    for (let w = 0; w < used; w++) {
      const args = argLists[w + 1]!;
      if (args.length > MAX_ARGS) throw new Error(`wasm threads: ${args.length} arguments`);
      const c = (MAILBOX_BASE + w * MAILBOX_BYTES) >> 2;
      const argBase = (MAILBOX_BASE + w * MAILBOX_BYTES + ARGS_OFFSET) >> 3;
      for (let i = 0; i < args.length; i++) this.f64[argBase + i] = args[i]!;
      this.i32[c + KERNEL] = kernel;
      this.i32[c + NARGS] = args.length;
      Atomics.store(this.i32, c + SEQ, seq);
      Atomics.notify(this.i32, c + SEQ, 1);
    }
    let error: unknown = null;
    try {
      local(argLists[0]!);
    } catch (e) {
      error = e;
    }
    let failed = false;
    for (let w = 0; w < used; w++) {
      const c = (MAILBOX_BASE + w * MAILBOX_BYTES) >> 2;
      while (Atomics.load(this.i32, c + DONE) !== seq) {
        // Spin: the workers' slices are as long as ours.
      }
      if (this.i32[c + FAILED]) failed = true;
    }
    if (error) throw error;
    if (failed) throw new Error(`wasm threads: kernel '${name}' failed in a worker`);
  }

  /** Stops the workers; later `run` calls must not be made. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (let w = 0; w < this.workers.length; w++) {
      const c = (MAILBOX_BASE + w * MAILBOX_BYTES) >> 2;
      Atomics.store(this.i32, c + SEQ, -1);
      Atomics.notify(this.i32, c + SEQ, 1);
      this.workers[w]!.terminate();
    }
  }
}
