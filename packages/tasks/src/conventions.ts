import type { Rng } from './rng';
import type { Problem, TaskFamily } from './types';

/**
 * The answer of `problem` as a corpus with competing conventions writes it: the answer takes
 * its family's distractor form with probability `rate`; a family that follows other families'
 * `conventions` takes each of their distractors with probability `rate`, independently,
 * innermost first. With `rate` 0 it is the canonical answer and `rng` is not used.
 */
export function writtenAnswer(
  family: TaskFamily,
  problem: Problem,
  rng: Rng,
  rate: number,
): string {
  if (!(rate >= 0 && rate <= 1)) throw new Error(`distractor rate must be in [0, 1], got ${rate}`);
  if (rate === 0) return problem.answer;
  let text = problem.answer;
  for (const f of family.conventions ?? [family]) {
    if (f.distractor && rng.next() < rate) text = f.distractor(text);
  }
  return text;
}
