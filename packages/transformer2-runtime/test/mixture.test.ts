import { fromArray } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  alphaPerExpert,
  alphaTable,
  ComposedLinear,
  CompositionCache,
  mixtureKey,
  normaliseAlpha,
  oneHotAlpha,
  uniformAlpha,
} from '../src/index';

describe('α helpers', () => {
  it('normalise per expert to sum 1', () => {
    expect(Array.from(normaliseAlpha([0.2, 0.6, 0.2], { experts: 3, targets: null }))).toEqual([
      0.2, 0.6, 0.2,
    ]);
    const a = normaliseAlpha([1, 3], { experts: 2, targets: null });
    expect(Array.from(a)).toEqual([0.25, 0.75]);
  });

  it('normalise per adapted weight across experts when α is per layer', () => {
    // K = 2 rows, 3 columns: each column sums to 1 afterwards.
    const a = normaliseAlpha([1, 0, 0.5, 1, 0, 0.5], { experts: 2, targets: 3 });
    expect(Array.from(a)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    const b = normaliseAlpha([0.3, 0, 0.1, 0.8], { experts: 2, targets: 2 });
    expect(b[0]! + b[2]!).toBeCloseTo(1, 15);
    expect(b[1]! + b[3]!).toBeCloseTo(1, 15);
    expect(b[0]).toBeCloseTo(0.75, 15);
    expect(b[1]).toBe(0);
  });

  it('turn an all-zero column into the uniform mixture and reject bad values', () => {
    expect(Array.from(normaliseAlpha([0, 0, 0], { experts: 3, targets: null }))).toEqual([
      1 / 3,
      1 / 3,
      1 / 3,
    ]);
    expect(() => normaliseAlpha([0.5, -0.1], { experts: 2, targets: null })).toThrow(
      /alpha\[1\] is -0.1/,
    );
    expect(() => normaliseAlpha([0.5], { experts: 2, targets: null })).toThrow(
      /got 1 coefficients, expected 2/,
    );
  });

  it('build one-hot, uniform and table forms', () => {
    const shape = { experts: 3, targets: 2 };
    expect(Array.from(uniformAlpha(shape))).toEqual(new Array(6).fill(1 / 3));
    expect(Array.from(oneHotAlpha(shape, 1))).toEqual([0, 0, 1, 1, 0, 0]);
    expect(alphaTable(Float64Array.from([1, 2, 3, 4, 5, 6]), shape)).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(alphaTable(Float64Array.from([1, 2]), { experts: 2, targets: null })).toEqual([1, 2]);
    expect(alphaPerExpert(Float64Array.from([1, 2, 3, 4, 5, 6]), shape)).toEqual([1.5, 3.5, 5.5]);
    expect(() => oneHotAlpha(shape, 3)).toThrow(/out of range/);
  });

  it('key mixtures by experts and exact coefficients', () => {
    const a = mixtureKey(['a', 'b'], [0.1, 0.9]);
    expect(mixtureKey(['a', 'b'], Float64Array.from([0.1, 0.9]))).toBe(a);
    expect(mixtureKey(['b', 'a'], [0.1, 0.9])).not.toBe(a);
    expect(mixtureKey(['a', 'b'], [0.1 + 1e-16 * 3, 0.9])).not.toBe(a);
  });
});

describe('CompositionCache', () => {
  it('composes on a miss only, and evicts the least recently used entry', () => {
    const evicted: string[] = [];
    const cache = new CompositionCache<string>(2, (w) => evicted.push(w));
    let composed = 0;
    const get = (k: string) => cache.get(k, () => `${k}#${++composed}`);
    expect(get('a')).toEqual({ weights: 'a#1', hit: false });
    expect(get('b').hit).toBe(false);
    expect(get('a')).toEqual({ weights: 'a#1', hit: true });
    get('c'); // b is the least recently used now
    expect(evicted).toEqual(['b#2']);
    expect(cache.has('a') && cache.has('c') && !cache.has('b')).toBe(true);
    expect(cache.stats()).toEqual({
      hits: 1,
      misses: 3,
      compositions: 3,
      evictions: 1,
      size: 2,
      capacity: 2,
    });
    cache.clear();
    expect(evicted).toEqual(['b#2', 'a#1', 'c#3']);
    expect(() => new CompositionCache(0)).toThrow(/capacity/);
  });
});

describe('ComposedLinear', () => {
  it("computes x W'ᵀ + b with the composed weight and exposes only the base parameters", () => {
    const base = { weight: fromArray([1, 0, 0, 1], [2, 2]), bias: fromArray([0.5, -0.5], [2]) };
    const layer = new ComposedLinear(base, fromArray([2, 1, 0, 3], [2, 2]), 'mlp.up_proj');
    const y = layer.forward(fromArray([1, 2], [1, 2]));
    expect(Array.from(y.data)).toEqual([2 * 1 + 1 * 2 + 0.5, 0 + 3 * 2 - 0.5]);
    expect(layer.namedParameters().map(([n, t]) => [n, Array.from(t.data)])).toEqual([
      ['weight', [1, 0, 0, 1]],
      ['bias', [0.5, -0.5]],
    ]);
    expect(() => layer.forward(fromArray([1, 2, 3], [1, 3]))).toThrow(/'mlp\.up_proj' \(2→2\)/);
    expect(() => new ComposedLinear(base, fromArray([1, 2], [1, 2]), 'p')).toThrow(
      /differs from the base weight/,
    );
  });
});
