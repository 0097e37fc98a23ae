import { extractInteger } from '../extract';
import { defineFamily, randomWord } from './define';

const ALPHABET = 'abcde';

/**
 * Held out: occurrences of a letter in a word, `count a in abcab=` → `2`. It needs
 * both reading letters (string) and counting (math), so no single expert owns it.
 */
export const count = defineFamily({
  name: 'count',
  category: 'string',
  heldOut: true,
  description: 'occurrences of a letter in a 4-8 letter word over a-e',
  generate(rng) {
    // A five-letter alphabet makes repeated letters, and so counts above 1, common.
    const word = randomWord(rng, 4, 8, ALPHABET);
    const letter = rng.pick([...ALPHABET]);
    const answer = [...word].filter((c) => c === letter).length;
    return { prompt: `count ${letter} in ${word}=`, answer: String(answer) };
  },
  extract: extractInteger,
});
