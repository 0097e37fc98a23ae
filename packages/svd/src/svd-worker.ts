// Worker thread of svdMany (Node only; a separate build entry, never imported by index.ts):
// decomposes whole matrices with the same `svd` as the calling thread and sends U, S and V
// back by transfer.
import { parentPort } from 'node:worker_threads';
import { NonFiniteInputError, SvdConvergenceError } from './errors';
import { type SvdOptions, type SvdResult, svd } from './svd';

export interface WorkerJob {
  index: number;
  shape: number[];
  data: Float32Array | Float64Array | number[];
  options: SvdOptions;
}

/** An error as it crosses the thread boundary: enough to rebuild it with its class. */
export interface WorkerError {
  kind: 'NonFiniteInputError' | 'SvdConvergenceError' | 'Error';
  message: string;
  args: unknown[];
}

export type WorkerReply =
  | ({ ok: true; index: number } & SvdResult)
  | { ok: false; index: number; error: WorkerError };

function describe(err: unknown): WorkerError {
  if (err instanceof NonFiniteInputError) {
    const { matrixName, row, col, value, rows, cols } = err;
    return {
      kind: err.name,
      message: err.message,
      args: [matrixName, row, col, value, rows, cols],
    };
  }
  if (err instanceof SvdConvergenceError) {
    const { matrixName, stage, iterations, maxIterations, unconverged } = err;
    return {
      kind: err.name,
      message: err.message,
      args: [matrixName, stage, iterations, maxIterations, unconverged],
    };
  }
  return { kind: 'Error', message: err instanceof Error ? err.message : String(err), args: [] };
}

const port = parentPort;
if (!port) throw new Error('svd-worker: must run as a worker thread (svdMany starts it)');

port.on('message', (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    const r = svd({ shape: job.shape, data: job.data }, job.options);
    reply = { ok: true, index: job.index, ...r };
  } catch (err) {
    port.postMessage({ ok: false, index: job.index, error: describe(err) } satisfies WorkerReply);
    return;
  }
  // U, S and V are fresh arrays of their own (svd copies them out of the kernel's memory).
  port.postMessage(
    reply,
    [reply.U, reply.S, reply.V].map((a) => a.buffer as ArrayBuffer),
  );
});
