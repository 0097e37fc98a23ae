import type { TaskFamily } from '../types';
import { arith } from './arith';
import { count } from './count';
import { logic } from './logic';
import { sort } from './sort';
import { string } from './string';

export { arith, count, logic, sort, string };

/** Every built-in family, expert domains first. */
export const families: readonly TaskFamily[] = Object.freeze([arith, string, logic, count, sort]);

/** The families experts are trained on, one per expert category. */
export const expertDomains: readonly TaskFamily[] = Object.freeze(
  families.filter((f) => !f.heldOut),
);

/** Families kept out of expert training, for few-shot adaptation. */
export const heldOutFamilies: readonly TaskFamily[] = Object.freeze(
  families.filter((f) => f.heldOut),
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
