// CEM's option checks, its elite refit and its bookkeeping, case by case (issue #19: each
// assertion here was asked for by a mutant that the search tests let through).
import { Rng } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { type CemScore, cem } from '../src/index';

const flat = (): CemScore => ({ accuracy: 0, logLik: 0 });
const peak =
  (at: number[]) =>
  (a: Float64Array): CemScore => ({
    accuracy: -a.reduce((s, x, i) => s + (x - at[i]!) ** 2, 0),
    logLik: 0,
  });

describe('cem options', () => {
  it('names each bad option and its value', async () => {
    const bad: [object, RegExp][] = [
      [{ dim: 0 }, /dim must be an integer ≥ 1, got 0/],
      [{ dim: 1.5 }, /dim must be an integer ≥ 1, got 1.5/],
      [{ dim: 1, population: 1 }, /population must be an integer ≥ 2, got 1/],
      [{ dim: 1, population: 4.5 }, /population must be an integer ≥ 2, got 4.5/],
      [{ dim: 1, eliteRatio: 0 }, /eliteRatio must be in \(0, 1\], got 0/],
      [{ dim: 1, eliteRatio: 1.5 }, /eliteRatio must be in \(0, 1\], got 1.5/],
      [{ dim: 1, eliteRatio: Number.NaN }, /eliteRatio must be in \(0, 1\], got NaN/],
      [{ dim: 1, iterations: 0 }, /iterations must be an integer ≥ 1, got 0/],
      [{ dim: 1, iterations: 2.5 }, /iterations must be an integer ≥ 1, got 2.5/],
      [{ dim: 1, initStd: -0.1 }, /initStd must be finite and ≥ 0, got -0.1/],
      [{ dim: 1, initStd: Number.POSITIVE_INFINITY }, /initStd must be finite and ≥ 0, got Inf/],
      [{ dim: 1, initStd: Number.NaN }, /initStd must be finite and ≥ 0, got NaN/],
      [{ dim: 1, minStd: -1 }, /minStd must be finite and ≥ 0, got -1/],
      [{ dim: 1, minStd: Number.POSITIVE_INFINITY }, /minStd must be finite and ≥ 0, got Inf/],
      [{ dim: 1, minStd: Number.NaN }, /minStd must be finite and ≥ 0, got NaN/],
      [{ dim: 1, clamp: [1, 0] }, /clamp must be \[low, high\] with low ≤ high, got \[1, 0\]/],
      [{ dim: 1, clamp: [0, Number.NaN] }, /clamp must be/],
      [{ dim: 1, seed: 0.5 }, /seed must be an integer, got 0.5/],
      [{ dim: 2, initMean: [0.5] }, /initMean has 1 values, dim is 2/],
      [{ dim: 2, initMean: [0.5, Number.NaN] }, /initMean\[1\] is NaN/],
      [{ dim: 1, initMean: Number.POSITIVE_INFINITY }, /initMean\[0\] is Infinity/],
    ];
    for (const [opts, message] of bad) {
      await expect(cem(flat, opts as { dim: number }), JSON.stringify(opts)).rejects.toThrow(
        message,
      );
    }
  });

  it('accepts every boundary value', async () => {
    const res = await cem(flat, {
      dim: 1,
      population: 2,
      eliteRatio: 1,
      iterations: 1,
      initStd: 0,
      minStd: 0,
      clamp: [0.3, 0.3],
      seed: 0,
    });
    expect(res.evaluations).toBe(2);
    expect(Array.from(res.alpha)).toEqual([0.3]);
  });

  it('clamps the initial mean into the box, per coordinate', async () => {
    const res = await cem(flat, {
      dim: 3,
      iterations: 1,
      population: 2,
      initMean: [-1, 0.25, 7],
      clamp: [0, 1],
    });
    expect(Array.from(res.history[0]!.mean)).toEqual([0, 0.25, 1]);
    expect(Array.from(res.history[0]!.candidates[0]!)).toEqual([0, 0.25, 1]);
    const one = await cem(flat, { dim: 2, iterations: 1, population: 2, initMean: 3 });
    expect(Array.from(one.history[0]!.mean)).toEqual([1, 1]);
  });

  it('draws the first population from the defaults: mean 0.5, std 0.5, 32 members, seed 0', async () => {
    const a = await cem(flat, { dim: 2, iterations: 1 });
    expect(Array.from(a.history[0]!.mean)).toEqual([0.5, 0.5]);
    expect(Array.from(a.history[0]!.std)).toEqual([0.5, 0.5]);
    expect(a.history[0]!.candidates).toHaveLength(32);
    const b = await cem(flat, { dim: 2, iterations: 1, seed: 0 });
    expect(b.history[0]!.candidates).toEqual(a.history[0]!.candidates);
    // the box [0, 1]: some draws of N(0.5, 0.5) fall outside and are clamped onto its faces
    const all = a.history[0]!.candidates.flatMap((c) => Array.from(c));
    expect(Math.min(...all)).toBe(0);
    expect(Math.max(...all)).toBe(1);
  });
});

