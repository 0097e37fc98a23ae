import { describe, expect, it } from 'vitest';
import { reconstruct, svd, topSplit } from '../src/index';
import { frobenius, randomMatrix } from './helpers';

describe('reconstruct and topSplit', () => {
  const m = 70;
  const n = 45;
  const a = randomMatrix(m, n, 21);
  const f = svd({ shape: [m, n], data: a });

  it('reconstruct gives back A', () => {
    const r = reconstruct(f);
    const diff = r.map((x, i) => x - a[i]!);
    expect(frobenius(diff) / frobenius(a)).toBeLessThan(1e-13);
  });

  it('top-r part plus residual is A, and the top part is the best rank-r approximation', () => {
    const r = 9;
    const { top, residual } = topSplit(f, r);
    expect([top.k, residual.k]).toEqual([r, n - r]);
    expect(Array.from(top.S)).toEqual(Array.from(f.S.subarray(0, r)));
    const wr = reconstruct(top);
    const wres = reconstruct(residual);
    const sum = wr.map((x, i) => x + wres[i]! - a[i]!);
    expect(frobenius(sum) / frobenius(a)).toBeLessThan(1e-13);
    // Eckart–Young: ‖A − A_r‖_F² = Σ_{i ≥ r} σ_i².
    const tail = Math.sqrt(f.S.subarray(r).reduce((s, x) => s + x * x, 0));
    const err = frobenius(wr.map((x, i) => a[i]! - x));
    expect(Math.abs(err - tail) / tail).toBeLessThan(1e-12);
    // reconstruct(f, r) is the same rank-r product.
    expect(frobenius(reconstruct(f, r).map((x, i) => x - wr[i]!))).toBeLessThan(1e-12);
  });

  it('validates r', () => {
    expect(() => topSplit(f, n + 1)).toThrow(/r must be/);
    expect(() => reconstruct(f, -1)).toThrow(/rank must be/);
  });
});
