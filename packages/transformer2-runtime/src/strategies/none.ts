import type { Strategy } from './types';

/** The base model, no experts: the baseline of every comparison. */
export const noneStrategy: Strategy = async (ctx) => ({
  alpha: null,
  shape: { experts: ctx.labels.length, targets: null },
  pass1Ms: 0,
});