describe('cem refit and bookkeeping', () => {
  it('keeps at least one elite member: int(4 · 0.1) = 0 becomes 1', async () => {
    const res = await cem(peak([0.9]), { dim: 1, population: 4, eliteRatio: 0.1, iterations: 2 });
    const first = res.history[0]!;
    let bestIndex = 0;
    first.scores.forEach((s, i) => {
      if (s.accuracy > first.scores[bestIndex]!.accuracy) bestIndex = i;
    });
    // one elite: the new mean is that member and the std is 0
    expect(Array.from(res.history[1]!.mean)).toEqual(Array.from(first.candidates[bestIndex]!));
    expect(Array.from(res.history[1]!.std)).toEqual([0]);
  });

  it('floors the refitted std at minStd', async () => {
    const res = await cem(peak([0.9]), {
      dim: 1,
      population: 4,
      eliteRatio: 0.25,
      iterations: 2,
      minStd: 0.05,
    });
    expect(Array.from(res.history[1]!.std)).toEqual([0.05]);
  });

  it('the std of the elite is the population std (divided by n), per coordinate', async () => {
    const res = await cem(peak([0.2, 0.8]), { dim: 2, population: 10, eliteRatio: 0.5 });
    const h = res.history[0]!;
    const ranked = h.scores
      .map((s, i) => ({ s: s.accuracy, i }))
      .sort((a, b) => b.s - a.s || a.i - b.i)
      .slice(0, 5);
    for (let d = 0; d < 2; d++) {
      const xs = ranked.map(({ i }) => h.candidates[i]![d]!);
      const m = xs.reduce((s, x) => s + x, 0) / 5;
      const sd = Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / 5);
      expect(res.history[1]!.mean[d]).toBeCloseTo(m, 12);
      expect(res.history[1]!.std[d]).toBeCloseTo(sd, 12);
    }
  });

  it('counts evaluations: the kept best member is not evaluated again', async () => {
    let calls = 0;
    const res = await cem(
      (a) => {
        calls++;
        return peak([0.3])(a);
      },
      { dim: 1, population: 8, iterations: 3 },
    );
    expect(calls).toBe(8 + 7 + 7);
    expect(res.evaluations).toBe(calls);
  });

  it('a later candidate only replaces the best when strictly better', async () => {
    // Every candidate scores the same: the incumbent (the initial mean) stays the best.
    const res = await cem(flat, { dim: 2, population: 6, iterations: 3, initMean: [0.3, 0.6] });
    expect(Array.from(res.alpha)).toEqual([0.3, 0.6]);
    for (const h of res.history) expect(Array.from(h.candidates[0]!)).toEqual([0.3, 0.6]);
  });

  it('reports this iteration’s best apart from the best so far', async () => {
    const progress: { it: number; best: number; iterationBest: number; evaluations: number }[] = [];
    const res = await cem(peak([0.7]), {
      dim: 1,
      population: 5,
      iterations: 3,
      onIteration: (p) =>
        progress.push({
          it: p.iteration,
          best: p.best.accuracy,
          iterationBest: p.iterationBest.accuracy,
          evaluations: p.evaluations,
        }),
    });
    expect(progress.map((p) => p.evaluations)).toEqual([5, 9, 13]);
    res.history.forEach((h, i) => {
      const iterationBest = Math.max(...h.scores.map((s) => s.accuracy));
      expect(progress[i]!.iterationBest).toBe(iterationBest);
      expect(progress[i]!.best).toBe(h.best.accuracy);
    });
    expect(res.score.accuracy).toBe(progress[2]!.best);
  });

  it('refuses objective values that are not two numbers, and keeps only those two', async () => {
    const bad: unknown[] = [
      null,
      { accuracy: '1', logLik: 0 },
      { accuracy: Number.NaN, logLik: 0 },
      { accuracy: 1 },
      { accuracy: 1, logLik: Number.NaN },
      { accuracy: 1, logLik: '0' },
    ];
    for (const v of bad) {
      await expect(
        cem(() => v as CemScore, { dim: 1 }),
        JSON.stringify(v),
      ).rejects.toThrow(
        /the objective returned .* for evaluation 0; expected \{ accuracy, logLik \} numbers/,
      );
    }
    // A bad value later on names its evaluation.
    let n = 0;
    await expect(cem(() => (n++ === 3 ? ({} as CemScore) : flat()), { dim: 1 })).rejects.toThrow(
      /for evaluation 3/,
    );
    const res = await cem(() => ({ accuracy: 1, logLik: 2, extra: 3 }) as CemScore, {
      dim: 1,
      iterations: 1,
      population: 2,
    });
    expect(res.history[0]!.scores[0]).toEqual({ accuracy: 1, logLik: 2 });
  });
  it('draws candidates as mean + std · N(0, 1) from Rng(seed), coordinate by coordinate', async () => {
    const res = await cem(flat, {
      dim: 2,
      population: 4,
      iterations: 1,
      initMean: [0.3, 0.6],
      initStd: 0.05,
      seed: 11,
    });
    const rng = new Rng(11);
    const want = [[0.3, 0.6]];
    for (let k = 1; k < 4; k++) want.push([0.3 + 0.05 * rng.normal(), 0.6 + 0.05 * rng.normal()]);
    const got = res.history[0]!.candidates.map((c) => Array.from(c));
    for (let k = 0; k < 4; k++) {
      for (let d = 0; d < 2; d++) expect(got[k]![d]).toBeCloseTo(want[k]![d]!, 12);
    }
  });

  it('on equal scores the elite is taken in population order', async () => {
    // All six tie: the elite (3) is members 0, 1, 2, so the new mean is their average.
    const res = await cem(flat, { dim: 1, population: 6, eliteRatio: 0.5, iterations: 2 });
    const c = res.history[0]!.candidates.map((x) => x[0]!);
    expect(res.history[1]!.mean[0]).toBeCloseTo((c[0]! + c[1]! + c[2]!) / 3, 12);
  });

  it('hands the objective a copy, and returns copies', async () => {
    // An objective that scribbles on its argument must not change the search.
    const clean = await cem(peak([0.4]), { dim: 1, population: 6, iterations: 3, seed: 2 });
    const messy = await cem(
      (a) => {
        const score = peak([0.4])(a);
        a.fill(99);
        return score;
      },
      { dim: 1, population: 6, iterations: 3, seed: 2 },
    );
    expect(messy.history.map((h) => h.candidates)).toEqual(clean.history.map((h) => h.candidates));
    expect(Array.from(messy.alpha)).toEqual(Array.from(clean.alpha));
    // The history's candidates do not share storage between iterations.
    const kept = Array.from(clean.history[1]!.candidates[0]!);
    for (const c of clean.history[0]!.candidates) c.fill(-1);
    expect(Array.from(clean.history[1]!.candidates[0]!)).toEqual(kept);
  });
});
