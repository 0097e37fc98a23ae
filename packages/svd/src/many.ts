import { NonFiniteInputError, SvdConvergenceError } from './errors';
import type { MatrixLike } from './matrix';
import { type SvdOptions, type SvdResult, svd } from './svd';
import type { WorkerError, WorkerJob, WorkerReply } from './svd-worker';

/** One matrix of {@link svdMany}: the matrix and the {@link svd} options it is decomposed with. */
export interface SvdJob extends SvdOptions {
  matrix: MatrixLike;
}

export interface SvdManyOptions {
  /**
   * Worker threads (Node). Default: `T2_SVD_THREADS` from the environment, else the host's
   * cores, at most 8, when the batch is large enough to repay starting them (see
   * {@link svdEach}). With 1, one matrix, or no `worker_threads` (browsers) the matrices are
   * decomposed one after another on the calling thread.
   */
  threads?: number;
}

/** Worker threads started so far in this thread (read by the tests). */
export const poolStats = { workersStarted: 0 };

/** Most worker threads chosen by default (each holds one matrix's working set). */
const DEFAULT_MAX_THREADS = 8;

function checkThreads(value: number, from: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`svdMany: ${from} must be an integer ≥ 1, got ${value}`);
  }
  return value;
}

const isNode = (): boolean =>
  typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * Below this much work (Σ m·n·min(m, n), about 0.1 s on one core) the default thread count is
 * 1: starting workers would cost more than they save (tiny models, tests).
 */
const MIN_PARALLEL_WORK = 2 ** 27;

/** The shape as given (svd checks it). */
function shapeOf(matrix: MatrixLike): number[] {
  return 'shape' in matrix && matrix.shape !== undefined
    ? [...matrix.shape]
    : [(matrix as { rows: number }).rows, (matrix as { cols: number }).cols];
}

/** Σ m·n·min(m, n) of the jobs: the SVDs' cost up to a constant. */
function work(jobs: readonly SvdJob[]): number {
  let total = 0;
  for (const { matrix } of jobs) {
    const [m = 0, n = 0] = shapeOf(matrix);
    total += m * n * Math.min(m, n);
  }
  return total;
}

/**
 * The thread count: the option, else `T2_SVD_THREADS`, else the host's cores ≤ 8 (1 for a
 * batch below {@link MIN_PARALLEL_WORK} or outside Node).
 */
async function threadCount(option: number | undefined, jobs: readonly SvdJob[]): Promise<number> {
  if (option !== undefined) return checkThreads(option, 'threads');
  if (!isNode()) return 1;
  const env = process.env.T2_SVD_THREADS;
  if (env !== undefined && env.trim() !== '') {
    return checkThreads(Number(env), `T2_SVD_THREADS (${JSON.stringify(env)})`);
  }
  if (!(work(jobs) >= MIN_PARALLEL_WORK)) return 1;
  const os = await import('node:os');
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  return Math.max(1, Math.min(DEFAULT_MAX_THREADS, cores));
}

/**
 * Where the worker script is: next to this module, with this module's extension (`.js` in the
 * ESM build, `.cjs` in the CommonJS build where tsup's shim supplies `import.meta.url`, `.ts`
 * when the sources run under vitest).
 */
function workerScript(): URL {
  const here = import.meta.url;
  const ext = /\.(c?js|mjs|ts)$/.exec(new URL(here).pathname)?.[1] ?? 'js';
  return new URL(`./svd-worker.${ext}`, here);
}

type WorkerClass = typeof import('node:worker_threads').Worker;

/**
 * Starts one worker on the built script, or, when these are the TypeScript sources (tests),
 * on the `.ts` script compiled by tsx's require hook (a dev dependency of the repository).
 */
