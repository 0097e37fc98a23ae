import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expertCategories } from '@t2/tasks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { t2 } from './tiny-runtime';

// End to end on the model the repository ships (models/t2-tiny), as `npm start` uses it.
const model = fileURLToPath(new URL('../../../models/t2-tiny', import.meta.url));
let cache: string;

beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), 't2-bundled-'));
});
afterAll(async () => {
  await rm(cache, { recursive: true, force: true });
});

describe('the bundled model models/t2-tiny', () => {
  it('ships a Hugging Face folder with its experts', () => {
    for (const f of [
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'README.md',
    ]) {
      expect(existsSync(join(model, f)), f).toBe(true);
    }
    for (const e of ['arith', 'string', 'logic', 'classifier']) {
      expect(existsSync(join(model, 'experts', `${e}.safetensors`)), e).toBe(true);
    }
  });

  it('answers in the wrong convention alone and in the right one with its expert', async () => {
    // The testbed: the base model knows the string tasks but answers greedily in the
    // competing convention ("cba") the reward refuses; the string expert picks the bare form.
    const evalString = async (extra: string[]) => {
      const r = await t2([
        'eval',
        '--model',
        model,
        '--task',
        'string',
        '--n',
        '40',
        '--cache',
        cache,
        '--json',
        ...extra,
      ]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).accuracy as number;
    };
    const base = await evalString([]);
    const expert = await evalString(['--expert', join(model, 'experts', 'string.safetensors')]);
    expect(base).toBeLessThan(0.2);
    expect(expert).toBeGreaterThan(0.4);
    expect(expert).toBeLessThan(1);
  });

  it('answers with a Transformer² trace (prompt strategy)', async () => {
    const r = await t2([
      'run',
      '--model',
      model,
      '--strategy',
      'prompt',
      '--prompt',
      'rev abc=',
      '--cache',
      cache,
      '--alpha-cache',
      join(cache, 'alpha.json'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.trace.strategy).toBe('prompt');
    expect([...expertCategories, 'other']).toContain(out.trace.label);
    expect(typeof out.answer).toBe('string');
    expect(out.trace.timings.totalMs).toBeGreaterThan(0);
  });

  it('evaluates the classifier and oracle strategies on a task mix', async () => {
    for (const strategy of ['classifier', 'oracle']) {
      const r = await t2([
        'eval',
        '--model',
        model,
        '--task',
        'arith,string,logic',
        '--n',
        '24',
        '--strategy',
        strategy,
        '--cache',
        cache,
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const res = JSON.parse(r.stdout);
      expect(res.strategy).toBe(strategy);
      expect(res.n).toBe(24);
      expect(res.accuracy).toBeGreaterThanOrEqual(0);
      if (strategy === 'classifier') expect(res.routing.total).toBe(24);
    }
  });
});
