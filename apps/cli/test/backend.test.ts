import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLlama2cFile, saveHfFolder } from '@t2/llama';
import { wasmSimdSupported } from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../src/commands/index';

/**
 * Every command computes on the fast backend by default. The built CLI is spawned as users
 * run it, with T2_BACKEND_REPORT=FILE: at exit the process writes the kernel calls each
 * backend ran after the command chose its backend (counted by tensor-core's registry), so
 * these tests see what computed, not what was asked for.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'apps/cli/dist/main.js');
const bundled = join(root, 'models/t2-tiny');
const shared = process.env.T2_SHARED ?? join(root, '../shared/');
const stories = join(shared, 'fixtures/stories260K/stories260K.bin');

interface Report {
  asked: string;
  active: string;
  kernelCalls: Record<string, number>;
}

let dir: string;
let n = 0;

function t2(argv: string[]): { code: number | null; stderr: string; report: Report } {
  const file = join(dir, `report-${n++}.json`);
  const r = spawnSync(process.execPath, [cli, ...argv], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, T2_BACKEND_REPORT: file },
    timeout: 120_000,
  });
  expect(r.status, `t2 ${argv.join(' ')}: ${r.stderr}`).toBe(0);
  return { code: r.status, stderr: r.stderr, report: JSON.parse(readFileSync(file, 'utf8')) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-backend-'));
  const lines = ['12+35=47', '3+4=7', '20+22=42', '5+5=10'].map((s) => {
    const [prompt, answer] = s.split('=');
    return JSON.stringify({ prompt: `${prompt}=`, completion: answer });
  });
  await writeFile(join(dir, 'train.jsonl'), `${lines.join('\n')}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cache = () => ['--cache', join(dir, 'svd')];

/** One short run of every command, on the bundled model (or stories260K). */
const COMMANDS: [string, () => string[]][] = [
  ['logits', () => ['logits', '--model', stories, '--tokens', '1,2,3', '--json']],
  [
    'generate',
    () => ['generate', '--model', bundled, '--prompt', '12+35=', '--max-new-tokens', '4'],
  ],
  [
    'train',
    () => [
      'train',
      '--model',
      bundled,
      '--method',
      'bone',
      '--data',
      join(dir, 'train.jsonl'),
      '--steps',
      '1',
      '--batch',
      '2',
      '--out',
      join(dir, 'bone'),
    ],
  ],
  [
    'merge',
    () => [
      'merge',
      '--model',
      bundled,
      '--adapter',
      join(dir, 'bone'),
      '--out',
      join(dir, 'merged'),
    ],
  ],
  [
    'rl',
    () => [
      'rl',
      '--model',
      bundled,
      '--task',
      'arith',
      '--steps',
      '1',
      '--batch',
      '2',
      '--validate-every',
      '0',
      ...cache(),
      '--out',
      join(dir, 'rl'),
    ],
  ],
  ['eval', () => ['eval', '--model', bundled, '--task', 'arith', '--n', '4']],
  [
    'probe',
    () => [
      'probe',
      '--model',
      bundled,
      '--task',
      'arith',
      '--n',
      '4',
      '--k',
      '2',
      '--fit-steps',
      '1',
      ...cache(),
    ],
  ],
  [
    'run',
    () => ['run', '--model', bundled, '--strategy', 'prompt', '--prompt', '12+35=', ...cache()],
  ],
  [
    'pretrain',
    () => [
      'pretrain',
      '--out',
      join(dir, 'pretrained'),
      '--steps',
      '1',
      '--batch',
      '2',
      '--seq',
      '32',
      '--dim',
      '16',
      '--layers',
      '1',
      '--heads',
      '2',
      '--problems',
      '40',
      '--classification',
      '8',
      '--eval-n',
      '1',
    ],
  ],
  [
    'quickstart',
    () => [
      'quickstart',
      '--model',
      bundled,
      '--per-task',
      '1',
      '--prompts',
      '1',
      '--shots',
      '2',
      '--cem-iterations',
      '1',
      '--population',
      '2',
      '--bone-steps',
      '1',
      '--bone-n',
      '2',
      ...cache(),
      '--alpha-cache',
      join(dir, 'alpha.json'),
      '--out',
      join(dir, 'quick'),
    ],
  ],
];

