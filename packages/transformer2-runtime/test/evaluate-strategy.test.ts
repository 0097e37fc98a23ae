import type { Sample } from '@t2/tasks';
import { describe, expect, it } from 'vitest';
import {
  evaluateStrategy,
  type FewShotExample,
  fewShotTask,
  settleTaskAlpha,
  Transformer2Runtime,
} from '../src/index';
import {
  classificationPrompt,
  coefficient,
  parseCategory,
  type StubExpert,
  StubModel,
  type StubWeights,
  stubRegistry,
} from './stub';

// The stub answers `<weights> :: <prompt>`; an answer is right when it was made by the
// expert of the sample's category (the answer names that expert with coefficient 1).
function sample(prompt: string, category: string, family?: string): Sample {
  const answer = `${['math', 'string', 'logic'].map((n) => `${n}=${n === category ? '1.00' : '0.00'}`).join(',')} :: ${prompt}`;
  return { prompt, answer, category, ...(family && { family }) };
}

const samples = [
  sample('2 plus 3 =', 'math'),
  sample('reverse abc', 'string'),
  sample('the sum of 2 and 2', 'math'), // the base model misses "sum"; the classifier does not
  sample('true or false: 1<2', 'logic'),
];

function runtime(model = new StubModel()) {
  const rt = new Transformer2Runtime<StubExpert, StubWeights>({
    model,
    registry: stubRegistry(),
    classification: { prompt: classificationPrompt, parse: parseCategory },
    generate: { maxNewTokens: 32 },
    now: () => model.clock,
  });
  return rt as unknown as Transformer2Runtime<unknown, unknown>;
}

const exact = (_p: string, output: string, answer: string) => (output === answer ? 1 : -1);

describe('evaluateStrategy', () => {
  it('scores the oracle by each sample’s category, and the base model as none', async () => {
    const oracle = await evaluateStrategy(runtime(), samples, 'oracle', { reward: exact });
    expect(oracle.evaluation).toMatchObject({ correct: 4, total: 4, accuracy: 1 });
    expect(oracle.outputs).toHaveLength(4);
    expect(oracle.traces.map((t) => t.label)).toEqual(['math', 'string', 'math', 'logic']);
    expect(oracle.routing).toBeUndefined();
    const none = await evaluateStrategy(runtime(), samples, 'none', { reward: exact });
    expect(none.evaluation.correct).toBe(0);
  });

  it('counts how often pass 1 named the category, overall and per task', async () => {
    const done: number[] = [];
    const prompt = await evaluateStrategy(runtime(), samples, 'prompt', {
      reward: exact,
      onProgress: (n) => done.push(n),
    });
    expect(done).toEqual([1, 2, 3, 4]);
    expect(prompt.routing).toMatchObject({ correct: 3, total: 4, accuracy: 0.75 });
    expect(prompt.routing!.perTask.math).toMatchObject({ correct: 1, total: 2 });
    expect(prompt.evaluation.accuracy).toBe(0.75);
    expect(prompt.evaluation.perCategory.math).toMatchObject({ correct: 1, total: 2 });
    const classifier = await evaluateStrategy(runtime(), samples, 'classifier', { reward: exact });
    expect(classifier.routing).toMatchObject({ correct: 4, total: 4 });
    expect(classifier.timings.totalMs).toBeGreaterThan(0);
  });

  it('few-shot settles α once per task, then answers every sample with it', async () => {
    const model = new StubModel();
    model.answer = (w) => (w && coefficient(w, 'logic') >= 0.4 ? 'yes' : 'no');
    model.logLik = (w) => (w ? -((coefficient(w, 'logic') - 0.8) ** 2) : -100);
    const rt = runtime(model);
    const shots: FewShotExample[] = [0, 1, 2].map((i) => ({ prompt: `q${i}`, answer: 'yes' }));
    const tasks: string[] = [];
    const data: Sample[] = [0, 1].map((i) => ({ prompt: `p${i}`, answer: 'yes', family: 'yn' }));
    const result = await evaluateStrategy(rt, data, 'few-shot', {
      reward: exact,
      shots: new Map([['yn', shots]]),
      fewShot: { iterations: 3, population: 8, seed: 0 },
      onTask: (task) => {
        tasks.push(task);
        return {};
      },
    });
    expect(tasks).toEqual(['yn']);
    expect(result.fewShot!.yn).toMatchObject({ source: 'search', examples: 3 });
    expect(result.evaluation.accuracy).toBe(1);
    // The second settling finds α in the cache.
    const again = await settleTaskAlpha(rt, 'yn', shots, { iterations: 3, population: 8 });
    expect(again.source).toBe('cache');
    expect(again.alpha).toEqual(result.fewShot!.yn!.alpha);
  });
});

describe('fewShotTask', () => {
  it('is the family, else the category, else data', () => {
    expect(fewShotTask({ family: 'arith', category: 'math' })).toBe('arith');
    expect(fewShotTask({ category: 'math' })).toBe('math');
    expect(fewShotTask({})).toBe('data');
  });
});
