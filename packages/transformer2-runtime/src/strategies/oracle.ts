import type { Strategy } from './types';

/** The true label picks the expert (an upper bound for routing, for evaluation only). */
export const oracleStrategy: Strategy = async (ctx, _prompt, options) => {
  if (options.label === undefined)
    throw new Error("strategy 'oracle' needs the prompt's true category in options.label");
  return {
    alpha: ctx.alphaForLabel(options.label),
    shape: { experts: ctx.labels.length, targets: null },
    label: options.label,
    pass1Ms: 0,
  };
};
