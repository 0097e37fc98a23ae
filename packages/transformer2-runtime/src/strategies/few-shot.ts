import type { Strategy } from './types';

/**
 * Transformer² strategy 3: α found by CEM on a few labelled examples of the task, searched
 * once per task id and reused for every later prompt of it.
 */
export const fewShotStrategy: Strategy = async (ctx, _prompt, options) => {
  if (options.task === undefined) {
    throw new Error(
      "strategy 'few-shot' needs options.task, the id under which the task's α is searched and cached",
    );
  }
  const { alpha, shape, source, ms } = await ctx.taskAlpha(
    options.task,
    options.examples,
    options.fewShot,
  );
  return { alpha, shape, task: options.task, alphaSource: source, adaptMs: ms, pass1Ms: 0 };
};
