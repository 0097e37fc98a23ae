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

  it('can do its tasks, imperfectly', async () => {
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
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { accuracy } = JSON.parse(r.stdout);
    expect(accuracy).toBeGreaterThan(0.3);
    expect(accuracy).toBeLessThan(1);
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
