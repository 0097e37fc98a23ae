import {
  type Evaluation,
  evaluate,
  getFamily,
  type RewardFn,
  type Sample,
  type Score,
} from '@t2/tasks';
import type { Trace, Transformer2Runtime } from '../runtime/runtime';
import type { FewShotExample, FewShotOptions, StrategyName } from '../strategies/types';

/** What `evaluateStrategy` reports besides the accuracies. */
export interface StrategyEvaluation {
  strategy: StrategyName;
  evaluation: Evaluation;
  /** prompt/classifier: how often pass 1 named the sample's category, overall and per task. */
  routing?: Score & { perTask: Record<string, Score> };
  /** few-shot: the α used for each task (family), and where it came from. */
  fewShot?: Record<string, TaskAlphaInfo>;
  /** Mean milliseconds per prompt of each step (the few-shot search is in `fewShot`). */
  timings: { pass1Ms: number; composeMs: number; pass2Ms: number; totalMs: number };
  traces: Trace[];
  /** The answer to each sample, in order. */
  outputs: string[];
}

/** Per-task hooks of a few-shot α search (progress bars). */
export type TaskHooks = (task: string) => {
  onIteration?: FewShotOptions['onIteration'];
  finish?: () => void;
};

export interface EvaluateStrategyOptions {
  /** Scores every sample; default: each sample's family reward (exact match for user data). */
  reward?: RewardFn;
  /** few-shot: labelled examples per task id (a sample's family, else its category). */
  shots?: ReadonlyMap<string, readonly FewShotExample[]>;
  fewShot?: FewShotOptions;
  /** Answer length cap, over the runtime's default. */
  maxNewTokens?: number;
  /** few-shot: called before each task's α is fetched or searched. */
  onTask?: TaskHooks;
  onProgress?: (done: number) => void;
}

/** The α a few-shot task uses, searched now or found in the cache. */
export interface TaskAlphaInfo {
  alpha: Record<string, number> | null;
  source: 'cache' | 'search';
  /** Examples α was searched on (now, or when it was cached). */
  examples: number;
  adaptMs: number;
  /** Accuracy and mean log-likelihood of α on those examples. */
  score?: { accuracy: number; logLik: number };
}

/**
 * Makes sure the task's α is in the runtime's cache (searching it on `examples` when it
 * is not, or when `options.refresh`) and says which α it is and where it came from.
 */
export async function settleTaskAlpha(
  runtime: Transformer2Runtime<unknown, unknown>,
  task: string,
  examples: readonly FewShotExample[],
  options: FewShotOptions,
  onTask?: TaskHooks,
): Promise<TaskAlphaInfo> {
  const hooks = onTask?.(task) ?? {};
  // Answering one shot settles α through the runtime's own cache rules and traces the source.
  const { trace } = await runtime.generate(examples[0]?.prompt ?? '', {
    strategy: 'few-shot',
    task,
    examples: examples.length ? examples : undefined,
    fewShot: { ...options, onIteration: hooks.onIteration },
    generate: { maxNewTokens: 1 },
  });
  hooks.finish?.();
  const cached = runtime.alphaCache.get(task);
  return {
    alpha: trace.alpha,
    source: trace.alphaSource!,
    examples: cached?.examples ?? examples.length,
    adaptMs: trace.timings.adaptMs,
    ...(cached?.score && { score: cached.score }),
  };
}

/** The few-shot task a sample belongs to: its family, else its category. */
export function fewShotTask(sample: Pick<Sample, 'family' | 'category'>): string {
  return sample.family ?? sample.category ?? 'data';
}

function tally(): Score {
  return { correct: 0, total: 0, accuracy: 0, meanReward: 0 };
}

function addTo(score: Score, correct: boolean): void {
  score.total++;
  if (correct) score.correct++;
  score.accuracy = score.correct / score.total;
  score.meanReward = (2 * score.correct - score.total) / score.total;
}

/** The reward few-shot scores a task's examples with: the given one, else the family's own. */
function taskReward(task: string, reward: RewardFn | undefined): RewardFn | undefined {
  if (reward) return reward;
  try {
    return getFamily(task).reward;
  } catch {
    return undefined; // user data: the runtime's exact match of the answer line
  }
}

/**
 * Answers every sample with one Transformer² strategy and scores the answers. The oracle
 * gets each sample's category as its label; few-shot searches (or reuses) one α per task
 * on `shots` before answering that task's samples.
 */
export async function evaluateStrategy(
  runtime: Transformer2Runtime<unknown, unknown>,
  samples: readonly Sample[],
  strategy: StrategyName,
  opts: EvaluateStrategyOptions = {},
): Promise<StrategyEvaluation> {
  const generate =
    opts.maxNewTokens === undefined ? undefined : { maxNewTokens: opts.maxNewTokens, stop: ['\n'] };
  const fewShotFor = (task: string): FewShotOptions => {
    const reward = taskReward(task, opts.reward);
    return { ...opts.fewShot, ...(reward && { reward }), ...(generate && { generate }) };
  };
  const fewShot: StrategyEvaluation['fewShot'] = strategy === 'few-shot' ? {} : undefined;
  if (fewShot) {
    for (const task of [...new Set(samples.map(fewShotTask))]) {
      const examples = opts.shots?.get(task) ?? [];
      fewShot[task] = await settleTaskAlpha(runtime, task, examples, fewShotFor(task), opts.onTask);
    }
  }
  const outputs: string[] = [];
  const traces: Trace[] = [];
  const routing =
    strategy === 'prompt' || strategy === 'classifier'
      ? { ...tally(), perTask: {} as Record<string, Score> }
      : undefined;
  const sums = { pass1Ms: 0, composeMs: 0, pass2Ms: 0, totalMs: 0 };
  for (const sample of samples) {
    const task = fewShotTask(sample);
    const { output, trace } = await runtime.generate(sample.prompt, {
      strategy,
      label: sample.category,
      task,
      // α is settled above: a refresh there must not search again for every sample.
      fewShot: strategy === 'few-shot' ? { ...fewShotFor(task), refresh: false } : undefined,
      generate,
    });
    outputs.push(output);
    traces.push(trace);
    for (const key of Object.keys(sums) as (keyof typeof sums)[]) sums[key] += trace.timings[key];
    if (routing) {
      const right = trace.label === sample.category;
      addTo(routing, right);
      routing.perTask[task] ??= tally();
      addTo(routing.perTask[task]!, right);
    }
    opts.onProgress?.(outputs.length);
  }
  let next = 0;
  const evaluation = await evaluate(samples, async () => outputs[next++]!, { reward: opts.reward });
  const n = Math.max(1, samples.length);
  return {
    strategy,
    evaluation,
    ...(routing && { routing }),
    ...(fewShot && { fewShot }),
    timings: {
      pass1Ms: sums.pass1Ms / n,
      composeMs: sums.composeMs / n,
      pass2Ms: sums.pass2Ms / n,
      totalMs: sums.totalMs / n,
    },
    traces,
    outputs,
  };
}
