import type { Rng } from '../rng';
import type { Problem, Reward, TaskFamily } from '../types';

interface FamilySpec {
  name: string;
  category: string;
  heldOut: boolean;
  description: string;
  generate(rng: Rng): Problem;
  extract(output: string): string;
  distractor?(answer: string): string;
}

/** Builds a family whose reward is the exact match of its extracted answer. */
export function defineFamily(spec: FamilySpec): TaskFamily {
  const { extract } = spec;
  return Object.freeze({
    ...spec,
    reward(_prompt: string, output: string, answer: string): Reward {
      return extract(output) === answer ? 1 : -1;
    },
  });
}

const LOWERCASE = 'abcdefghijklmnopqrstuvwxyz';

/** A random lowercase word of `min`..`max` letters drawn from `alphabet`. */
export function randomWord(rng: Rng, min: number, max: number, alphabet = LOWERCASE): string {
  const length = rng.int(min, max);
  let word = '';
  for (let i = 0; i < length; i++) word += alphabet[rng.int(0, alphabet.length - 1)];
  return word;
}
