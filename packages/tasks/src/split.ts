import { hashString } from './rng';
import type { Sample, Split } from './types';

/** The three splits, in order. */
export const splits: readonly Split[] = Object.freeze(['train', 'validation', 'test']);

/** The share of all problems in each split. */
export const splitFractions: Readonly<Record<Split, number>> = Object.freeze({
  train: 0.8,
  validation: 0.1,
  test: 0.1,
});

/**
 * The split a problem belongs to, a pure function of its prompt text: the same
 * prompt can never land in two splits, whatever seed or family drew it. The
 * prompt (trimmed) is the canonical problem because it is all the model sees.
 */
export function splitOf(prompt: string): Split {
  const u = hashString(prompt.trim()) / 4294967296;
  if (u < splitFractions.train) return 'train';
  if (u < splitFractions.train + splitFractions.validation) return 'validation';
  return 'test';
}

/** Partitions samples (e.g. user data) by `splitOf` of their prompts. */
export function splitSamples<T extends Sample>(samples: readonly T[]): Record<Split, T[]> {
  const out: Record<Split, T[]> = { train: [], validation: [], test: [] };
  for (const sample of samples) out[splitOf(sample.prompt)].push(sample);
  return out;
}