describe.skipIf(!existsSync(cli) || !existsSync(bundled))('--backend on every command', () => {
  it.each(COMMANDS)(
    't2 %s computes on the fast backend by default, never on js when wasm is available',
    (_name, argv) => {
      const { report } = t2(argv());
      expect(report.asked).toBe('auto');
      const total = Object.values(report.kernelCalls).reduce((a, b) => a + b, 0);
      // merge folds the adapters with plain loops of the adapter packages: no kernel calls.
      if (_name !== 'merge') expect(total).toBeGreaterThan(0);
      if (wasmSimdSupported()) {
        expect(report.active).not.toBe('js');
        expect(report.kernelCalls.js ?? 0).toBe(0);
        expect(report.kernelCalls[report.active]).toBe(total);
      }
    },
  );

  it('--backend js computes on js, and the report says so', () => {
    const { report } = t2(['logits', '--model', stories, '--tokens', '1,2,3', '--backend', 'js']);
    expect(report.active).toBe('js');
    expect(report.kernelCalls.js).toBeGreaterThan(0);
    expect(report.kernelCalls.wasm ?? 0).toBe(0);
  });

  it.skipIf(!wasmSimdSupported())('--backend wasm computes on wasm', () => {
    const { report } = t2(['generate', '--model', stories, '--tokens', '1', '--backend', 'wasm']);
    expect(report).toMatchObject({ asked: 'wasm', active: 'wasm' });
    expect(report.kernelCalls.wasm).toBeGreaterThan(0);
  });

  it('an unknown --backend is a usage error naming the choices', () => {
    const r = spawnSync(
      process.execPath,
      [cli, 'logits', '--model', stories, '--tokens', '1', '--backend', 'cuda'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^t2 logits: --backend: unknown backend 'cuda' \(one of auto, js, .*wasm.*\)\n$/,
    );
  });

  it('every command has a case here (a new command is checked too)', () => {
    expect(COMMANDS.map(([name]) => name).sort()).toEqual(commands.map((c) => c.name).sort());
  });

  it('every command lists --backend and --weights in its --help', () => {
    for (const { name } of commands) {
      const r = spawnSync(process.execPath, [cli, name, '--help'], { encoding: 'utf8' });
      expect(r.stdout, name).toMatch(/--backend NAME/);
      expect(r.stdout, name).toMatch(/--weights stored\|f32/);
    }
  });

  it.skipIf(!wasmSimdSupported())(
    '--weights stored (BF16 kept) and --weights f32 give the same logits and tokens on a BF16 checkpoint',
    async () => {
      const bf16 = join(dir, 'stories-bf16');
      const { model } = await loadLlama2cFile(stories);
      await saveHfFolder(model, bf16, { dtype: 'BF16' });
      const run = (weights: string, argv: string[]) => {
        const r = spawnSync(
          process.execPath,
          [cli, ...argv, '--model', bf16, '--weights', weights],
          {
            encoding: 'utf8',
          },
        );
        expect(r.status, r.stderr).toBe(0);
        return r.stdout;
      };
      const gen = ['generate', '--tokens', '1,2,3', '--max-new-tokens', '12'];
      expect(run('stored', gen)).toBe(run('f32', gen));
      const logits = ['logits', '--tokens', '1,5,9', '--json'];
      expect(run('stored', logits)).toBe(run('f32', logits));
    },
  );

  it('an unknown --weights is a usage error', () => {
    const r = spawnSync(
      process.execPath,
      [cli, 'logits', '--model', stories, '--tokens', '1', '--weights', 'f16'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("t2 logits: --weights: 'stored' or 'f32', got 'f16'\n");
  });
});
