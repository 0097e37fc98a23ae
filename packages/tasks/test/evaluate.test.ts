import { describe, expect, it } from 'vitest';
import {
  classificationReward,
  classificationTask,
  evaluate,
  exactMatchReward,
  families,
  mixture,
  numericReward,
  type Sample,
} from '../src';

describe('evaluate', () => {
  const samples = mixture(families, { n: 200, seed: 8, split: 'test' });
  const answers = new Map(samples.map((s) => [s.prompt, s.answer]));

  it('scores an oracle 1 and a silent model 0, overall and per category and family', async () => {
    const oracle = await evaluate(samples, async (p) => `${answers.get(p)}\nmore`);
    expect(oracle.accuracy).toBe(1);
    expect(oracle.meanReward).toBe(1);
    expect(oracle.total).toBe(200);
    expect(Object.keys(oracle.perFamily).sort()).toEqual(families.map((f) => f.name).sort());
    for (const score of Object.values(oracle.perCategory)) expect(score.accuracy).toBe(1);

    const silent = await evaluate(samples, async () => '');
    expect(silent.accuracy).toBe(0);
    expect(silent.meanReward).toBe(-1);
    expect(silent.correct).toBe(0);
  });

  it('splits accuracy by category when the model knows only one family', async () => {
    const result = await evaluate(samples, async (p) =>
      p.includes('+') || /^\d\d-\d\d=$/.test(p) ? answers.get(p)! : 'wrong',
    );
    const arith = samples.filter((s) => s.family === 'arith').length;
    expect(result.correct).toBe(arith);
    expect(result.accuracy).toBeCloseTo(arith / 200, 12);
    expect(result.perFamily.arith).toEqual({
      correct: arith,
      total: arith,
      accuracy: 1,
      meanReward: 1,
    });
    expect(result.perFamily.logic!.accuracy).toBe(0);
    // arith is the only math family, so the math category is exactly arith.
    expect(result.perCategory.math).toEqual(result.perFamily.arith);
    const total = Object.values(result.perCategory).reduce((n, s) => n + s.total, 0);
    expect(total).toBe(200);
  });

  it('uses exact match for user samples and counts uncategorised ones as other', async () => {
    const user: Sample[] = [
      { prompt: 'capital of France?', answer: 'Paris', category: 'geo' },
      { prompt: 'pi?', answer: '3.14159' },
      { prompt: 'e?', answer: '2.71828' },
    ];
    const outputs: Record<string, string> = {
      'capital of France?': 'Paris',
      'pi?': '3.14159',
      'e?': '2.72',
    };
    const seen: number[] = [];
    const exact = await evaluate(user, async (p) => outputs[p]!, {
      onResult: (_r, i) => seen.push(i),
    });
    expect(seen).toEqual([0, 1, 2]);
    expect(exact.correct).toBe(2);
    expect(exact.perCategory.geo!.accuracy).toBe(1);
    expect(exact.perCategory.other).toMatchObject({ correct: 1, total: 2, accuracy: 0.5 });
    expect(exact.perFamily).toEqual({});
    expect(exact.results.map((r) => r.correct)).toEqual([true, true, false]);

    const loose = await evaluate(user.slice(1), async (p) => outputs[p]!, {
      reward: numericReward(0.01),
    });
    expect(loose.accuracy).toBe(1);
  });

  it('takes a custom reward over the family reward', async () => {
    const result = await evaluate(samples.slice(0, 10), async (p) => ` ${answers.get(p)} x`, {
      reward: exactMatchReward,
    });
    expect(result.accuracy).toBe(0);
  });

  it('scores a classifier with classificationReward', async () => {
    const task = classificationTask({ n: 60, seed: 2, split: 'validation' });
    const labels = new Map(task.map((s) => [s.prompt, s.answer]));
    const result = await evaluate(task, async (p) => `${labels.get(p)!.slice(0, 3)}\n`, {
      reward: classificationReward,
    });
    expect(result.accuracy).toBe(1);
  });

  it('reports zeros for no samples', async () => {
    const result = await evaluate([], async () => '');
    expect(result).toEqual({
      correct: 0,
      total: 0,
      accuracy: 0,
      meanReward: 0,
      perCategory: {},
      perFamily: {},
      results: [],
    });
  });
});
