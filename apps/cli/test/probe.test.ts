// `t2 probe` as users run it: the built CLI, spawned, on the bundled model.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitOf } from '@t2/tasks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(repo, 'apps/cli/dist/main.js');
const bundled = join(repo, 'models/t2-tiny');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-probe-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function t2(argv: string[]) {
  const r = spawnSync(process.execPath, [cli, ...argv], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A short probe: few problems, samples and fit steps (the verdict kind, not the numbers). */
const quick = (task: string, fitSteps: number) => [
  'probe',
  '--model',
  bundled,
  '--task',
  task,
  '--n',
  '40',
  '--k',
  '4',
  '--fit-steps',
  String(fitSteps),
  '--json',
  '--cache',
  join(dir, 'svd'),
];

describe('t2 probe', () => {
  it('--help lists the options, their defaults, the verdict rule and an example', () => {
    const r = t2(['probe', '--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--model',
      '--task',
      '--data',
      '--n',
      '--k',
      '--fit-steps',
      '--seed',
      '--json',
      '--backend',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^ +${flag}\\b`, 'm'));
    }
    expect(r.stdout).toMatch(/--k K +samples per problem .*\(default 8\)/);
    expect(r.stdout).toMatch(/--fit-steps N .*\(default 100/);
    expect(r.stdout).toMatch(/at\s+least 2 points and at least 3 problems of --n/);
    expect(r.stdout).toMatch(/at least 10% of the problems greedy gets wrong/);
    expect(r.stdout).toContain('t2 probe --model models/t2-tiny --task string');
  });

  it('says there is no headroom on count, a family the base model never learnt', () => {
    const r = t2(quick('count', 10));
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.verdict.kind).toBe('no-headroom');
    expect(out.verdict.line).toMatch(/^no headroom/);
    expect(out.n).toBe(40);
    expect(out.greedy).toMatchObject({ total: 40 });
    expect(out.greedy.low).toBeLessThanOrEqual(out.greedy.accuracy);
    expect(out.passAtK.total).toBe(40);
    expect(out.ceiling.total).toBe(40);
  }, 300_000);

  it('predicts a gain on logic, where the base model hedges between answer conventions', () => {
    const r = t2(quick('logic', 12));
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.verdict.kind).toBe('gain');
    expect(out.verdict.line).toMatch(/^SVF can plausibly gain ~\d+ points here \(greedy /);
    expect(out.ceiling.accuracy).toBeGreaterThan(out.greedy.accuracy);
  }, 300_000);

  it('prints the accuracies with intervals and the verdict as text', () => {
    const r = t2([
      'probe',
      '--model',
      bundled,
      '--task',
      'sort',
      '--n',
      '12',
      '--k',
      '2',
      '--fit-steps',
      '2',
      '--fit-batch',
      '4',
      '--cache',
      join(dir, 'svd'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^greedy +\d+\.\d% +\[\d+\.\d–\d+\.\d\] +\d+\/12$/m);
    expect(r.stdout).toMatch(/^pass@2 \(T=1\) +\d+\.\d%/m);
    expect(r.stdout).toMatch(/^supervised SVF +\d+\.\d%/m);
    expect(r.stdout).toMatch(/^(no headroom|SVF can plausibly gain|unclear)/m);
  });

  it('refuses bad input with a one-line reason and exit code 2', async () => {
    const oneLine = (r: ReturnType<typeof t2>, pattern: RegExp) => {
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    };
    oneLine(t2(['probe', '--model', bundled, '--task', 'count', '--n', '0']), /--n 0: no problems/);
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '');
    oneLine(t2(['probe', '--model', bundled, '--data', empty]), /no samples/);
    // Characters the bundled model's tokenizer does not have (it maps them to <unk>).
    const accented = join(dir, 'accented.jsonl');
    const lines = Array.from({ length: 200 }, (_, i) => ({
      prompt: `rev é${i}=`,
      answer: `${i}é`,
    }));
    expect(lines.some((l) => splitOf(l.prompt) === 'test')).toBe(true);
    await writeFile(accented, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    oneLine(
      t2(['probe', '--model', bundled, '--data', accented]),
      /the tokenizer has no token for 1 character the samples use: "é"/,
    );
  });
});
