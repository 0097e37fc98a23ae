import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRewardModule } from '../src';

describe('loadRewardModule', () => {
  const dir = mkdtempSync(join(tmpdir(), 't2-reward-'));
  const write = (name: string, code: string) => {
    const path = join(dir, name);
    writeFileSync(path, code);
    return path;
  };

  it('loads a named reward(prompt, output) export', async () => {
    const path = write(
      'named.mjs',
      'export function reward(prompt, output) { return output.includes(prompt.length.toString()) ? 1 : -1; }\n',
    );
    const reward = await loadRewardModule(path);
    expect(reward('abc', 'length 3', '')).toBe(1);
    expect(reward('abc', 'length 4', '')).toBe(-1);
  });

  it('loads a default export and passes the answer third; booleans become ±1', async () => {
    const path = write(
      'default.mjs',
      'export default (prompt, output, answer) => output.trim() === answer;\n',
    );
    const reward = await loadRewardModule(path);
    expect(reward('p', ' x ', 'x')).toBe(1);
    expect(reward('p', 'y', 'x')).toBe(-1);
  });

  it('resolves a relative path from the working directory', async () => {
    const path = write('relative.mjs', 'export default { reward: () => 0.5 };\n');
    const reward = await loadRewardModule(relative(process.cwd(), path));
    expect(reward('p', 'o', 'a')).toBe(0.5);
  });

  it('rejects a module without a reward function and a bad return value', async () => {
    const none = write('none.mjs', 'export const score = 1;\n');
    await expect(loadRewardModule(none)).rejects.toThrow(
      `${none}: expected a module exporting reward(prompt, output)`,
    );
    const bad = write('bad.mjs', 'export function reward() { return "high"; }\n');
    const reward = await loadRewardModule(bad);
    expect(() => reward('p', 'o', 'a')).toThrow(/must return a finite number/);
  });
});
