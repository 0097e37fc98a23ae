import { extractToken } from '../extract';
import { defineFamily } from './define';

/**
 * Comparisons of two-digit numbers: `max 17 42=` → `42`, `min 17 42=` → `17`,
 * `is 17<42=` → `T`, `is 17>42=` → `F`.
 */
export const logic = defineFamily({
  name: 'logic',
  category: 'logic',
  heldOut: false,
  description: 'max / min / less-than / greater-than of two-digit numbers',
  generate(rng) {
    const a = rng.int(10, 99);
    const b = rng.int(10, 99);
    switch (rng.pick(['max', 'min', 'lt', 'gt'] as const)) {
      case 'max':
        return { prompt: `max ${a} ${b}=`, answer: String(Math.max(a, b)) };
      case 'min':
        return { prompt: `min ${a} ${b}=`, answer: String(Math.min(a, b)) };
      case 'lt':
        return { prompt: `is ${a}<${b}=`, answer: a < b ? 'T' : 'F' };
      case 'gt':
        return { prompt: `is ${a}>${b}=`, answer: a > b ? 'T' : 'F' };
    }
  },
  extract: extractToken,
  // The verdict in parentheses: the same value, but not the bare token the task asks for.
  distractor: (answer) => `(${answer})`,
});
