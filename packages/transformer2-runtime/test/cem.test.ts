import { describe, expect, it } from 'vitest';
import { type CemScore, cem, compareScores } from '../src/index';

function dist2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

/** A concave quadratic in `accuracy` whose maximum is at `optimum`. */
function quadratic(optimum: number[]) {
  return (alpha: Float64Array): CemScore => ({ accuracy: -dist2(alpha, optimum), logLik: 0 });
}

describe('compareScores', () => {
  it('orders by accuracy, then by log-likelihood', () => {
    expect(
      compareScores({ accuracy: 0.5, logLik: -100 }, { accuracy: 0.4, logLik: 0 }),
    ).toBeGreaterThan(0);
    expect(
      compareScores({ accuracy: 0.4, logLik: 0 }, { accuracy: 0.5, logLik: -100 }),
    ).toBeLessThan(0);
    expect(
      compareScores({ accuracy: 0.5, logLik: -1 }, { accuracy: 0.5, logLik: -2 }),
    ).toBeGreaterThan(0);
    expect(
      compareScores({ accuracy: 0.5, logLik: -2 }, { accuracy: 0.5, logLik: -1 }),
    ).toBeLessThan(0);
    expect(compareScores({ accuracy: 0.5, logLik: -2 }, { accuracy: 0.5, logLik: -2 })).toBe(0);
  });
});

