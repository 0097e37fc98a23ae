import { extractToken } from '../extract';
import { defineFamily, randomWord } from './define';

/** Reverse, uppercase or last letter of a short lowercase word: `rev abc=` → `cba`. */
export const string = defineFamily({
  name: 'string',
  category: 'string',
  heldOut: false,
  description: 'reverse, uppercase or last letter of a 3-5 letter word',
  generate(rng) {
    const word = randomWord(rng, 3, 5);
    const op = rng.pick(['rev', 'up', 'last'] as const);
    const answer =
      op === 'rev' ? [...word].reverse().join('') : op === 'up' ? word.toUpperCase() : word.at(-1)!;
    return { prompt: `${op} ${word}=`, answer };
  },
  extract: extractToken,
  // The word in quotes: the same letters, but not the bare word the task asks for.
  distractor: (answer) => `"${answer}"`,
});
