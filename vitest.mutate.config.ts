// The vitest config Stryker runs (stryker.config.mjs): the module's test files from
// scripts/mutate-modules.mjs, with the workspace aliases every package uses.
import { moduleNamed } from './scripts/mutate-modules.mjs';
import { t2VitestConfig } from './vitest.shared';

const mod = moduleNamed(process.env.T2_MUTATE_MODULE ?? 'optim');
const config = t2VitestConfig();

export default {
  ...config,
  test: { ...config.test, include: mod.tests.map((t: string) => `${mod.pkg}/${t}`) },
};
