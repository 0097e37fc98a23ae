// The bidiagonal solvers directly, on inputs that exercise deflation and splitting.
import { describe, expect, it } from 'vitest';
import { bidiagonalDivideAndConquer } from '../src/lapack/bdsdc';
import { bidiagonalQr } from '../src/lapack/bdsqr';
import { orthogonalityError, rng } from './helpers';

const cases: Array<[string, number, (i: number, next: () => number) => [number, number]]> = [
  ['random', 300, (_, r) => [r() - 0.5, r() - 0.5]],
  ['all ones (clustered)', 200, () => [1, 1]],
  ['identity (everything deflates)', 120, () => [1, 0]],
  ['zeros on the diagonal', 150, (i, r) => [i % 3 === 0 ? 0 : r(), r()]],
  ['zeros on the superdiagonal (splits)', 150, (i, r) => [r(), i % 5 === 0 ? 0 : r()]],
  ['graded 2^-i', 90, (i) => [2 ** -i, 2 ** -i]],
  ['tiny couplings', 160, (_, r) => [1 + r(), 1e-9 * r()]],
  ['repeated diagonal, tiny couplings', 100, (i) => [1 + (i % 2), 1e-17]],
  ['zero matrix', 80, () => [0, 0]],
  ['leaf size', 25, (_, r) => [r(), r()]],
];

/** ‖B − U diag(s) Vᵀ‖_F for the bidiagonal B. */
function residual(
  n: number,
  d: Float64Array,
  e: Float64Array,
  u: Float64Array,
  s: Float64Array,
  v: Float64Array,
) {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let x = 0;
      for (let c = 0; c < n; c++) x += u[i * n + c]! * s[c]! * v[j * n + c]!;
      const b = j === i ? d[i]! : j === i + 1 ? e[i]! : 0;
      sum += (x - b) ** 2;
    }
  }
  return Math.sqrt(sum);
}

describe('bidiagonal divide and conquer', () => {
  for (const [label, n, gen] of cases) {
    it(`${label} (n = ${n}) agrees with bidiagonal QR`, () => {
      const next = rng(n);
      const d = new Float64Array(n);
      const e = new Float64Array(n);
      for (let i = 0; i < n; i++) [d[i], e[i]] = gen(i, next);
      e[n - 1] = 0;
      let norm = 0;
      for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]!) + Math.abs(e[i]!));

      const dc = bidiagonalDivideAndConquer(n, d.slice(), e.slice());
      expect(dc.converged).toBe(true);
      expect(residual(n, d, e, dc.u, dc.s, dc.v)).toBeLessThanOrEqual(
        1e-13 * Math.max(norm, 1e-300),
      );
      expect(orthogonalityError(dc.u, n, n)).toBeLessThan(1e-13);
      expect(orthogonalityError(dc.v, n, n)).toBeLessThan(1e-13);

      const qr = d.slice();
      expect(bidiagonalQr(n, qr, e.slice(), null, null).converged).toBe(true);
      const a = Array.from(dc.s).sort((x, y) => y - x);
      const b = Array.from(qr).sort((x, y) => y - x);
      for (let i = 0; i < n; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-13 * norm);
    });
  }
});
