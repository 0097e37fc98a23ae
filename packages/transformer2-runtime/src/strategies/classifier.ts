import type { Strategy } from './types';

/**
 * Transformer² strategy 2: pass 1 runs the classification prompt with the classification
 * expert (an SVF expert trained to name the category) instead of the bare base model.
 */
export const classifierStrategy: Strategy = async (ctx, prompt) => {
  if (!ctx.hasClassifier) {
    throw new Error(
      "strategy 'classifier': the registry has no classification expert (register one with role 'classifier')",
    );
  }
  const { label, output, ms } = await ctx.classify(prompt, 'classifier');
  return {
    alpha: ctx.alphaForLabel(label),
    shape: { experts: ctx.labels.length, targets: null },
    label,
    pass1Output: output,
    pass1Ms: ms,
  };
};
