/**
 * The npm workspaces of this repo (packages/* and apps/*), each with its folder relative
 * to the repo root and its package.json: what the release scripts walk.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('..', import.meta.url));

export function workspaces() {
  const out = [];
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(repo, group))) {
      const manifest = join(repo, group, name, 'package.json');
      if (existsSync(manifest)) {
        out.push({ dir: join(group, name), pkg: JSON.parse(readFileSync(manifest, 'utf8')) });
      }
    }
  }
  return out;
}
