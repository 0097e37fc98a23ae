import { describe, expect, it } from 'vitest';
import { randomizedSvd, svd } from '../src/index';
import { orthogonalityError, randomMatrix, withSpectrum } from './helpers';

describe('randomizedSvd', () => {
  const m = 300;
  const n = 200;
  // σ_i = 0.8^i: the top values dominate the tail the random sample has to see through.
  const sigma = Array.from({ length: 120 }, (_, i) => 0.8 ** i);
  const a = withSpectrum(m, n, sigma, 11);

  it('captures the top-r singular values of a decaying spectrum to 1e-10 relative error', () => {
    const r = 10;
    const f = randomizedSvd({ rows: m, cols: n, data: a }, { rank: r, seed: 1 });
    expect([f.m, f.n, f.k]).toEqual([m, n, r]);
    for (let i = 0; i < r; i++)
      expect(Math.abs(f.S[i]! - sigma[i]!) / sigma[i]!).toBeLessThan(1e-10);
    expect(orthogonalityError(f.U, m, r)).toBeLessThan(1e-12);
    expect(orthogonalityError(f.V, n, r)).toBeLessThan(1e-12);
  });

  it('its singular vectors match the exact ones to the (σ_l/σ_j)^(2q+1) bound', () => {
    const r = 8;
    const f = randomizedSvd({ rows: m, cols: n, data: a }, { rank: r, seed: 3 });
    const exact = svd({ rows: m, cols: n, data: a }, { rank: r });
    // Halko et al.: with l = r + oversample samples and q power iterations, the subspace error
    // for σ_j decays like (σ_l / σ_j)^(2q+1); defaults are oversample 10, q = 2.
    const l = r + 10;
    for (let c = 0; c < r; c++) {
      const bound = 10 * (sigma[l]! / sigma[c]!) ** 5;
      let du = 0;
      for (let i = 0; i < m; i++)
        du = Math.max(du, Math.abs(f.U[i * r + c]! - exact.U[i * r + c]!));
      let dv = 0;
      for (let j = 0; j < n; j++)
        dv = Math.max(dv, Math.abs(f.V[j * r + c]! - exact.V[j * r + c]!));
      expect(du).toBeLessThan(bound);
      expect(dv).toBeLessThan(bound);
    }
  });

  it('without power iterations it is less accurate on a flat spectrum, as the theory says', () => {
    const flat = randomMatrix(200, 150, 4);
    const exact = svd({ rows: 200, cols: 150, data: flat }, { rank: 5 });
    const errorWith = (powerIters: number) => {
      const f = randomizedSvd(
        { rows: 200, cols: 150, data: flat },
        { rank: 5, oversample: 5, powerIters, seed: 9 },
      );
      return Math.abs(f.S[0]! - exact.S[0]!) / exact.S[0]!;
    };
    expect(errorWith(4)).toBeLessThan(errorWith(0));
    expect(errorWith(4)).toBeLessThan(0.05);
  });

  it('is deterministic per seed and handles wide, full-rank and zero inputs', () => {
    const wide = randomMatrix(30, 90, 2);
    const f1 = randomizedSvd({ rows: 30, cols: 90, data: wide }, { rank: 4, seed: 42 });
    const f2 = randomizedSvd({ rows: 30, cols: 90, data: wide }, { rank: 4, seed: 42 });
    expect(f1.U).toEqual(f2.U);
    expect(f1.S).toEqual(f2.S);
    // rank + oversample ≥ min(m, n): the sample spans the whole range, so the result is exact.
    const full = randomizedSvd({ rows: 30, cols: 90, data: wide }, { rank: 25 });
    const exact = svd({ rows: 30, cols: 90, data: wide });
    for (let i = 0; i < 25; i++)
      expect(Math.abs(full.S[i]! - exact.S[i]!)).toBeLessThan(1e-12 * exact.S[0]!);
    const zero = randomizedSvd({ rows: 20, cols: 10, data: new Float64Array(200) }, { rank: 3 });
    expect(Array.from(zero.S)).toEqual([0, 0, 0]);
    expect(orthogonalityError(zero.U, 20, 3)).toBeLessThan(1e-12);
  });

  it('validates its options', () => {
    const data = new Float64Array(12);
    expect(() => randomizedSvd({ rows: 3, cols: 4, data }, { rank: 4 })).toThrow(/rank/);
    expect(() => randomizedSvd({ rows: 3, cols: 4, data }, { rank: 1, oversample: -1 })).toThrow(
      /oversample/,
    );
    expect(() => randomizedSvd({ rows: 3, cols: 4, data }, { rank: 1, powerIters: 0.5 })).toThrow(
      /powerIters/,
    );
  });
});
