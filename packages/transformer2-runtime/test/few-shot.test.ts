import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AlphaCache,
  type CemProgress,
  type FewShotExample,
  Transformer2Runtime,
} from '../src/index';
import { coefficient, type StubExpert, StubModel, type StubWeights, stubRegistry } from './stub';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 't2-runtime-'));
  dirs.push(d);
  return d;
}

const examples: FewShotExample[] = [0, 1, 2, 3].map((i) => ({ prompt: `q${i}`, answer: 'yes' }));
const target = { math: 0.1, string: 0.3, logic: 0.6 };

/**
 * A new task the stub solves only with enough of the logic expert and little math; among
 * the mixtures that solve it, the answers are most likely at `target`.
 */
function fewShotModel(numTargets = 2): StubModel {
  const model = new StubModel(numTargets);
  model.answer = (w) =>
    w && coefficient(w, 'logic') >= 0.4 && coefficient(w, 'math') <= 0.3 ? 'yes' : 'no';
  model.logLik = (w) =>
    w
      ? -10 *
        ((coefficient(w, 'math') - target.math) ** 2 +
          (coefficient(w, 'string') - target.string) ** 2 +
          (coefficient(w, 'logic') - target.logic) ** 2)
      : -100;
  return model;
}

function runtime(model: StubModel, alphaCache?: AlphaCache) {
  return new Transformer2Runtime<StubExpert, StubWeights>({
    model,
    registry: stubRegistry(),
    alphaCache,
  });
}

