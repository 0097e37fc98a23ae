import { ANSWER_END } from './extract';
import { getFamily } from './families';
import { deriveSeed, Rng } from './rng';
import { splitOf } from './split';
import type { Problem, Sample, Split, TaskFamily } from './types';

export interface SampleOptions {
  /** How many samples. */
  n: number;
  /** Same seed, same samples. Default 0. */
  seed?: number;
  /** Only problems of this split are drawn. Default `train`. */
  split?: Split;
  /** No prompt twice (for evaluation sets). Default false. */
  unique?: boolean;
}

// Rejection sampling draws about 10 problems per validation/test sample; this bounds
// the loop when a split (or the unique set) of a family is exhausted or empty.
const MAX_ATTEMPTS_PER_SAMPLE = 10_000;

function resolve(family: string | TaskFamily): TaskFamily {
  return typeof family === 'string' ? getFamily(family) : family;
}

function draw(
  pickFamily: (rng: Rng) => TaskFamily,
  rng: Rng,
  { n, split = 'train', unique = false }: SampleOptions,
): Sample[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`n must be a non-negative integer, got ${n}`);
  const samples: Sample[] = [];
  const seen = new Set<string>();
  let attempts = 0;
  while (samples.length < n) {
    if (++attempts > MAX_ATTEMPTS_PER_SAMPLE) {
      throw new Error(
        `could not draw ${n} ${unique ? 'distinct ' : ''}${split} problems (got ${samples.length})`,
      );
    }
    const family = pickFamily(rng);
    const problem: Problem = family.generate(rng);
    if (splitOf(problem.prompt) !== split) continue;
    if (unique) {
      if (seen.has(problem.prompt)) continue;
      seen.add(problem.prompt);
    }
    samples.push({ ...problem, category: family.category, family: family.name });
    attempts = 0;
  }
  return samples;
}

/** `n` problems of one family from one split. */
export function sampleTask(family: string | TaskFamily, options: SampleOptions): Sample[] {
  const f = resolve(family);
  return draw(() => f, new Rng(deriveSeed(options.seed ?? 0, f.name)), options);
}

/** `n` problems from several families, each sample's family chosen uniformly at random. */
export function mixture(
  families: readonly (string | TaskFamily)[],
  options: SampleOptions,
): Sample[] {
  if (families.length === 0) throw new Error('mixture: no families');
  const resolved = families.map(resolve);
  const rng = new Rng(deriveSeed(options.seed ?? 0, 'mixture'));
  return draw((r) => r.pick(resolved), rng, options);
}

/** The training text of a sample: prompt, answer, and the newline that ends every answer. */
export function formatExample(sample: Problem): string {
  return `${sample.prompt}${sample.answer}${ANSWER_END}`;
}
