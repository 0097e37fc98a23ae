// Node only, for the same reason as jsonl-file.ts.
import { userReward } from '../rewards';
import type { RewardFn } from '../types';

/**
 * Loads a user reward from an ES module (or CommonJS file) that exports
 * `reward(prompt, output, answer?)` returning a number or a boolean; a default
 * export that is such a function, or an object holding one, also works.
 */
export async function loadRewardModule(path: string): Promise<RewardFn> {
  const [{ pathToFileURL }, { resolve }] = await Promise.all([
    import('node:url'),
    import('node:path'),
  ]);
  const module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  const fallback = module.default as Record<string, unknown> | undefined;
  const candidate = module.reward ?? (typeof fallback === 'function' ? fallback : fallback?.reward);
  if (typeof candidate !== 'function') {
    throw new Error(`${path}: expected a module exporting reward(prompt, output)`);
  }
  return userReward(candidate as (...args: string[]) => unknown, `${path}: reward`);
}
