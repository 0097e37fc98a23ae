import {
  AdamW,
  clipGradNorm,
  cosineSchedule,
  full,
  noGrad,
  Rng,
  type Tensor,
  tidy,
} from '@t2/tensor-core';
import { BatchStream, collate } from '../data/batch';
import type { CausalLM, EncodedExample } from '../types';
import {
  loadCheckpoint,
  SftCheckpointError,
  saveCheckpoint,
  type TrainerState,
} from './checkpoint';
import { causalLmLossSum } from './loss';

export interface SftOptions {
  steps: number;
  /** Peak learning rate (AdamW). */
  lr?: number;
  /** Sequences per micro-batch. */
  batchSize?: number;
  /** Micro-batches per optimizer step. */
  gradAccum?: number;
  warmupSteps?: number;
  /** Cosine decay ends at lr · minLrRatio. */
  minLrRatio?: number;
  weightDecay?: number;
  /** Global gradient-norm clip (0: none). */
  maxGradNorm?: number;
  seed?: number;
  padId?: number;
  evalData?: readonly EncodedExample[];
  evalEvery?: number;
  evalBatchSize?: number;
  /** Folder of the resumable checkpoint (written atomically). */
  checkpointDir?: string;
  checkpointEvery?: number;
  /** Continue from checkpointDir when it holds a checkpoint. */
  resume?: boolean;
  /** Stored in the checkpoint and handed back on resume. */
  extra?: Record<string, unknown>;
}

export interface StepInfo {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
}

export interface TrainResult {
  steps: number;
  stopped: boolean;
  resumedFrom: number;
  finalLoss: number;
  evalLoss: number | null;
  history: TrainerState['history'];
  evals: TrainerState['evals'];
  tokensPerSecond: number;
  wallSeconds: number;
}

/**
 * Supervised training of the given parameters (an adapter's, or the whole model's) on
 * encoded examples: AdamW with warm-up and cosine decay, gradient accumulation, periodic
 * evaluation and atomic checkpoints from which a stopped run resumes exactly.
 */