describe('strategy few-shot', () => {
  it('searches α with CEM on the examples, then reuses it from the cache', async () => {
    const model = fewShotModel();
    const rt = runtime(model);
    const progress: CemProgress[] = [];
    const first = await rt.generate('q9', {
      strategy: 'few-shot',
      task: 'yes-task',
      examples,
      fewShot: { iterations: 12, seed: 3, onIteration: (p) => progress.push(p) },
    });
    expect(first.output).toBe('yes');
    expect(first.trace).toMatchObject({
      strategy: 'few-shot',
      task: 'yes-task',
      alphaSource: 'search',
      cacheHit: false,
    });
    expect(progress.map((p) => p.iteration)).toEqual([...Array(12).keys()]);
    const alpha = first.trace.alpha!;
    expect(alpha.math + alpha.string + alpha.logic).toBeCloseTo(1, 12);
    expect(alpha.math).toBeCloseTo(target.math, 1);
    expect(alpha.string).toBeCloseTo(target.string, 1);
    expect(alpha.logic).toBeCloseTo(target.logic, 1);
    // One composition per evaluated candidate, plus the found mixture for the answer.
    const evaluations = 32 + 11 * 31;
    expect(model.composeCalls).toBe(evaluations + 1);
    // Candidates bypass the LRU, and their weights are released after use.
    expect(model.released).toHaveLength(evaluations);
    expect(rt.cacheStats().size).toBe(1);

    const second = await rt.generate('q10', { strategy: 'few-shot', task: 'yes-task' });
    expect(second.trace).toMatchObject({ alphaSource: 'cache', alpha, cacheHit: true });
    expect(second.trace.timings.adaptMs).toBe(0);
    expect(model.composeCalls).toBe(evaluations + 1);
  });

  it('scores accuracy with the reward and breaks ties with the completion log-likelihood', async () => {
    const model = fewShotModel();
    const seen: string[] = [];
    model.logLik = (w, req) => {
      seen.push(req.completion);
      return w ? -((coefficient(w, 'string') - 0.8) ** 2) : -1;
    };
    const rt = runtime(model);
    const res = await rt.adapt('t', examples, {
      // Every output counts as correct, so only the log-likelihood can guide the search.
      reward: () => 1,
      completion: (e) => `${e.answer}\n`,
      iterations: 8,
    });
    expect(res.score.accuracy).toBe(1);
    expect(res.normalised[1]).toBeGreaterThan(0.7);
    expect(seen.every((c) => c === 'yes\n')).toBe(true);
    expect(res.history).toHaveLength(8);
    expect(rt.alphaCache.get('t')).toMatchObject({
      experts: ['math', 'string', 'logic'],
      targets: null,
      examples: 4,
      score: res.score,
    });
  });

  it('searches one α per expert per adapted weight when asked', async () => {
    const model = new StubModel(2);
    // The first adapted weight wants the math expert, the second the logic expert.
    const want = [
      [0.8, 0.2],
      [0.1, 0.1],
      [0.1, 0.7],
    ];
    model.logLik = (w) => {
      if (!w) return -100;
      const table = w.alpha as number[][];
      let s = 0;
      for (let k = 0; k < 3; k++)
        for (let t = 0; t < 2; t++) s += (table[k]![t]! - want[k]![t]!) ** 2;
      return -s;
    };
    const rt = runtime(model);
    const { trace } = await rt.generate('q', {
      strategy: 'few-shot',
      task: 'layered',
      examples,
      fewShot: { perLayer: true, reward: () => 1, iterations: 25, seed: 1, minStd: 0.02 },
    });
    const table = trace.alphaPerLayer!;
    expect(table).toHaveLength(3);
    for (let t = 0; t < 2; t++) {
      expect(table[0]![t]! + table[1]![t]! + table[2]![t]!).toBeCloseTo(1, 12);
      for (let k = 0; k < 3; k++) expect(Math.abs(table[k]![t]! - want[k]![t]!)).toBeLessThan(0.1);
    }
    expect(trace.alpha!.math).toBeCloseTo((table[0]![0]! + table[0]![1]!) / 2, 12);
    expect(rt.alphaCache.get('layered')!.targets).toBe(2);
    // A per-expert α for the same task is another search, not the per-layer one.
    await expect(rt.generate('q', { strategy: 'few-shot', task: 'layered' })).rejects.toThrow(
      /no α cached for task 'layered'/,
    );
  });

  it('needs a task id, and examples when nothing is cached', async () => {
    const rt = runtime(fewShotModel());
    await expect(rt.generate('q', { strategy: 'few-shot' })).rejects.toThrow(/options\.task/);
    await expect(rt.generate('q', { strategy: 'few-shot', task: 'new' })).rejects.toThrow(
      /no α cached for task 'new'/,
    );
    await expect(rt.adapt('new', [])).rejects.toThrow(/no labelled examples/);
  });

  it('ignores a cached α made for other experts', async () => {
    const cache = new AlphaCache();
    await cache.set('t', {
      experts: ['math', 'poetry', 'logic'],
      targets: null,
      alpha: [0.2, 0.3, 0.5],
    });
    const rt = runtime(fewShotModel(), cache);
    await expect(rt.generate('q', { strategy: 'few-shot', task: 't' })).rejects.toThrow(
      /no α cached/,
    );
    await cache.set('t', {
      experts: ['math', 'string', 'logic'],
      targets: null,
      alpha: [0.2, 0.3, 0.5],
    });
    const { trace } = await rt.generate('q', { strategy: 'few-shot', task: 't' });
    expect(trace.alpha).toEqual({ math: 0.2, string: 0.3, logic: 0.5 });
  });

  it('keys the cache by the examples, not the task name: other examples are searched again', async () => {
    const model = fewShotModel();
    const rt = runtime(model);
    await rt.adapt('shots', examples, { iterations: 1, population: 4 });
    const again = await rt.generate('q', { strategy: 'few-shot', task: 'shots', examples });
    expect(again.trace.alphaSource).toBe('cache');
    // Another file of the same name: different labelled examples, so another search.
    const other = examples.map((e) => ({ ...e, answer: 'no' }));
    const { trace } = await rt.generate('q', {
      strategy: 'few-shot',
      task: 'shots',
      examples: other,
      fewShot: { iterations: 1, population: 4 },
    });
    expect(trace.alphaSource).toBe('search');
    expect(rt.alphaCache.get('shots')!.key).not.toBe(undefined);
  });

  it('keys the cache by the model and experts fingerprint', async () => {
    const cache = new AlphaCache();
    const model = fewShotModel();
    const a = new Transformer2Runtime<StubExpert, StubWeights>({
      model,
      registry: stubRegistry(),
      alphaCache: cache,
      fingerprint: 'model-a',
    });
    await a.adapt('t', examples, { iterations: 1, population: 4 });
    expect(cache.get('t')!.model).toBe('model-a');
    const b = new Transformer2Runtime<StubExpert, StubWeights>({
      model,
      registry: stubRegistry(),
      alphaCache: cache,
      fingerprint: 'model-b',
    });
    await expect(b.generate('q', { strategy: 'few-shot', task: 't' })).rejects.toThrow(
      /no α cached for task 't' for this model and these experts/,
    );
    const { trace } = await b.generate('q', {
      strategy: 'few-shot',
      task: 't',
      examples,
      fewShot: { iterations: 1, population: 4 },
    });
    expect(trace.alphaSource).toBe('search');
    const { trace: reused } = await b.generate('q', { strategy: 'few-shot', task: 't' });
    expect(reused.alphaSource).toBe('cache');
  });

  it('searches again with refresh', async () => {
    const model = fewShotModel();
    const rt = runtime(model);
    await rt.adapt('t', examples, { iterations: 1, population: 4 });
    const before = model.composeCalls;
    const { trace } = await rt.generate('q', {
      strategy: 'few-shot',
      task: 't',
      examples,
      fewShot: { refresh: true, iterations: 1, population: 4 },
    });
    expect(trace.alphaSource).toBe('search');
    expect(model.composeCalls).toBe(before + 4 + 1);
  });
});

