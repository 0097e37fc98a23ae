import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensorsFile } from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main';
import { writeSumData, writeTinyModelFolder } from './tiny-model';

// The acceptance test: a new adapter method is one folder with one
// registerAdapterMethod call (fixtures/toy-method), and the CLI trains, saves, loads and
// merges it without an edit, through `--plugin`.

const plugin = fileURLToPath(new URL('./fixtures/toy-method/index.ts', import.meta.url));

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), isTTY: false },
    out,
    err,
  };
}

async function t2(args: string[]) {
  const c = capture();
  const code = await main(['--plugin', plugin, ...args], c.io);
  return { code, out: c.out.join(''), err: c.err.join('') };
}

let dir: string;
let modelDir: string;
let data: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-toy-method-'));
  modelDir = await writeTinyModelFolder(join(dir, 'model'));
  data = await writeSumData(join(dir, 'train.jsonl'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a toy adapter method registered by a plugin', () => {
  it('is listed by the help and by the unknown-method error', async () => {
    const help = await t2(['train', '--help']);
    expect(help.out).toMatch(/--method [^\n]*scaled-identity/);
    const wrong = await t2(['train', '--model', modelDir, '--method', 'nope', '--data', data]);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(
      /--method must be one of .*scaled-identity.*\(unknown method 'nope'\)/,
    );
    expect((await t2(['merge', '--help'])).out).toMatch(/ScaledIdentity \(SCALED_IDENTITY\)/);
  });

  it('trains, saves PEFT files, loads them with --adapter and merges them', async () => {
    const out = join(dir, 'adapter');
    const train = await t2([
      'train',
      '--model',
      modelDir,
      '--method',
      'scaled-identity',
      '--target',
      'q_proj,o_proj',
      '--data',
      data,
      '--steps',
      '10',
      '--lr',
      '5e-2',
      '--out',
      out,
      '--json',
    ]);
    expect(train.err).not.toMatch(/Error/);
    expect(train.code).toBe(0);

    const cfg = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg.peft_type).toBe('SCALED_IDENTITY');
    expect(cfg.target_modules).toEqual(['q_proj', 'o_proj']);
    const { tensors } = await readSafetensorsFile(join(out, 'adapter_model.safetensors'));
    const keys = [...tensors.keys()];
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => /^base_model\.model\..*\.(q_proj|o_proj)\.toy_s$/.test(k))).toBe(true);
    // Training moved the scalars away from their no-op start.
    expect([...tensors.values()].some((t) => t.data[0] !== 0)).toBe(true);

    const tokens = ['--tokens', '1,10,20', '--json'];
    const base = await t2(['logits', '--model', modelDir, ...tokens]);
    const adapted = await t2(['logits', '--model', modelDir, '--adapter', out, ...tokens]);
    expect(adapted.code).toBe(0);
    const merged = join(dir, 'merged');
    const merge = await t2(['merge', '--model', modelDir, '--adapter', out, '--out', merged]);
    expect(merge.err).toBe('');
    expect(merge.code).toBe(0);
    const fromMerged = await t2(['logits', '--model', merged, ...tokens]);

    const a = JSON.parse(adapted.out).logits.flat() as number[];
    const b = JSON.parse(base.out).logits.flat() as number[];
    const m = JSON.parse(fromMerged.out).logits.flat() as number[];
    expect(a.some((v, i) => Math.abs(v - b[i]!) > 1e-4)).toBe(true);
    expect(m.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) expect(Math.abs(m[i]! - a[i]!)).toBeLessThan(1e-4);
  });
});
