import type { Strategy } from './types';

/**
 * Transformer² strategy 1: the base model classifies the prompt from a classification
 * prompt listing the categories; the label picks one expert, anything else the base model.
 */
export const promptStrategy: Strategy = async (ctx, prompt) => {
  const { label, output, ms } = await ctx.classify(prompt, 'base');
  return {
    alpha: ctx.alphaForLabel(label),
    shape: { experts: ctx.labels.length, targets: null },
    label,
    pass1Output: output,
    pass1Ms: ms,
  };
};
