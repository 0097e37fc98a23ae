import { describe, expect, it } from 'vitest';
import {
  classificationTask,
  families,
  mixture,
  sampleTask,
  splitFractions,
  splitOf,
  splitSamples,
  splits,
} from '../src';

describe('splits', () => {
  it('fractions sum to 1', () => {
    expect(splits.reduce((sum, s) => sum + splitFractions[s], 0)).toBeCloseTo(1, 12);
  });

  for (const family of families) {
    it(`${family.name}: train, validation and test never share a prompt`, () => {
      const drawn = Object.fromEntries(
        splits.map((split) => [
          split,
          new Set(sampleTask(family, { n: 3000, seed: 11, split }).map((s) => s.prompt)),
        ]),
      ) as Record<(typeof splits)[number], Set<string>>;
      for (const split of splits) {
        for (const prompt of drawn[split]) expect(splitOf(prompt)).toBe(split);
      }
      for (const [a, b] of [
        ['train', 'validation'],
        ['train', 'test'],
        ['validation', 'test'],
      ] as const) {
        const shared = [...drawn[a]].filter((p) => drawn[b].has(p));
        expect(shared).toEqual([]);
      }
    });
  }

  it('the split ignores the seed and surrounding whitespace', () => {
    const a = sampleTask('arith', { n: 500, seed: 1, split: 'test' });
    const b = sampleTask('arith', { n: 500, seed: 2, split: 'train' });
    const test = new Set(a.map((s) => s.prompt));
    expect(b.filter((s) => test.has(s.prompt))).toEqual([]);
    for (const s of a) expect(splitOf(` ${s.prompt}\n`)).toBe('test');
  });

  it('splits unfiltered problems in about the stated proportions', () => {
    const counts = { train: 0, validation: 0, test: 0 };
    for (let i = 0; i < 20_000; i++) counts[splitOf(`problem ${i}`)]++;
    expect(counts.train / 20_000).toBeCloseTo(0.8, 1);
    expect(counts.validation / 20_000).toBeCloseTo(0.1, 1);
    expect(counts.test / 20_000).toBeCloseTo(0.1, 1);
  });

  it('mixtures and classification samples respect the split', () => {
    for (const s of mixture(families, { n: 500, seed: 3, split: 'validation' })) {
      expect(splitOf(s.prompt)).toBe('validation');
    }
    const wrapped = classificationTask({ n: 200, seed: 3, split: 'test' });
    for (const s of wrapped) {
      const inner = /^Category of: (.*)\n/.exec(s.prompt)![1]!;
      expect(splitOf(inner)).toBe('test');
    }
  });

  it('unique draws no prompt twice and fails when a split runs out', () => {
    const samples = sampleTask('logic', { n: 1000, seed: 2, split: 'test', unique: true });
    expect(new Set(samples.map((s) => s.prompt)).size).toBe(1000);
    // sort has 11,000 prompts in all, so about 1,100 in test.
    expect(() => sampleTask('sort', { n: 5000, split: 'test', unique: true })).toThrow(
      /could not draw 5000 distinct test problems/,
    );
  });

  it('splitSamples partitions user data by prompt', () => {
    const data = Array.from({ length: 300 }, (_, i) => ({ prompt: `q${i}`, answer: `${i}` }));
    const parts = splitSamples(data);
    expect(parts.train.length + parts.validation.length + parts.test.length).toBe(300);
    for (const split of splits) for (const s of parts[split]) expect(splitOf(s.prompt)).toBe(split);
  });
});
