import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main';
import { writeSumData, writeTinyModelFolder } from './tiny-model';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), isTTY: false },
    out,
    err,
  };
}

let dir: string;
let modelDir: string;
let data: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-train-'));
  modelDir = await writeTinyModelFolder(join(dir, 'model'));
  data = await writeSumData(join(dir, 'train.jsonl'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('t2 train / t2 merge', () => {
  for (const method of ['bone', 'bat', 'lora', 'pissa', 'full'] as const) {
    it(`${method}: trains, lowers the loss and writes its files`, async () => {
      const out = join(dir, `out-${method}`);
      const c = capture();
      const code = await main(
        [
          'train',
          '--model',
          modelDir,
          '--method',
          method,
          '--data',
          data,
          '--steps',
          '30',
          '--r',
          '4',
          '--lr',
          method === 'full' ? '3e-3' : '2e-2',
          '--batch',
          '8',
          '--out',
          out,
          '--json',
        ],
        c.io,
      );
      expect(c.err.join('')).not.toMatch(/Error/);
      expect(code).toBe(0);
      const events = c.out
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const steps = events.filter((e) => e.event === 'step');
      expect(steps).toHaveLength(30);
      const first = steps.slice(0, 3).reduce((s, e) => s + e.loss, 0) / 3;
      const last = steps.slice(-3).reduce((s, e) => s + e.loss, 0) / 3;
      expect(last).toBeLessThan(first);
      const done = events.at(-1);
      expect(done.event).toBe('done');
      const file = method === 'full' ? 'config.json' : 'adapter_config.json';
      const cfg = JSON.parse(await readFile(join(out, file), 'utf8'));
      if (method !== 'full')
        expect(cfg.peft_type).toBe(method === 'bone' || method === 'bat' ? 'BONE' : 'LORA');
    });
  }

  it('merges an adapter into a plain Hugging Face folder with the same logits', async () => {
    const merged = join(dir, 'merged');
    const c = capture();
    expect(
      await main(
        ['merge', '--model', modelDir, '--adapter', join(dir, 'out-bone'), '--out', merged],
        c.io,
      ),
    ).toBe(0);
    const viaAdapter = capture();
    const viaMerged = capture();
    await main(
      [
        'logits',
        '--model',
        modelDir,
        '--adapter',
        join(dir, 'out-bone'),
        '--tokens',
        '1,10,20',
        '--json',
      ],
      viaAdapter.io,
    );
    await main(['logits', '--model', merged, '--tokens', '1,10,20', '--json'], viaMerged.io);
    const a = JSON.parse(viaAdapter.out.join('')).logits.flat();
    const b = JSON.parse(viaMerged.out.join('')).logits.flat();
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4);
  });

  it('reports bad JSONL lines as file:line and bad flags clearly', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"prompt": "a", "completion": "b"}\nnot json\n');
    const c = capture();
    expect(
      await main(
        ['train', '--model', modelDir, '--method', 'bone', '--data', bad, '--steps', '1'],
        c.io,
      ),
    ).toBe(2);
    expect(c.err.join('')).toContain(`${bad}:2: invalid JSON`);
    const d = capture();
    expect(
      await main(['train', '--model', modelDir, '--method', 'dora', '--data', data], d.io),
    ).toBe(2);
    expect(d.err.join('')).toMatch(/--method must be one of bone, bat, lora, pissa, full/);
  });
});
