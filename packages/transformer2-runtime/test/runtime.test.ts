import { describe, expect, it } from 'vitest';
import { ExpertRegistry, type RuntimeOptions, Transformer2Runtime } from '../src/index';
import {
  classificationPrompt,
  coefficient,
  parseCategory,
  type StubExpert,
  StubModel,
  type StubWeights,
  stubRegistry,
} from './stub';

function runtime(
  model = new StubModel(),
  extra: Partial<RuntimeOptions<StubExpert, StubWeights>> = {},
) {
  return new Transformer2Runtime<StubExpert, StubWeights>({
    model,
    registry: stubRegistry(),
    classification: { prompt: classificationPrompt, parse: parseCategory },
    generate: { maxNewTokens: 32 },
    now: () => model.clock,
    ...extra,
  });
}

describe('strategy none', () => {
  it('answers with the base model and composes nothing', async () => {
    const model = new StubModel();
    const { output, trace } = await runtime(model).generate('2 plus 3 =', { strategy: 'none' });
    expect(output).toBe('base :: 2 plus 3 =');
    expect(trace).toMatchObject({ strategy: 'none', alpha: null });
    expect(trace.label).toBeUndefined();
    expect(trace.pass1Output).toBeUndefined();
    expect(model.composeCalls).toBe(0);
    expect(model.log).toHaveLength(1);
  });
});

describe('strategy prompt', () => {
  it('classifies with the base model, then answers with the chosen expert', async () => {
    const model = new StubModel();
    const { output, trace } = await runtime(model).generate('2 plus 3 =', { strategy: 'prompt' });
    // Pass 1 ran on the base model with a prompt listing the expert categories.
    expect(model.log[0]).toMatchObject({
      prompt: 'CLASSIFY[math,string,logic]: 2 plus 3 =',
      weights: 'base',
    });
    expect(model.log[0]!.options).toEqual({ maxNewTokens: 8, stop: ['\n'] });
    expect(output).toBe('math=1.00,string=0.00,logic=0.00 :: 2 plus 3 =');
    expect(model.log[1]!.options).toEqual({ maxNewTokens: 32 });
    expect(trace).toMatchObject({
      strategy: 'prompt',
      label: 'math',
      alpha: { math: 1, string: 0, logic: 0 },
      pass1Output: 'math\nmore text',
      cacheHit: false,
    });
  });

  it('falls back to the base model when the label names no expert', async () => {
    const model = new StubModel();
    const { output, trace } = await runtime(model).generate('what is the sum of 2 and 3', {
      strategy: 'prompt',
    });
    expect(trace.label).toBe('other');
    expect(trace.alpha).toBeNull();
    expect(output.startsWith('base ::')).toBe(true);
    expect(model.composeCalls).toBe(0);
  });

  it('lists the categories it is configured with', async () => {
    const model = new StubModel();
    const rt = runtime(model, {
      classification: {
        prompt: classificationPrompt,
        parse: parseCategory,
        categories: ['string', 'math'],
      },
    });
    await rt.generate('reverse abc', { strategy: 'prompt' });
    expect(model.log[0]!.prompt.startsWith('CLASSIFY[string,math]:')).toBe(true);
  });

  it('needs a classification prompt builder', async () => {
    const rt = runtime(new StubModel(), { classification: undefined });
    await expect(rt.generate('x', { strategy: 'prompt' })).rejects.toThrow(
      /RuntimeOptions\.classification/,
    );
  });
});

describe('strategy classifier', () => {
  it('runs pass 1 with the classification expert', async () => {
    const model = new StubModel();
    const rt = runtime(model);
    // The base model cannot place this prompt; the classification expert can.
    expect((await rt.classify('what is the sum of 2 and 3', 'base')).label).toBe('other');
    const { output, trace } = await rt.generate('what is the sum of 2 and 3', {
      strategy: 'classifier',
    });
    expect(model.log.at(-2)!.weights).toBe('classifier=1.00');
    expect(trace).toMatchObject({
      strategy: 'classifier',
      label: 'math',
      alpha: { math: 1, string: 0, logic: 0 },
    });
    expect(output.startsWith('math=1.00,string=0.00,logic=0.00 ::')).toBe(true);
  });

  it('fails clearly without a classification expert', async () => {
    const model = new StubModel();
    const rt = new Transformer2Runtime({
      model,
      registry: stubRegistry(false),
      classification: { prompt: classificationPrompt, parse: parseCategory },
    });
    await expect(rt.generate('x', { strategy: 'classifier' })).rejects.toThrow(
      /no classification expert/,
    );
  });
});

describe('strategy oracle', () => {
  it('uses the given label (case-insensitively), and the base model for unknown labels', async () => {
    const model = new StubModel();
    const rt = runtime(model);
    const a = await rt.generate('abc', { strategy: 'oracle', label: 'String' });
    expect(a.trace.alpha).toEqual({ math: 0, string: 1, logic: 0 });
    expect(a.trace.label).toBe('String');
    const b = await rt.generate('abc', { strategy: 'oracle', label: 'poetry' });
    expect(b.trace.alpha).toBeNull();
    expect(b.output.startsWith('base ::')).toBe(true);
    // No classification pass.
    expect(model.log.every((l) => !l.prompt.startsWith('CLASSIFY'))).toBe(true);
    await expect(rt.generate('abc', { strategy: 'oracle' })).rejects.toThrow(/options\.label/);
  });
});

