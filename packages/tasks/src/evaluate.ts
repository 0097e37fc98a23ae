import { OTHER_CATEGORY } from './classify';
import { families } from './families';
import { exactMatchReward } from './rewards';
import type { RewardFn, Sample } from './types';

/** The model under evaluation: a prompt in, its continuation out. */
export type GenerateFn = (prompt: string) => Promise<string>;

export interface Score {
  correct: number;
  total: number;
  /** correct / total; 0 when total is 0. */
  accuracy: number;
  /** Mean reward; equals 2·accuracy − 1 for ±1 rewards. */
  meanReward: number;
}

export interface SampleResult {
  sample: Sample;
  output: string;
  reward: number;
  /** A positive reward. */
  correct: boolean;
}

export interface Evaluation extends Score {
  /** By `sample.category`; samples without one count as `other`. */
  perCategory: Record<string, Score>;
  /** By `sample.family`; user samples (no family) are left out. */
  perFamily: Record<string, Score>;
  /** One entry per sample, in order. */
  results: SampleResult[];
}

export interface EvaluateOptions {
  /**
   * Scores every sample. By default a sample from a built-in family uses that
   * family's reward and any other sample uses `exactMatchReward`.
   */
  reward?: RewardFn;
  /** Called after each sample, e.g. for a progress bar. */
  onResult?: (result: SampleResult, index: number) => void;
}

const familyRewards = new Map<string, RewardFn>(families.map((f) => [f.name, f.reward]));

function defaultReward(sample: Sample): RewardFn {
  return (sample.family !== undefined && familyRewards.get(sample.family)) || exactMatchReward;
}

class Tally {
  correct = 0;
  total = 0;
  rewardSum = 0;

  add(result: SampleResult): void {
    this.total++;
    this.rewardSum += result.reward;
    if (result.correct) this.correct++;
  }

  score(): Score {
    const { correct, total } = this;
    return {
      correct,
      total,
      accuracy: total === 0 ? 0 : correct / total,
      meanReward: total === 0 ? 0 : this.rewardSum / total,
    };
  }
}

function tallyOf(map: Map<string, Tally>, key: string): Tally {
  let tally = map.get(key);
  if (!tally) map.set(key, (tally = new Tally()));
  return tally;
}

function scores(map: Map<string, Tally>): Record<string, Score> {
  return Object.fromEntries([...map].map(([key, tally]) => [key, tally.score()]));
}

/**
 * Runs the model on every sample, one at a time and in order, and reports
 * accuracy overall, per category and per family. A sample is correct when its
 * reward is positive.
 */
export async function evaluate(
  samples: readonly Sample[],
  generate: GenerateFn,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  const overall = new Tally();
  const byCategory = new Map<string, Tally>();
  const byFamily = new Map<string, Tally>();
  const results: SampleResult[] = [];
  for (const [index, sample] of samples.entries()) {
    const output = await generate(sample.prompt);
    const reward = (options.reward ?? defaultReward(sample))(sample.prompt, output, sample.answer);
    const result: SampleResult = { sample, output, reward, correct: reward > 0 };
    results.push(result);
    overall.add(result);
    tallyOf(byCategory, sample.category ?? OTHER_CATEGORY).add(result);
    if (sample.family !== undefined) tallyOf(byFamily, sample.family).add(result);
    options.onResult?.(result, index);
  }
  return {
    ...overall.score(),
    perCategory: scores(byCategory),
    perFamily: scores(byFamily),
    results,
  };
}
