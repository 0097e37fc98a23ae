// The CLI in-process with captured output, a tiny model, a small JSONL file and a short
// training run: what the newcomer tests (issue #17) share.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { main } from '../src/main';
import { writeSumData, writeTinyModelFolder } from './tiny-model';

export function capture(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), isTTY },
    out,
    err,
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

/** Runs `t2 argv` in this process; exit code and what it printed. */
export async function t2(argv: string[], isTTY = false) {
  const c = capture(isTTY);
  const code = await main(argv, c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

/** A temp folder with a tiny model and 16 arithmetic samples, made before and removed after the file's tests. */
export function newcomerFixture(): { dir: string; modelDir: string; data: string } {
  const f = { dir: '', modelDir: '', data: '' };
  beforeAll(async () => {
    f.dir = await mkdtemp(join(tmpdir(), 't2-newcomer-'));
    f.modelDir = await writeTinyModelFolder(join(f.dir, 'model'));
    f.data = await writeSumData(join(f.dir, 'train.jsonl'), { key: 'answer' });
  });
  afterAll(async () => {
    await rm(f.dir, { recursive: true, force: true });
  });
  return f;
}

/** A short training run of `method` on the fixture into `out` (extra flags appended). */
export async function train(
  f: { modelDir: string; data: string },
  method: string,
  out: string,
  extra: string[] = [],
) {
  const r = await t2([
    'train',
    '--model',
    f.modelDir,
    '--method',
    method,
    '--data',
    f.data,
    '--steps',
    '2',
    '--r',
    '4',
    '--out',
    out,
    ...extra,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return r;
}
