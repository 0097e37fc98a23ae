import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { workspaceAliases } from './vite/workspace-sources';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// End-to-end tests: one file drives a real Chromium against a production build.
export default defineConfig({
  resolve: { alias: workspaceAliases(repo) },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
