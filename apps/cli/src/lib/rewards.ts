import {
  exactMatchReward,
  families,
  loadRewardModule,
  numericReward,
  type RewardFn,
  regexReward,
  type Sample,
} from '@t2/tasks';
import { UsageError } from './command';

/** A parsed `--reward`: how `t2 rl` and `t2 eval` score an output. */
export interface RewardSpec {
  /** The spec in canonical form (`task`, `exact`, `numeric:0.5`, …), for logs and run.json. */
  spec: string;
  /** The reward for every sample; undefined: each sample's family reward (exact match for user data). */
  rewardFn: RewardFn | undefined;
  /** Scores the model's continuation `output` of `sample.prompt`. */
  score(prompt: string, output: string, sample: Sample): number;
  /** Rejects data the reward cannot score (e.g. non-numeric answers for `numeric`). */
  check(samples: readonly Sample[], source: string): void;
}

export const REWARD_FORMS = 'task, exact, numeric[:TOLERANCE], regex[:PATTERN], module:FILE';

const familyRewards = new Map<string, RewardFn>(families.map((f) => [f.name, f.reward]));

/** Each sample from a built-in family is scored by its family (which reads the answer with its own extractor). */
function taskReward(prompt: string, output: string, sample: Sample): number {
  const own = sample.family === undefined ? undefined : familyRewards.get(sample.family);
  return (own ?? exactMatchReward)(prompt, output, sample.answer);
}

function fromRewardFn(spec: string, fn: RewardFn): RewardSpec {
  return {
    spec,
    rewardFn: fn,
    score: (prompt, output, sample) => fn(prompt, output, sample.answer),
    check: () => {},
  };
}

/**
 * Parses `--reward`. Without one, task samples use their family's reward and user data
 * exact match. `module:FILE` imports a module exporting `reward(prompt, output, answer)`.
 */
export async function parseRewardSpec(
  spec: string | undefined,
  opts: { task: boolean },
): Promise<RewardSpec> {
  const text = spec ?? (opts.task ? 'task' : 'exact');
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? undefined : text.slice(colon + 1);
  if (kind === 'task' && arg === undefined) {
    if (!opts.task)
      throw new UsageError("--reward task: needs --task (user data has no family's reward)");
    return { spec: 'task', rewardFn: undefined, score: taskReward, check: () => {} };
  }
  if (kind === 'exact' && arg === undefined) return fromRewardFn('exact', exactMatchReward);
  if (kind === 'numeric') {
    const tolerance = arg === undefined ? 0 : Number(arg);
    if (
      arg !== undefined &&
      (arg.trim() === '' || !(tolerance >= 0) || !Number.isFinite(tolerance))
    ) {
      throw new UsageError(`--reward numeric:TOLERANCE: expected a number ≥ 0, got '${arg}'`);
    }
    const reward = fromRewardFn(`numeric:${tolerance}`, numericReward(tolerance));
    reward.check = (samples, source) => {
      const bad = samples.findIndex(
        (s) => s.answer.trim() === '' || !Number.isFinite(Number(s.answer.trim())),
      );
      if (bad >= 0) {
        throw new UsageError(
          `--reward numeric: the answer of sample ${bad + 1} of ${source} (prompt ${JSON.stringify(samples[bad]!.prompt)}) is not a number: ${JSON.stringify(samples[bad]!.answer)}`,
        );
      }
    };
    return reward;
  }
  if (kind === 'regex') {
    if (arg === undefined) return fromRewardFn('regex', regexReward());
    if (arg === '') throw new UsageError('--reward regex:PATTERN: the pattern is empty');
    try {
      new RegExp(arg);
    } catch (err) {
      throw new UsageError(`--reward regex:${arg}: ${(err as Error).message}`);
    }
    return fromRewardFn(`regex:${arg}`, regexReward(arg));
  }
  if (kind === 'module') {
    if (!arg) throw new UsageError('--reward module:FILE: the file name is missing');
    const { existsSync } = await import('node:fs');
    if (!existsSync(arg)) throw new UsageError(`--reward module:${arg}: no such file`);
    let fn: RewardFn;
    try {
      fn = await loadRewardModule(arg);
    } catch (err) {
      throw new UsageError(`--reward module:${arg}: ${(err as Error).message}`);
    }
    return fromRewardFn(`module:${arg}`, fn);
  }
  throw new UsageError(`--reward: unknown reward '${text}' (expected one of ${REWARD_FORMS})`);
}