export async function trainSft(
  model: CausalLM,
  params: readonly [string, Tensor][],
  train: readonly EncodedExample[],
  opts: SftOptions,
  hooks: {
    onStep?: (s: StepInfo) => void;
    onEval?: (step: number, loss: number) => void;
    signal?: AbortSignal;
  } = {},
): Promise<TrainResult> {
  const {
    steps,
    lr = 2e-4,
    batchSize = 8,
    gradAccum = 1,
    warmupSteps = 0,
    minLrRatio = 0.1,
    weightDecay = 0,
    maxGradNorm = 1,
    seed = 0,
    padId = 0,
    evalEvery = 0,
    checkpointEvery = 0,
  } = opts;
  if (!(steps > 0)) throw new Error(`trainSft: steps must be positive (got ${steps})`);
  if (params.length === 0) throw new Error('trainSft: no trainable parameters');
  const tensors = params.map(([, p]) => p);
  const rng = new Rng(seed);
  const stream = new BatchStream(train, batchSize, rng, padId);
  const optimizer = new AdamW(tensors, { lr, weightDecay });
  const schedule = cosineSchedule({ warmupSteps, totalSteps: steps, minRatio: minLrRatio });
  const state: TrainerState = {
    step: 0,
    rng: [],
    stream: stream.state(),
    optimizer: { step: 0, lr },
    history: [],
    evals: [],
    extra: opts.extra,
  };
  if (!train.some((e) => e.labels.slice(1, e.inputIds.length).some((l) => l !== -100))) {
    throw new Error('trainSft: no example has a target token (all cut away or masked)');
  }
  if (opts.resume) {
    if (!opts.checkpointDir) throw new Error('trainSft: resume needs a checkpointDir');
    const saved = await loadCheckpoint(opts.checkpointDir, params);
    if (!saved) {
      throw new SftCheckpointError(
        `--resume: no checkpoint in ${opts.checkpointDir} (nothing to continue; drop --resume to start a new run)`,
      );
    }
    {
      const a = JSON.stringify(saved.state.extra ?? null);
      const b = JSON.stringify(opts.extra ?? null);
      if (opts.extra && a !== b) {
        throw new SftCheckpointError(
          `--resume: the checkpoint in ${opts.checkpointDir} was written by a run with ${a}, this one has ${b}`,
        );
      }
      Object.assign(state, saved.state);
      optimizer.loadStateDict(saved.optimizer);
      rng.setState(saved.state.rng);
      stream.restore(saved.state.stream);
    }
  }
  const resumedFrom = state.step;
  const save = async () => {
    if (!opts.checkpointDir) return;
    state.rng = rng.getState();
    state.stream = stream.state();
    await saveCheckpoint(opts.checkpointDir, params, optimizer.stateDict(), state);
  };
  const evaluate = () =>
    opts.evalData?.length
      ? evalLoss(model, opts.evalData, opts.evalBatchSize ?? batchSize, padId)
      : null;

  const started = Date.now();
  let tokens = 0;
  let stopped = false;
  model.train();
  while (state.step < steps) {
    if (hooks.signal?.aborted) {
      stopped = true;
      break;
    }
    optimizer.lr = lr * schedule(state.step);
    optimizer.zeroGrad();
    const micro = Array.from({ length: gradAccum }, () => stream.next());
    const total = micro.reduce((n, b) => n + b.numTargets, 0);
    let lossSum = 0;
    for (const batch of micro) {
      if (batch.numTargets === 0) continue;
      lossSum += tidy(() => {
        const l = causalLmLossSum(model, batch);
        const scaled = l.item();
        // Normalise by the tokens of the whole step so accumulation equals one big batch.
        l.backward(full(l.shape, 1 / total));
        return scaled;
      });
      tokens += batch.inputIds.reduce((n, row) => n + row.length, 0);
    }
    const gradNorm = maxGradNorm > 0 ? clipGradNorm(tensors, maxGradNorm) : 0;
    optimizer.step();
    state.step++;
    const loss = total > 0 ? lossSum / total : 0;
    state.history.push({ step: state.step, loss, lr: optimizer.lr });
    const elapsed = (Date.now() - started) / 1000;
    hooks.onStep?.({
      step: state.step,
      steps,
      loss,
      lr: optimizer.lr,
      gradNorm,
      tokens,
      tokensPerSecond: elapsed > 0 ? tokens / elapsed : 0,
      elapsedSeconds: elapsed,
    });
    if (evalEvery > 0 && state.step % evalEvery === 0) {
      const e = evaluate();
      if (e !== null) {
        state.evals.push({ step: state.step, loss: e });
        hooks.onEval?.(state.step, e);
        model.train();
      }
    }
    if (checkpointEvery > 0 && state.step % checkpointEvery === 0) await save();
    // Steps are synchronous: without a turn of the event loop between them a stop request
    // (Ctrl-C's handler, a click) could not run until the whole run had finished.
    await nextTurn();
  }
  await save();
  const finalEval = stopped ? null : evaluate();
  if (finalEval !== null && state.evals.at(-1)?.step !== state.step) {
    state.evals.push({ step: state.step, loss: finalEval });
    hooks.onEval?.(state.step, finalEval);
  }
  const wall = (Date.now() - started) / 1000;
  return {
    steps: state.step,
    stopped,
    resumedFrom,
    finalLoss: state.history.at(-1)?.loss ?? Number.NaN,
    evalLoss: state.evals.at(-1)?.loss ?? null,
    history: state.history,
    evals: state.evals,
    tokensPerSecond: wall > 0 ? tokens / wall : 0,
    wallSeconds: wall,
  };
}

/** Mean next-token loss per target token over a dataset, without gradients. */
export function evalLoss(
  model: CausalLM,
  data: readonly EncodedExample[],
  batchSize: number,
  padId = 0,
): number {
  model.eval();
  let sum = 0;
  let count = 0;
  noGrad(() => {
    for (let i = 0; i < data.length; i += batchSize) {
      const batch = collate(data.slice(i, i + batchSize), padId);
      if (batch.numTargets === 0) continue;
      sum += tidy(() => causalLmLossSum(model, batch).item());
      count += batch.numTargets;
    }
  });
  return count > 0 ? sum / count : Number.NaN;
}

/** Resolves on a later turn of the event loop (setImmediate in Node, a macrotask elsewhere). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
  );
}
