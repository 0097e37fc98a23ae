import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { joinPath } from '../src/setup/join-path';

describe('joinPath (path.join without node:path, for the browser bundle)', () => {
  it('gives what path.join gives for the run folders a user names', () => {
    for (const dir of ['out', 'out/', 'out//', 'runs/arith', '/tmp/x', '/', '.', '']) {
      expect(joinPath(dir, 'run.json')).toBe(join(dir, 'run.json'));
    }
  });

  it('the package entry imports no node: module at load time', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const src = new URL('../src/', import.meta.url);
    const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) =>
      f.endsWith('.ts'),
    );
    const staticNode = files.filter((f) =>
      /^import [^;]*from 'node:/m.test(readFileSync(new URL(f, src), 'utf8')),
    );
    expect(staticNode).toEqual([]);
  });
});
