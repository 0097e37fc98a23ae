import { type LlamaForCausalLM, loadHfFolder } from '@t2/llama';
import { type EncodedExample, evalLoss, trainSft } from '@t2/sft';
import { type Method, prepareMethod, type Ranks } from './methods';
import { mean, movingAverage, stepsToThreshold } from './stats';

/** What every method shares: base model, data, steps, batch and schedule. */
export interface TrialSetup {
  modelDir: string;
  train: readonly EncodedExample[];
  eval: readonly EncodedExample[];
  ranks: Ranks;
  steps: number;
  batchSize: number;
  warmupSteps: number;
  minLrRatio: number;
  maxGradNorm: number;
  evalEvery: number;
  /** Steps averaged for the smoothed train loss, the final train loss and the threshold. */
  smoothWindow: number;
  thresholdLoss: number;
  /** Keep one point of the smoothed train curve every this many steps. */
  curveEvery: number;
}

export interface TrialResult {
  method: Method;
  rank: number | null;
  lr: number;
  seed: number;
  trainableParameters: number;
  totalParameters: number;
  /** Eval loss before any step: the same for every method when adapters start as identity. */
  initialEvalLoss: number;
  /** Mean train loss over the last `smoothWindow` steps. */
  finalTrainLoss: number;
  finalEvalLoss: number;
  stepsToThreshold: number | null;
  wallSeconds: number;
  /** Process CPU time (all threads) during training: less sensitive to other load than wall time. */
  cpuSeconds: number;
  /** [step, trailing-mean train loss], downsampled. */
  trainCurve: [number, number][];
  /** [step, eval loss], step 0 included. */
  evalCurve: [number, number][];
}

/** Trains one method at one learning rate and seed on a freshly loaded base model. */
export async function runTrial(
  setup: TrialSetup,
  method: Method,
  lr: number,
  seed: number,
  onProgress?: (step: number, loss: number) => void,
): Promise<TrialResult> {
  const { model } = await loadHfFolder(setup.modelDir, { skipTokenizer: true });
  const totalParameters = model.numParameters();
  const prepared = prepareMethod(model as LlamaForCausalLM, method, setup.ranks, seed);
  const padId = model.config.padTokenId ?? 0;
  const initialEvalLoss = evalLoss(model, setup.eval, 32, padId);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const result = await trainSft(
    model,
    prepared.params,
    setup.train,
    {
      steps: setup.steps,
      lr,
      batchSize: setup.batchSize,
      warmupSteps: setup.warmupSteps,
      minLrRatio: setup.minLrRatio,
      maxGradNorm: setup.maxGradNorm,
      weightDecay: 0,
      seed,
      padId,
      evalData: setup.eval,
      evalEvery: setup.evalEvery,
      evalBatchSize: 32,
    },
    { onStep: onProgress && ((s) => onProgress(s.step, s.loss)) },
  );
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const losses = result.history.map((h) => h.loss);
  const smooth = movingAverage(losses, setup.smoothWindow);
  const trainCurve: [number, number][] = [];
  for (let i = 0; i < smooth.length; i++) {
    const step = i + 1;
    if (step % setup.curveEvery === 0 || step === 1) trainCurve.push([step, round(smooth[i]!)]);
  }
  return {
    method,
    rank: prepared.rank,
    lr,
    seed,
    trainableParameters: prepared.trainableParameters,
    totalParameters,
    initialEvalLoss: round(initialEvalLoss),
    finalTrainLoss: round(mean(losses.slice(-setup.smoothWindow))),
    finalEvalLoss: round(result.evalLoss ?? Number.NaN),
    stepsToThreshold: stepsToThreshold(losses, setup.thresholdLoss, setup.smoothWindow),
    wallSeconds: round(wallSeconds, 2),
    cpuSeconds: round((cpu.user + cpu.system) / 1e6, 2),
    trainCurve,
    evalCurve: [
      [0, round(initialEvalLoss)],
      ...result.evals.map((e) => [e.step, round(e.loss)]),
    ] as [number, number][],
  };
}

const round = (v: number, digits = 4) => Number(v.toFixed(digits));
