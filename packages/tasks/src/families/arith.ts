import { extractInteger } from '../extract';
import { defineFamily } from './define';

/** Two-digit addition and subtraction (never negative): `12+35=` → `47`. */
export const arith = defineFamily({
  name: 'arith',
  category: 'math',
  heldOut: false,
  description: 'two-digit addition and subtraction',
  generate(rng) {
    const a = rng.int(10, 99);
    const b = rng.int(10, 99);
    if (rng.next() < 0.5) return { prompt: `${a}+${b}=`, answer: String(a + b) };
    const [hi, lo] = a >= b ? [a, b] : [b, a];
    return { prompt: `${hi}-${lo}=`, answer: String(hi - lo) };
  },
  extract: extractInteger,
  // A float-formatted integer: the same number, but not the integer the task asks for.
  distractor: (answer) => `${answer}.0`,
});
