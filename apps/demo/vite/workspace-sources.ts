import { readdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { Plugin } from 'vite';

/** `@t2/<name>` → `packages/<name>/src/index.ts`, as the tests resolve them. */
export function workspaceAliases(repo: string): Record<string, string> {
  const aliases: Record<string, string> = {};
  for (const dir of readdirSync(join(repo, 'packages'))) {
    aliases[`@t2/${dir}`] = join(repo, 'packages', dir, 'src', 'index.ts');
  }
  return aliases;
}

/**
 * The packages' `sideEffects` fields describe their single-file dist builds. Their
 * sources register things on import (autograd's backward, the gpu.js and wasm backends),
 * so when the page bundles the sources every module counts as having side effects;
 * otherwise Rollup drops those registrations.
 */
export function workspaceSideEffects(repo: string): Plugin {
  const packages = join(repo, 'packages') + sep;
  return {
    name: 't2-workspace-side-effects',
    transform(code, id) {
      if (!id.startsWith(packages) || !id.includes(`${sep}src${sep}`)) return null;
      return { code, map: null, moduleSideEffects: true };
    },
  };
}
