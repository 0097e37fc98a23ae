import { deriveSeed, type Sample, splitSamples, type TaskFamily } from '@t2/tasks';
import { UsageError } from './command';
import type { RewardSpec } from './rewards';
import { drawSamples, readDataFile } from './task-data';

/** What `t2 rl` trains and validates on. */
export interface RlData {
  /** A pool (user data) or a seeded draw per step (task families). */
  trainSamples: Sample[] | ((step: number, size: number) => Sample[]);
  validationSamples: Sample[];
  /** One line for the header. */
  note: string;
}

/**
 * Task families: a fresh seeded draw of train-split problems per step (unlimited, and
 * reproducible from (seed, step)) and `valSize` validation problems. User data: its
 * train and validation splits. The reward checks the data it will score.
 */
export async function rlData(
  source: { fams: TaskFamily[]; task: string } | { data: string },
  opts: { seed: number; valSize: number; reward: RewardSpec },
): Promise<RlData> {
  const { seed, valSize, reward } = opts;
  if ('fams' in source) {
    const { fams } = source;
    const validationSamples =
      valSize > 0 ? drawSamples(fams, { n: valSize, seed, split: 'validation', unique: true }) : [];
    const trainSamples = (step: number, size: number) =>
      drawSamples(fams, { n: size, seed: deriveSeed(seed, `train:${step}`), split: 'train' });
    const name = fams.map((f) => f.name).join('+');
    reward.check(trainSamples(0, 32), `--task ${source.task}`);
    const note = `task ${name} (train split; ${validationSamples.length} validation problems)`;
    return { trainSamples, validationSamples, note };
  }
  const all = await readDataFile(source.data);
  reward.check(all, source.data);
  const split = splitSamples(all);
  if (split.train.length === 0) {
    throw new UsageError(
      `--data ${source.data}: none of its ${all.length} samples falls in the train split`,
    );
  }
  const note = `${source.data}: ${split.train.length} train / ${split.validation.length} validation samples (${split.test.length} test samples left out)`;
  return { trainSamples: split.train, validationSamples: split.validation, note };
}

/** Train samples to check before training: the pool, or the first draws of a sampler. */
export function someTrainSamples(data: RlData, n = 256): Sample[] {
  return typeof data.trainSamples === 'function' ? data.trainSamples(0, n) : data.trainSamples;
}
