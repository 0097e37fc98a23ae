import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = dirname(fileURLToPath(import.meta.url));

// Tests import sibling packages from their sources, so a change in tensor-core is
// seen by llama's tests without a rebuild.
function workspaceAliases(): Record<string, string> {
  const aliases: Record<string, string> = {};
  for (const dir of readdirSync(join(root, 'packages'))) {
    aliases[`@t2/${dir}`] = join(root, 'packages', dir, 'src', 'index.ts');
  }
  return aliases;
}

export function t2VitestConfig() {
  return defineConfig({
    resolve: { alias: workspaceAliases() },
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      pool: 'forks',
    },
  });
}