describe('runtime', () => {
  it('rejects unknown strategies and empty registries', async () => {
    const rt = runtime();
    // biome-ignore lint/suspicious/noExplicitAny: an invalid value on purpose
    await expect(rt.generate('x', { strategy: 'magic' as any })).rejects.toThrow(
      /unknown strategy 'magic'/,
    );
    expect(
      () =>
        new Transformer2Runtime({
          model: new StubModel(),
          registry: new ExpertRegistry<StubExpert>(),
        }),
    ).toThrow(/no task experts/);
  });

  it('times each pass', async () => {
    const model = new StubModel();
    const rt = runtime(model);
    const first = await rt.generate('2 plus 3 =', { strategy: 'prompt' });
    // The stub's clock: 100 per classification, 3 per composition, 7 per answer.
    expect(first.trace.timings).toEqual({
      pass1Ms: 100,
      adaptMs: 0,
      composeMs: 3,
      pass2Ms: 7,
      totalMs: 110,
    });
    const again = await rt.generate('2 plus 3 =', { strategy: 'prompt' });
    expect(again.trace.timings).toEqual({
      pass1Ms: 100,
      adaptMs: 0,
      composeMs: 0,
      pass2Ms: 7,
      totalMs: 107,
    });
  });

  it('serialises concurrent calls so that no pass switches the weights under another', async () => {
    const model = new StubModel();
    model.delay = 5;
    const rt = runtime(model);
    const prompts = [
      '2 plus 3',
      'reverse abc',
      'true or false: x',
      'hello',
      '4 plus 4',
      'reverse xyz',
    ];
    const results = await Promise.all(prompts.map((p) => rt.generate(p, { strategy: 'prompt' })));
    expect(results.map((r) => r.trace.label)).toEqual([
      'math',
      'string',
      'logic',
      'other',
      'math',
      'string',
    ]);
    for (const r of results) {
      const expected = r.trace.alpha ? `${r.trace.label}=1.00` : 'base';
      expect(r.output).toContain(expected);
    }
  });

  it('keeps working after a failed call', async () => {
    const rt = runtime();
    await expect(rt.generate('x', { strategy: 'oracle' })).rejects.toThrow();
    await expect(rt.generate('2 plus 2', { strategy: 'prompt' })).resolves.toMatchObject({
      trace: { label: 'math' },
    });
  });
});

describe('composition cache', () => {
  it('does not recompose for repeated prompts', async () => {
    const model = new StubModel();
    const rt = runtime(model);
    const hits: boolean[] = [];
    for (let i = 0; i < 5; i++)
      hits.push((await rt.generate('2 plus 3 =', { strategy: 'prompt' })).trace.cacheHit);
    expect(model.composeCalls).toBe(1);
    expect(hits).toEqual([false, true, true, true, true]);
    expect(rt.cacheStats()).toMatchObject({ hits: 4, misses: 1, compositions: 1, size: 1 });
  });

  it('switches back to a recent mixture without recomposing', async () => {
    const model = new StubModel();
    const rt = runtime(model, { cacheSize: 4 });
    for (let i = 0; i < 4; i++) {
      await rt.generate(`${i} plus 1`, { strategy: 'prompt' });
      await rt.generate(`reverse ${i}`, { strategy: 'prompt' });
      await rt.generate(`what is the sum of ${i} and 1`, { strategy: 'classifier' });
    }
    // math, string and the classification expert: three compositions for twelve prompts.
    expect(model.composeCalls).toBe(3);
    expect(model.released).toHaveLength(0);
  });

  it('evicts the least recently used mixture and releases its weights', async () => {
    const model = new StubModel();
    const rt = runtime(model, { cacheSize: 1 });
    for (let i = 0; i < 3; i++) {
      await rt.generate('1 plus 1', { strategy: 'prompt' });
      await rt.generate('reverse ab', { strategy: 'prompt' });
    }
    expect(model.composeCalls).toBe(6);
    expect(model.released.map((w) => coefficient(w, 'math'))).toEqual([1, 0, 1, 0, 1]);
    expect(rt.cacheStats()).toMatchObject({ evictions: 5, size: 1, capacity: 1 });
  });

  it('switches the model only when the weights change', async () => {
    const model = new StubModel();
    const rt = runtime(model);
    for (let i = 0; i < 4; i++) await rt.generate('x', { strategy: 'oracle', label: 'logic' });
    expect(model.useCalls).toBe(1);
    await rt.generate('x', { strategy: 'none' });
    await rt.generate('x', { strategy: 'none' });
    expect(model.useCalls).toBe(2);
  });
});
