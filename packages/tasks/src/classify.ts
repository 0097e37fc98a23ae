import { answerLine } from './extract';
import { expertDomains } from './families';
import { mixture, type SampleOptions } from './sample';
import type { Reward, RewardFn, Sample } from './types';

/** The expert categories, one per expert domain, in the order of `expertDomains`. */
export const expertCategories: readonly string[] = Object.freeze(
  expertDomains.map((f) => f.category),
);

/** The label for a prompt no expert fits: the router then uses the base model. */
export const OTHER_CATEGORY = 'other';

/**
 * Pass 1 of Transformer²'s prompt-based strategy: asks the model to name the
 * category of `prompt`. The answer is read back with `parseCategory`.
 */
export function classificationPrompt(
  prompt: string,
  categories: readonly string[] = expertCategories,
): string {
  return `Category of: ${prompt}\nOptions: ${categories.join(', ')}\nAnswer: `;
}

/**
 * The category the model's output names, or `other`. The first word of the
 * answer line decides, case-insensitively; an unambiguous prefix of at least two
 * letters counts (a small model may stop early).
 */
export function parseCategory(
  output: string,
  categories: readonly string[] = expertCategories,
): string {
  const word = (answerLine(output).split(/\s+/)[0] ?? '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_-]+$/u, '');
  if (word === '') return OTHER_CATEGORY;
  const exact = categories.find((c) => c.toLowerCase() === word);
  if (exact) return exact;
  if (word.length < 2) return OTHER_CATEGORY;
  const prefixed = categories.filter((c) => c.toLowerCase().startsWith(word));
  return prefixed.length === 1 ? prefixed[0]! : OTHER_CATEGORY;
}

/** +1 when the output parses to the expected category (from `expertCategories`), else −1. */
export const classificationReward: RewardFn = (_prompt, output, answer): Reward =>
  parseCategory(output) === answer ? 1 : -1;

/**
 * Samples for training or scoring a classification expert (strategy 2): expert-domain
 * problems wrapped in `classificationPrompt`, answered with their category. The split
 * is that of the wrapped problem. Score them with `classificationReward`.
 */
export function classificationTask(options: SampleOptions): Sample[] {
  return mixture(expertDomains, options).map((s) => ({
    prompt: classificationPrompt(s.prompt),
    answer: s.category!,
    category: s.category,
  }));
}
