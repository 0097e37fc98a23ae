import { extractToken } from '../extract';
import { defineFamily } from './define';

/** Held out: the digits of a 3-4 digit string in ascending order, `sort 528=` → `258`. */
export const sort = defineFamily({
  name: 'sort',
  category: 'logic',
  heldOut: true,
  description: 'digits of a 3-4 digit string in ascending order',
  generate(rng) {
    const length = rng.int(3, 4);
    const digits: number[] = [];
    for (let i = 0; i < length; i++) digits.push(rng.int(0, 9));
    const answer = [...digits].sort((x, y) => x - y).join('');
    return { prompt: `sort ${digits.join('')}=`, answer };
  },
  extract: extractToken,
});
