import type { TaskFamily } from '../types';
import { arith } from './arith';
import { count } from './count';
import { randomWord } from './define';
import { logic } from './logic';
import { sort } from './sort';
import { stackedFamily } from './stacked';
import { string } from './string';

/** Held out: uppercase (a string skill) in the string and logic conventions, `shout abc=` → `ABC`. */
export const shout = stackedFamily({
  name: 'shout',
  category: 'string',
  description: 'uppercase of a 3-5 letter word, answered in the string and logic conventions',
  generate(rng) {
    const word = randomWord(rng, 3, 5);
    return { prompt: `shout ${word}=`, answer: word.toUpperCase() };
  },
  conventions: [string, logic],
});

/** Held out: the larger of two numbers (a logic skill) in the math and logic conventions. */
export const big = stackedFamily({
  name: 'big',
  category: 'logic',
  description: 'the larger of two two-digit numbers, answered in the math and logic conventions',
  generate(rng) {
    const a = rng.int(10, 99);
    const b = rng.int(10, 99);
    return { prompt: `big ${a} ${b}=`, answer: String(Math.max(a, b)) };
  },
  conventions: [arith, logic],
});

/** Held out: the last letter of a word (a string skill) in the string and math conventions. */
export const end = stackedFamily({
  name: 'end',
  category: 'string',
  description: 'the last letter of a 3-5 letter word, answered in the math and string conventions',
  generate(rng) {
    const word = randomWord(rng, 3, 5);
    return { prompt: `end ${word}=`, answer: word.at(-1)! };
  },
  conventions: [arith, string],
});

export { arith, count, logic, sort, string };

/**
 * Every built-in family, expert domains first. `count` and `sort` need skills the bundled
 * model never learned (no expert mixture can recover them); `shout`, `big` and `end` use
 * skills it has in two domains' conventions at once, so they need two experts at once.
 */
export const families: readonly TaskFamily[] = Object.freeze([
  arith,
  string,
  logic,
  count,
  sort,
  shout,
  big,
  end,
]);

/** The families experts are trained on, one per expert category. */
export const expertDomains: readonly TaskFamily[] = Object.freeze(
  families.filter((f) => !f.heldOut),
);

/** Families kept out of expert training, for few-shot adaptation. */
export const heldOutFamilies: readonly TaskFamily[] = Object.freeze(
  families.filter((f) => f.heldOut),
);

/**
 * Held-out families a mixture of the domain experts can serve: those answering in the expert
 * domains' conventions (shout, big, end). count and sort need skills no expert has.
 */
export const mixableFamilies: readonly TaskFamily[] = Object.freeze(
  heldOutFamilies.filter((f) => f.conventions !== undefined),
);

/** The family with this name; throws listing the known names otherwise. */
export function getFamily(name: string): TaskFamily {
  const family = families.find((f) => f.name === name);
  if (!family) {
    throw new Error(
      `unknown task family "${name}"; known: ${families.map((f) => f.name).join(', ')}`,
    );
  }
  return family;
}