describe('cem', () => {
  it('converges to the optimum of a quadratic inside the box', async () => {
    const optimum = [0.2, 0.7, 0.45];
    const res = await cem(quadratic(optimum), { dim: 3, iterations: 15, seed: 1 });
    expect(Math.sqrt(dist2(res.alpha, optimum))).toBeLessThan(0.02);
    expect(res.score.accuracy).toBeCloseTo(-dist2(res.alpha, optimum), 12);
    // The starting point (uniform 0.5) is far worse than what was found.
    expect(res.score.accuracy).toBeGreaterThan(-dist2([0.5, 0.5, 0.5], optimum) / 100);
  });

  it('in 12 dimensions (per-layer α) needs a std floor to avoid collapsing early', async () => {
    const optimum = Array.from({ length: 12 }, (_, i) => ((i * 7) % 10) / 10);
    const start = Math.sqrt(dist2(new Float64Array(12).fill(1 / 3), optimum));
    for (const seed of [1, 4]) {
      const plain = await cem(quadratic(optimum), {
        dim: 12,
        iterations: 30,
        seed,
        initMean: 1 / 3,
      });
      const floored = await cem(quadratic(optimum), {
        dim: 12,
        iterations: 30,
        seed,
        initMean: 1 / 3,
        minStd: 0.03,
      });
      // Six elite members refit 12 stds: they shrink faster than the mean moves.
      expect(Math.max(...plain.history.at(-1)!.std)).toBeLessThan(0.005);
      expect(Math.sqrt(dist2(plain.alpha, optimum))).toBeLessThan(start / 2);
      expect(Math.min(...floored.history.at(-1)!.std)).toBeGreaterThanOrEqual(0.03);
      expect(Math.sqrt(dist2(floored.alpha, optimum))).toBeLessThan(0.07);
    }
  });

  it('clamps candidates into [0, 1] and finds the corner when the optimum lies outside', async () => {
    const res = await cem(quadratic([1.6, -0.4]), { dim: 2, iterations: 10, seed: 2 });
    for (const h of res.history)
      for (const c of h.candidates) for (const a of c) expect(a >= 0 && a <= 1).toBe(true);
    expect(res.alpha[0]).toBeCloseTo(1, 6);
    expect(res.alpha[1]).toBeCloseTo(0, 6);
  });

  it('keeps the best member: it leads the next population and is not evaluated again', async () => {
    let calls = 0;
    const objective = (a: Float64Array): CemScore => {
      calls++;
      return quadratic([0.3, 0.9])(a);
    };
    const population = 10;
    const iterations = 5;
    const res = await cem(objective, { dim: 2, population, iterations, seed: 4 });
    expect(calls).toBe(population * iterations - (iterations - 1));
    expect(res.evaluations).toBe(calls);
    // The first population starts at the initial mean (the uniform mixture in the runtime).
    expect(Array.from(res.history[0]!.candidates[0]!)).toEqual([0.5, 0.5]);
    for (let it = 1; it < iterations; it++) {
      const prevBest = res.history[it - 1]!.best;
      expect(res.history[it]!.scores[0]).toEqual(prevBest);
      // The best so far never gets worse.
      expect(compareScores(res.history[it]!.best, prevBest)).toBeGreaterThanOrEqual(0);
    }
  });

  it('refits mean and std to the elite fraction (int(32 · 0.2) = 6 members)', async () => {
    const res = await cem(quadratic([0.1, 0.8, 0.6]), { dim: 3, iterations: 2, seed: 5 });
    const first = res.history[0]!;
    expect(first.candidates).toHaveLength(32);
    const order = first.scores
      .map((s, i) => ({ s, i }))
      .sort((a, b) => compareScores(b.s, a.s) || a.i - b.i);
    const elite = order.slice(0, 6).map(({ i }) => first.candidates[i]!);
    for (let d = 0; d < 3; d++) {
      const m = elite.reduce((s, c) => s + c[d]!, 0) / 6;
      const sd = Math.sqrt(elite.reduce((s, c) => s + (c[d]! - m) ** 2, 0) / 6);
      expect(res.history[1]!.mean[d]).toBeCloseTo(m, 12);
      expect(res.history[1]!.std[d]).toBeCloseTo(sd, 12);
    }
    expect(Array.from(first.std)).toEqual([0.5, 0.5, 0.5]);
  });

  it('breaks accuracy ties by log-likelihood', async () => {
    // Accuracy is a plateau (every α with α0 > 0.3 is "all correct"); only the
    // log-likelihood says where on the plateau the correct answers are most likely.
    const target = [0.85, 0.15];
    const objective = (a: Float64Array): CemScore => ({
      accuracy: a[0]! > 0.3 ? 1 : 0,
      logLik: -dist2(a, target),
    });
    const res = await cem(objective, { dim: 2, iterations: 12, seed: 6 });
    expect(res.score.accuracy).toBe(1);
    expect(Math.sqrt(dist2(res.alpha, target))).toBeLessThan(0.03);

    // Without the tie-breaker the search has no reason to move towards the target.
    const flat = await cem((a) => ({ accuracy: objective(a).accuracy, logLik: 0 }), {
      dim: 2,
      iterations: 12,
      seed: 6,
    });
    expect(Math.sqrt(dist2(flat.alpha, target))).toBeGreaterThan(0.1);
  });

  it('is reproducible from its seed', async () => {
    const a = await cem(quadratic([0.4, 0.6]), { dim: 2, iterations: 3, seed: 7 });
    const b = await cem(quadratic([0.4, 0.6]), { dim: 2, iterations: 3, seed: 7 });
    const c = await cem(quadratic([0.4, 0.6]), { dim: 2, iterations: 3, seed: 8 });
    expect(Array.from(a.alpha)).toEqual(Array.from(b.alpha));
    expect(a.history.map((h) => h.scores)).toEqual(b.history.map((h) => h.scores));
    expect(a.history[0]!.candidates[1]).not.toEqual(c.history[0]!.candidates[1]);
  });

  it('awaits async objectives and reports progress after every iteration', async () => {
    const seen: number[] = [];
    const bests: number[] = [];
    const res = await cem(async (a) => quadratic([0.5, 0.2])(a), {
      dim: 2,
      iterations: 4,
      population: 8,
      onIteration: (p) => {
        seen.push(p.iteration);
        bests.push(p.best.accuracy);
        expect(p.iterations).toBe(4);
      },
    });
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(bests[3]).toBe(res.score.accuracy);
    for (let i = 1; i < bests.length; i++) expect(bests[i]!).toBeGreaterThanOrEqual(bests[i - 1]!);
  });

  it('rejects bad options and bad objective values with clear errors', async () => {
    const f = quadratic([0.5]);
    await expect(cem(f, { dim: 0 })).rejects.toThrow(/dim/);
    await expect(cem(f, { dim: 1, population: 1 })).rejects.toThrow(/population/);
    await expect(cem(f, { dim: 1, eliteRatio: 0 })).rejects.toThrow(/eliteRatio/);
    await expect(cem(f, { dim: 1, clamp: [1, 0] })).rejects.toThrow(/clamp/);
    await expect(cem(f, { dim: 2, initMean: [0.5] })).rejects.toThrow(
      /initMean has 1 values, dim is 2/,
    );
    await expect(cem(() => ({ accuracy: Number.NaN, logLik: 0 }), { dim: 1 })).rejects.toThrow(
      /objective returned/,
    );
  });
});
