// The READMEs describe the commands as they are: the command tables list exactly the
// commands `t2 --help` lists, every flag they show exists, and the data schema and the demo
// instructions match what the commands and apps/demo do.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commands, main } from '../src/main';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const rootReadme = readFileSync(join(repo, 'README.md'), 'utf8');
const cliReadme = readFileSync(join(repo, 'apps/cli/README.md'), 'utf8');

/** The first cells of the table that follows `heading` in a README. */
function firstCells(readme: string, heading: string): string[] {
  const start = readme.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('| command |'));
  const rows: string[] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split(/(?<!\\)\|/)[1]!
        .trim()
        .replace(/^`|`$/g, ''),
    );
  }
  return rows;
}

async function help(argv: string[]): Promise<string> {
  let out = '';
  await main(argv, { stdout: (t) => (out += t), stderr: () => {}, isTTY: false });
  return out;
}

describe('README command tables', () => {
  it('the root README lists the commands of t2 --help, in its order', async () => {
    const rows = firstCells(rootReadme, '## The `t2` command');
    const names = rows.map((r) => r.split(' ')[1]);
    expect(names).toEqual(commands.map((c) => c.name));
    const listed = (await help(['--help'])).match(/^ {2}(\w+) /gm)!.map((l) => l.trim());
    expect(listed).toEqual(names);
  });

  it("every flag in the root README's table is one of the command's options", async () => {
    for (const row of firstCells(rootReadme, '## The `t2` command')) {
      const name = row.split(' ')[1]!;
      const text = await help([name, '--help']);
      for (const flag of row.match(/--[a-z-]+/g) ?? []) {
        expect(text, `t2 ${name} ${flag}`).toMatch(new RegExp(`^ +${flag}\\b`, 'm'));
      }
    }
  });

  it('apps/cli/README.md lists the same commands', () => {
    const names = firstCells(cliReadme, '| command | does |').map((r) => r.split(' ')[0]);
    expect([...names].sort()).toEqual(commands.map((c) => c.name).sort());
  });
});

describe('README data files and demo', () => {
  it('documents the one JSONL schema that train --help and eval --help describe', async () => {
    expect(rootReadme).toContain('{"prompt": "12+35=", "answer": "47"}');
    expect(await help(['train', '--help'])).toMatch(/\{"prompt": "12\+35=", "answer": "47"\}/);
    expect(await help(['train', '--help'])).toMatch(/"completion"\s+is accepted for "answer"/);
    expect(await help(['eval', '--help'])).toMatch(/\{"prompt", "answer"/);
  });

  it('says how to open the demo, with the command apps/demo runs', () => {
    const demo = JSON.parse(readFileSync(join(repo, 'apps/demo/package.json'), 'utf8'));
    expect(demo.scripts.dev).toBe('vite');
    expect(rootReadme).toMatch(/## The browser demo[\s\S]*cd apps\/demo && npx vite/);
    expect(rootReadme).toMatch(/npm install` also builds every package and the CLI/);
  });
});
