import { describe, expect, it } from 'vitest';
import { mcnemarExact, pairedComparison } from '../src/stats';

describe('mcnemarExact', () => {
  it('is the two-sided binomial tail of the discordant counts', () => {
    // Bin(5, 1/2): P(X ≤ 0) = 1/32, doubled.
    expect(mcnemarExact(0, 5)).toBeCloseTo(2 / 32, 12);
    expect(mcnemarExact(5, 0)).toBeCloseTo(2 / 32, 12);
    // Bin(10, 1/2): P(X ≤ 1) = 11/1024, doubled.
    expect(mcnemarExact(9, 1)).toBeCloseTo(22 / 1024, 12);
    // Balanced counts: no evidence, capped at 1.
    expect(mcnemarExact(3, 3)).toBe(1);
    expect(mcnemarExact(0, 0)).toBe(1);
  });

  it('stays finite and tiny for thousands of discordant problems', () => {
    const p = mcnemarExact(700, 300);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1e-30);
  });
});

describe('pairedComparison', () => {
  it('counts discordant pairs and uses McNemar for 0/1 scores', () => {
    const c = pairedComparison([0, 0, 0, 1], [1, 1, 0, 1], { resamples: 2000 });
    expect(c.n).toBe(4);
    expect(c.meanA).toBe(0.25);
    expect(c.meanB).toBe(0.75);
    expect(c.diff).toBe(0.5);
    expect(c.bBetter).toBe(2);
    expect(c.aBetter).toBe(0);
    expect(c.test).toBe('mcnemar-exact');
    expect(c.pValue).toBeCloseTo(0.5, 12);
  });

  it('gives a degenerate interval when every problem moves by the same amount', () => {
    const a = Array.from({ length: 50 }, () => 0.25);
    const b = Array.from({ length: 50 }, () => 0.75);
    const c = pairedComparison(a, b, { resamples: 500 });
    expect(c.ci95[0]).toBeCloseTo(0.5, 12);
    expect(c.ci95[1]).toBeCloseTo(0.5, 12);
    expect(c.test).toBe('sign-flip');
    // Every sign flip of 50 equal differences is at most as extreme only when all agree.
    expect(c.pValue).toBeLessThan(0.01);
  });

  it('covers the true difference and is about ±2 standard errors wide', () => {
    // 1000 problems: A right on the first 300, B right on the first 400 (100 gained).
    const a = Array.from({ length: 1000 }, (_, i) => (i < 300 ? 1 : 0));
    const b = Array.from({ length: 1000 }, (_, i) => (i < 400 ? 1 : 0));
    const c = pairedComparison(a, b, { seed: 3 });
    expect(c.diff).toBeCloseTo(0.1, 12);
    // The paired differences are 0/1 with mean 0.1: standard error sqrt(0.1 · 0.9 / 1000).
    const se = Math.sqrt(0.09 / 1000);
    expect(c.ci95[0]).toBeGreaterThan(0.1 - 2.3 * se);
    expect(c.ci95[0]).toBeLessThan(0.1 - 1.6 * se);
    expect(c.ci95[1]).toBeGreaterThan(0.1 + 1.6 * se);
    expect(c.ci95[1]).toBeLessThan(0.1 + 2.3 * se);
    expect(c.pValue).toBeLessThan(1e-20);
  });

  it('sees no effect when B only reshuffles which problems are right', () => {
    const a = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const b = Array.from({ length: 400 }, (_, i) => (i % 2 === 1 ? 1 : 0));
    const c = pairedComparison(a, b);
    expect(c.diff).toBe(0);
    expect(c.pValue).toBe(1);
    expect(c.ci95[0]).toBeLessThan(0);
    expect(c.ci95[1]).toBeGreaterThan(0);
  });

  it('refuses mismatched, empty or non-finite scores', () => {
    expect(() => pairedComparison([1], [1, 0])).toThrow(/1 scores vs 2/);
    expect(() => pairedComparison([], [])).toThrow(/no problems/);
    expect(() => pairedComparison([Number.NaN], [1])).toThrow(/not finite/);
  });
});
