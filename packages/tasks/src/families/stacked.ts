import { extractToken } from '../extract';
import type { Rng } from '../rng';
import type { Problem, TaskFamily } from '../types';
import { defineFamily } from './define';

interface StackedSpec {
  name: string;
  category: string;
  description: string;
  generate(rng: Rng): Problem;
  /** The domains whose conventions the answer follows, innermost first. */
  conventions: readonly TaskFamily[];
}

/**
 * Held out: a skill the base model has, asked with a new keyword, whose answers follow the
 * conventions of two expert domains at once (`big 17 42=` → `42`, written `42.0`, `(42)` or
 * `(42.0)` in pretraining). Each expert fixes one convention; only a mixture of both answers
 * canonically, which is what few-shot adaptation has to find.
 */
export function stackedFamily(spec: StackedSpec): TaskFamily {
  const { conventions, ...rest } = spec;
  return Object.freeze({
    ...defineFamily({ ...rest, heldOut: true, extract: extractToken }),
    conventions: Object.freeze([...conventions]),
  });
}
