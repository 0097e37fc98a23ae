import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '@t2/llama';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProgressBar } from '../src/lib/progress';
import { commands, main } from '../src/main';
import { newcomerFixture, t2, train as trainWith } from './newcomer-harness';

const fx = newcomerFixture();
const train = (method: string, out: string, extra: string[] = []) =>
  trainWith(fx, method, out, extra);

describe('help (item 6)', () => {
  for (const { name } of commands) {
    it(`t2 ${name} --help describes its options with defaults and gives an example`, async () => {
      const r = await t2([name, '--help']);
      expect(r.code).toBe(0);
      const optionLines = r.stdout.split('\n').filter((l) => /^ {2}--[a-z]/.test(l));
      expect(optionLines.length, r.stdout).toBeGreaterThanOrEqual(name === 'quickstart' ? 3 : 4);
      expect(r.stdout).toMatch(/\(default/);
      expect(r.stdout).toMatch(new RegExp(`\\nExample[^\\n]*:\\n {2}t2 ${name} `));
    });
  }
});

describe('merged and fully fine-tuned folders are complete (item 3)', () => {
  it('t2 merge and train --method full write the tokenizer and a README; generate reads them', async () => {
    const adapter = join(fx.dir, 'for-merge');
    await train('lora', adapter);
    const merged = join(fx.dir, 'merged');
    const m = await t2(['merge', '--model', fx.modelDir, '--adapter', adapter, '--out', merged]);
    expect(m.code, m.stderr).toBe(0);
    const full = join(fx.dir, 'full');
    await train('full', full);
    for (const folder of [merged, full]) {
      for (const f of [
        'config.json',
        'model.safetensors',
        'tokenizer.json',
        'tokenizer_config.json',
        'README.md',
      ]) {
        expect(existsSync(join(folder, f)), `${folder}/${f}`).toBe(true);
      }
      expect(await readFile(join(folder, 'README.md'), 'utf8')).toContain(fx.modelDir);
      const g = await t2([
        'generate',
        '--model',
        folder,
        '--prompt',
        '1+2=',
        '--max-new-tokens',
        '3',
        '--json',
      ]);
      expect(g.code, g.stderr).toBe(0);
      expect(JSON.parse(g.stdout).tokens.length).toBeGreaterThan(0);
    }
  });
});

describe('training output (items 8, 9, 13, 17)', () => {
  it('refuses an unknown --target instead of ignoring it', async () => {
    const out = join(fx.dir, 'bad-target');
    const r = await t2([
      'train',
      '--model',
      fx.modelDir,
      '--method',
      'lora',
      '--data',
      fx.data,
      '--target',
      'q_proj,foo',
      '--steps',
      '1',
      '--out',
      out,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--target: 'foo' is not a linear layer of the model \(its linear layers: q_proj, /,
    );
    expect(existsSync(join(out, 'adapter_config.json'))).toBe(false);
    const rl = await t2([
      'rl',
      '--model',
      fx.modelDir,
      '--task',
      'arith',
      '--target',
      'gate_proj,foo',
      '--steps',
      '1',
      '--out',
      join(fx.dir, 'rl-bad-target'),
    ]);
    expect(rl.code).toBe(2);
    expect(rl.stderr).toMatch(/--target: 'foo' is not a linear layer of the model/);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('rate and ETA count the steps of this run only', () => {
    let now = 0;
    const lines: string[] = [];
    const bar = new ProgressBar(100, (t) => lines.push(t), false, {
      unit: 'steps',
      now: () => now,
      everyPercent: 1,
    });
    bar.resumeFrom(50);
    now = 10_000;
    bar.update(60);
    // 10 steps in 10 s: 1 step/s, 40 to go.
    expect(lines.at(-1)).toMatch(/60\/100 {2}1\.0 steps\/s {2}ETA 40s/);
  });

  it('a resumed t2 train shows the rate of the resumed steps', async () => {
    const out = join(fx.dir, 'resumed');
    await train('bone', out, ['--steps', '4']);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(0);
    const lines: string[] = [];
    const code = await main(
      [
        'train',
        '--model',
        fx.modelDir,
        '--method',
        'bone',
        '--data',
        fx.data,
        '--r',
        '4',
        '--steps',
        '8',
        '--out',
        out,
        '--resume',
      ],
      {
        stdout: () => {},
        // Each bar redraw happens one second after the previous one.
        stderr: (t) => {
          lines.push(t);
          vi.setSystemTime(Date.now() + 1000);
        },
        isTTY: true,
      },
    );
    vi.useRealTimers();
    expect(code).toBe(0);
    // Resumed at step 4: at step 6, two steps in one second.
    const at6 = lines.find((l) => / 6\/8 /.test(l));
    expect(at6).toMatch(/6\/8 {2}2\.0 steps\/s {2}ETA 1s/);
  });

  it('on a terminal the bar has an eval column', async () => {
    const r = await t2(
      [
        'train',
        '--model',
        fx.modelDir,
        '--method',
        'bone',
        '--data',
        fx.data,
        '--eval',
        fx.data,
        '--eval-every',
        '1',
        '--steps',
        '3',
        '--r',
        '4',
        '--out',
        join(fx.dir, 'tty-eval'),
      ],
      true,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3\/3 .* eval \d\.\d+/);
  });

  it('reports the adapter size as a share of the base model', async () => {
    const r = await train('bone', join(fx.dir, 'share'));
    const { model } = await loadModel(fx.modelDir);
    const base = model.numParameters();
    const m = /— ([\d,]+) trainable parameters \(([\d.]+)% of the base model's ([\d,]+)\)/.exec(
      r.stdout,
    );
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![3]!.replaceAll(',', ''))).toBe(base);
    const trainable = Number(m![1]!.replaceAll(',', ''));
    expect(Number(m![2])).toBeCloseTo((100 * trainable) / base, 2);
  });
});