describe('few-shot with additive mixing', () => {
  /** A task that needs the string and the logic expert both in full: no convex mixture has it. */
  function twoSkillModel(): StubModel {
    const model = new StubModel();
    model.answer = (w) =>
      w && coefficient(w, 'string') >= 0.7 && coefficient(w, 'logic') >= 0.7 ? 'yes' : 'no';
    model.logLik = (w) =>
      w ? -((1 - coefficient(w, 'string')) ** 2 + (1 - coefficient(w, 'logic')) ** 2) : -9;
    return model;
  }
  const options = { iterations: 8, population: 32, seed: 3 };

  it('searches α unnormalised and composes additively, where convex mixing cannot reach', async () => {
    const cache = new AlphaCache();
    const convex = new Transformer2Runtime<StubExpert, StubWeights>({
      model: twoSkillModel(),
      registry: stubRegistry(),
      alphaCache: cache,
    });
    const c = await convex.adapt('both', examples, options);
    expect(c.score.accuracy).toBe(0);
    expect(cache.get('both')!.mixing).toBe('convex');

    const model = twoSkillModel();
    const additive = new Transformer2Runtime<StubExpert, StubWeights>({
      model,
      registry: stubRegistry(),
      alphaCache: cache,
      mixing: 'additive',
    });
    expect(additive.mixing).toBe('additive');
    // the convex α cached under the same task and examples is not reused: searched again
    const r = await additive.generate('q9', {
      strategy: 'few-shot',
      task: 'both',
      examples,
      fewShot: options,
    });
    expect(r.trace.alphaSource).toBe('search');
    const a = await additive.adapt('both', examples, options);
    expect(a.score.accuracy).toBe(1);
    // what answers use is the raw CEM vector, not rescaled to sum to 1
    expect(Array.from(a.normalised)).toEqual(Array.from(a.alpha));
    expect(a.normalised[1]! + a.normalised[2]!).toBeGreaterThan(1.3);
    const entry = cache.get('both')!;
    expect(entry.mixing).toBe('additive');
    expect(entry.alpha).toEqual(Array.from(a.alpha));
    await additive.generate('q9', { strategy: 'few-shot', task: 'both' });
    expect(model.log.at(-1)!.weights).toMatch(/string=0\.[7-9]|string=1\.00/);
    expect(model.current === null || model.current.mixing === 'additive').toBe(true);
  });

  it('passes the mixing to compose for every mixture, and refuses an unknown one', async () => {
    const model = twoSkillModel();
    const composed: (string | undefined)[] = [];
    const compose = model.compose.bind(model);
    model.compose = (e, alpha, mixing) => {
      composed.push(mixing);
      return compose(e, alpha, mixing);
    };
    const rt = new Transformer2Runtime<StubExpert, StubWeights>({
      model,
      registry: stubRegistry(),
      mixing: 'additive',
    });
    await rt.adapt('both', examples, { iterations: 1, population: 4 });
    await rt.generate('q1', { strategy: 'oracle', label: 'logic' });
    expect(composed.length).toBeGreaterThan(4);
    expect(new Set(composed)).toEqual(new Set(['additive']));
    expect(
      () =>
        new Transformer2Runtime<StubExpert, StubWeights>({
          model,
          registry: stubRegistry(),
          mixing: 'sum' as 'additive',
        }),
    ).toThrow(/mixing must be 'convex' or 'additive'/);
  });
});

describe('AlphaCache file', () => {
  it('persists α per task atomically and is reused by a new runtime', async () => {
    const dir = tempDir();
    const file = join(dir, 'sub', 'alpha.json');
    const rt = runtime(fewShotModel(), await AlphaCache.open(file));
    const res = await rt.adapt('yes-task', examples, { iterations: 3, population: 8 });
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(json.format).toBe('t2-alpha-cache');
    expect(json.tasks['yes-task'].alpha).toEqual(Array.from(res.normalised));
    expect(readdirSync(join(dir, 'sub'))).toEqual(['alpha.json']);

    const model = fewShotModel();
    const again = runtime(model, await AlphaCache.open(file));
    const { trace } = await again.generate('q', { strategy: 'few-shot', task: 'yes-task' });
    expect(trace.alphaSource).toBe('cache');
    expect(Object.values(trace.alpha!)).toEqual(Array.from(res.normalised));
    expect(model.composeCalls).toBe(1);
  });

  it('starts empty when the file does not exist, and names the file when it is broken', async () => {
    const dir = tempDir();
    expect((await AlphaCache.open(join(dir, 'none.json'))).tasks()).toEqual([]);
    const { writeFileSync } = await import('node:fs');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    await expect(AlphaCache.open(bad)).rejects.toThrow(/bad\.json: the α cache is not valid JSON/);
    writeFileSync(bad, JSON.stringify({ tasks: {} }));
    await expect(AlphaCache.open(bad)).rejects.toThrow(/bad\.json: not an α cache/);
    writeFileSync(
      bad,
      JSON.stringify({
        format: 't2-alpha-cache',
        tasks: { t: { experts: ['a', 'b'], targets: null, alpha: [1] } },
      }),
    );
    await expect(AlphaCache.open(bad)).rejects.toThrow(
      /bad\.json: task 't': "alpha" must be 2 finite numbers/,
    );
  });

  it('hands out copies, so callers cannot change cached entries', async () => {
    const cache = new AlphaCache();
    await cache.set('t', { experts: ['a', 'b'], targets: null, alpha: [0.5, 0.5] });
    cache.get('t')!.alpha[0] = 9;
    expect(cache.get('t')!.alpha).toEqual([0.5, 0.5]);
    expect(await cache.delete('t')).toBe(true);
    expect(cache.has('t')).toBe(false);
  });
});
