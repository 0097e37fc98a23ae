// reconstruct and topSplit on a 3×2 decomposition written down by hand (issue #19).
import { describe, expect, it } from 'vitest';
import { reconstruct, type SvdResult, topSplit } from '../src/index';

// U [3, 2] and V [2, 2] with orthonormal columns, S = [5, 2]: A = U diag(S) Vᵀ.
const c = Math.cos(0.4);
const s = Math.sin(0.4);
const f: SvdResult = {
  U: Float64Array.from([0.6, 0, 0, 1, 0.8, 0]),
  S: Float64Array.from([5, 2]),
  V: Float64Array.from([c, -s, s, c]),
  m: 3,
  n: 2,
  k: 2,
};

/** Σ_{t < rank} U[i, t] S[t] V[j, t], by hand. */
function product(g: SvdResult, rank: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < g.m; i++)
    for (let j = 0; j < g.n; j++) {
      let v = 0;
      for (let t = 0; t < rank; t++) v += g.U[i * g.k + t]! * g.S[t]! * g.V[j * g.k + t]!;
      out.push(v);
    }
  return out;
}

function close(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 12);
}

describe('reconstruct', () => {
  it('is U diag(S) Vᵀ, or its first rank terms', () => {
    // A[0, 0] = 0.6 · 5 · cos 0.4 by hand
    expect(reconstruct(f)[0]).toBeCloseTo(3 * c, 12);
    close(reconstruct(f), product(f, 2));
    close(reconstruct(f, 1), product(f, 1));
    close(reconstruct(f, 2), product(f, 2));
    expect(Array.from(reconstruct(f, 0))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('refuses a rank outside [0, k] or not an integer', () => {
    expect(() => reconstruct(f, 3)).toThrow(
      'reconstruct: rank must be an integer in [0, 2], got 3',
    );
    expect(() => reconstruct(f, -1)).toThrow('got -1');
    expect(() => reconstruct(f, 1.5)).toThrow('got 1.5');
  });
});

describe('topSplit', () => {
  it('splits the triplets into the top r and the rest', () => {
    const { top, residual } = topSplit(f, 1);
    expect(top).toMatchObject({ m: 3, n: 2, k: 1 });
    expect(residual).toMatchObject({ m: 3, n: 2, k: 1 });
    expect(Array.from(top.U)).toEqual([0.6, 0, 0.8]);
    expect(Array.from(top.S)).toEqual([5]);
    expect(Array.from(top.V)).toEqual([c, s]);
    expect(Array.from(residual.U)).toEqual([0, 1, 0]);
    expect(Array.from(residual.S)).toEqual([2]);
    expect(Array.from(residual.V)).toEqual([-s, c]);
    const sum = reconstruct(top).map((v, i) => v + reconstruct(residual)[i]!);
    close(sum, product(f, 2));
  });

  it('r = 0 and r = k give an empty part', () => {
    const none = topSplit(f, 0);
    expect([none.top.k, none.residual.k]).toEqual([0, 2]);
    expect(none.top.U.length + none.top.S.length + none.top.V.length).toBe(0);
    close(reconstruct(none.residual), product(f, 2));
    const all = topSplit(f, 2);
    expect([all.top.k, all.residual.k]).toEqual([2, 0]);
    close(reconstruct(all.top), product(f, 2));
    expect(Array.from(reconstruct(all.residual))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('refuses r outside [0, k] or not an integer', () => {
    expect(() => topSplit(f, 3)).toThrow('topSplit: r must be an integer in [0, 2], got 3');
    expect(() => topSplit(f, -1)).toThrow('got -1');
    expect(() => topSplit(f, 0.5)).toThrow('got 0.5');
  });
});