async function workerStarter(): Promise<(W: WorkerClass) => InstanceType<WorkerClass>> {
  const script = workerScript();
  if (!script.pathname.endsWith('.ts')) return (W) => new W(script);
  const { createRequire } = await import('node:module');
  const { fileURLToPath } = await import('node:url');
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const code = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(fileURLToPath(script))});`;
  // No inherited execArgv: `--input-type=module` would make the snippet ESM.
  return (W) => new W(code, { eval: true, execArgv: [] });
}

/** The error a worker reported, rebuilt with its class so `instanceof` still works. */
function rebuildError(e: WorkerError, jobName: string): Error {
  if (e.kind === 'NonFiniteInputError') {
    const [name, row, col, value, rows, cols] = e.args as [
      string,
      number,
      number,
      number,
      number,
      number,
    ];
    return new NonFiniteInputError(name, row, col, value, rows, cols);
  }
  if (e.kind === 'SvdConvergenceError') {
    const [name, stage, iterations, maxIterations, unconverged] = e.args as [
      string,
      'bidiagonal QR' | 'secular equation',
      number,
      number,
      number,
    ];
    return new SvdConvergenceError(name, stage, iterations, maxIterations, unconverged);
  }
  // svd's own messages name the matrix; anything else gets the name in front.
  const named = e.message.includes(`"${jobName}"`);
  return new Error(named ? e.message : `svd: "${jobName}": ${e.message}`);
}

/** The job as posted to a worker: the values are copied (structured clone), never moved away. */
function toWorkerJob(job: SvdJob, index: number): WorkerJob {
  const { matrix, ...options } = job;
  const shape = shapeOf(matrix);
  const d = matrix.data;
  let data: WorkerJob['data'];
  if (d instanceof Float32Array || d instanceof Float64Array) {
    // Cloning a view clones its whole buffer (a weight may sit in a file-sized one): copy it out.
    const whole = d.byteOffset === 0 && d.byteLength === d.buffer.byteLength;
    data = whole ? d : d.slice();
  } else {
    data = Array.from(d);
  }
  return { index, shape, data, options };
}

/**
 * Thin SVDs of many independent matrices, each exactly as {@link svd} computes it (the same
 * code runs per matrix, so the factors are bit-identical), spread over worker threads in Node:
 * matrix i goes to whichever worker is free. Each worker holds one matrix's working set (about
 * 2·m·n + 3·k² float64 values, ~90 MB for 4864×896) besides its input and results. By default
 * a batch of less than about 0.1 s of work stays on the calling thread. An unnamed job is
 * called `A[i]` in errors. `onResult` gets every result as soon as it is ready (in completion
 * order) and may return a promise; the next results wait for nothing. Resolves once every
 * matrix is done and every callback has settled; the workers have exited by then. Rejects with
 * the first error (the `svd` errors name the matrix), after stopping the workers and starting
 * no further matrix.
 */
export async function svdEach(
  input: readonly SvdJob[],
  onResult: (result: SvdResult, index: number) => void | Promise<void>,
  options: SvdManyOptions = {},
): Promise<void> {
  const jobs = input.map((job, i) => (job.name === undefined ? { ...job, name: `A[${i}]` } : job));
  const threads = Math.min(await threadCount(options.threads, jobs), jobs.length);
  const workerThreads =
    threads > 1 && isNode() ? await import('node:worker_threads').catch(() => null) : null;
  if (!workerThreads) {
    for (let i = 0; i < jobs.length; i++) {
      const { matrix, ...opts } = jobs[i]!;
      await onResult(svd(matrix, opts), i);
    }
    return;
  }
  const { Worker } = workerThreads;
  const start = await workerStarter();
  const workers: InstanceType<typeof Worker>[] = [];
  const pending = new Set<Promise<void>>();
  let next = 0;
  let done = 0;
  let failed = false;

  await new Promise<void>((resolve, reject) => {
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      reject(err);
    };
    const finishIfDone = () => {
      if (!failed && done === jobs.length) resolve();
    };
    const feed = (worker: InstanceType<typeof Worker>, slot: { job: number }) => {
      if (failed || next >= jobs.length) {
        slot.job = -1;
        return;
      }
      slot.job = next++;
      worker.postMessage(toWorkerJob(jobs[slot.job]!, slot.job));
    };
    for (let w = 0; w < threads; w++) {
      const worker = start(Worker);
      workers.push(worker);
      poolStats.workersStarted++;
      const slot = { job: -1 };
      worker.on('message', (reply: WorkerReply) => {
        if (failed) return;
        if (!reply.ok) {
          fail(rebuildError(reply.error, jobs[reply.index]!.name!));
          return;
        }
        const { U, S, V, m, n, k } = reply;
        feed(worker, slot);
        const settled = (async () => onResult({ U, S, V, m, n, k }, reply.index))().then(() => {
          pending.delete(settled);
          done++;
          finishIfDone();
        }, fail);
        pending.add(settled);
      });
      worker.on('error', (err) => {
        const what = slot.job >= 0 ? `decomposing "${jobs[slot.job]!.name}"` : 'of svdMany';
        fail(new Error(`svd: the worker ${what} failed: ${err.message}`));
      });
      worker.on('exit', (code) => {
        if (!failed && done < jobs.length && slot.job >= 0) {
          const name = jobs[slot.job]!.name;
          fail(new Error(`svd: the worker decomposing "${name}" exited with code ${code}`));
        }
      });
      feed(worker, slot);
    }
  }).finally(async () => {
    await Promise.all(workers.map((w) => w.terminate()));
    // Callbacks still running when a matrix failed: wait for them, ignoring their outcome.
    await Promise.allSettled(pending);
  });
}

/**
 * Thin SVDs of many independent matrices on worker threads (see {@link svdEach}), results in
 * the order of `jobs`, each bit-identical to `svd(job.matrix, job)`.
 *
 * ```ts
 * const [a, b] = await svdMany([{ matrix: W1, name: 'up' }, { matrix: W2, name: 'down' }]);
 * ```
 */
export async function svdMany(
  jobs: readonly SvdJob[],
  options: SvdManyOptions = {},
): Promise<SvdResult[]> {
  const results: SvdResult[] = new Array(jobs.length);
  await svdEach(
    jobs,
    (r, i) => {
      results[i] = r;
    },
    options,
  );
  return results;
}
