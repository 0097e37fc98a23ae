// Mutation testing of one module of scripts/mutate-modules.mjs, chosen by $T2_MUTATE_MODULE.
// Run through `npm run mutate` (scripts/mutate.mjs), which goes over every module and prints
// the score table. Reports and the incremental files live under reports/mutation/ (git-ignored).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { moduleNamed } from './scripts/mutate-modules.mjs';

const mod = moduleNamed(process.env.T2_MUTATE_MODULE ?? 'optim');
// Tests find ../shared from their own location, which inside Stryker's sandbox is one level
// deeper; point them at the real one (the test runners inherit the environment).
process.env.T2_SHARED ??= fileURLToPath(new URL('../shared/', import.meta.url));
// The op suites run on the js backend only: the mutated kernels are the js ones, and the ops
// (src/ops) behave the same on every backend.
process.env.T2_TEST_BACKENDS ??= 'js';
const out = `reports/mutation/${mod.name}`;
const mutated = mod.mutate.map((f) => `${mod.pkg}/${f}`);
// `npm run mutate -- --retest` sets this to the lines of the surviving mutants: only those are
// run again (Stryker's incremental mode does not see new vitest tests, so it would reuse the
// old "survived"), and scripts/mutate.mjs merges the result into the module's report.
const retest = process.env.T2_MUTATE_RETEST ? JSON.parse(process.env.T2_MUTATE_RETEST) : null;

// The TypeScript checker compiles only the mutated files and what they import (not the
// package's tests and benches): a third of the work on every check. Written before Stryker
// copies the project into its sandbox; git-ignored.
const tsconfigFile = 'tsconfig.mutate.json';
writeFileSync(
  tsconfigFile,
  `${JSON.stringify(
    {
      extends: './tsconfig.base.json',
      compilerOptions: { noEmit: true },
      files: [...new Set(mutated.map((f) => f.replace(/:.*$/, '')))],
    },
    null,
    2,
  )}\n`,
);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  checkers: ['typescript'],
  tsconfigFile,
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: retest ?? mutated,
  coverageAnalysis: 'perTest',
  ignoreStatic: true,
  incremental: !retest,
  incrementalFile: `${out}/incremental.json`,
  // The machine is shared (two cores): one test runner, one checker ($T2_MUTATE_CONCURRENCY
  // may say 2).
  concurrency: Number(process.env.T2_MUTATE_CONCURRENCY ?? 1),
  timeoutMS: 5000,
  timeoutFactor: 2,
  reporters: ['json', 'html', 'clear-text', 'progress-append-only'],
  jsonReporter: { fileName: `${out}/${retest ? 'retest' : 'mutation'}.json` },
  htmlReporter: { fileName: `${out}/${retest ? 'retest' : 'index'}.html` },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: true },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  // The sandbox gets the packages' sources and tests and the root configs, nothing else: not
  // build outputs, caches or what a training run is writing under out/ at that moment.
  ignorePatterns: [
    '/*',
    '!/packages',
    '!/models',
    '!/test-support',
    '!/scripts',
    '!/package.json',
    '!/tsconfig.base.json',
    `!/${tsconfigFile}`,
    '!/vitest.shared.ts',
    '!/vitest.mutate.config.ts',
    '!/stryker.config.mjs',
    '**/dist',
    '**/.turbo',
    '**/coverage',
    '**/.t2-cache',
    '**/node_modules',
  ],
};
