import { describe, expect, it } from 'vitest';
import {
  NonFiniteInputError,
  SvdConvergenceError,
  type SvdResult,
  singularValues,
  svd,
} from '../src/index';
import { setKernelArraysEnabled } from '../src/kernels/gemm';
import { setWasmEnabled } from '../src/kernels/wasm-kernels';
import { setBlocking } from '../src/lapack/blocked';
import {
  frobenius,
  matmul,
  orthogonalityError,
  randomMatrix,
  reconstructionError,
  rng,
  transpose,
  withSpectrum,
} from './helpers';

const TOL = 1e-12;

/** The checks every decomposition must pass, whatever the input. */
function expectValidSvd(a: ArrayLike<number>, m: number, n: number, f: SvdResult): void {
  const k = Math.min(m, n);
  expect([f.m, f.n, f.k]).toEqual([m, n, k]);
  expect(f.U.length).toBe(m * k);
  expect(f.V.length).toBe(n * k);
  expect(f.S.length).toBe(k);
  for (let i = 0; i < k; i++) {
    expect(f.S[i]).toBeGreaterThanOrEqual(0);
    if (i > 0) expect(f.S[i]).toBeLessThanOrEqual(f.S[i - 1]!);
  }
  expect(reconstructionError(a, f)).toBeLessThan(TOL);
  expect(orthogonalityError(f.U, m, k)).toBeLessThan(TOL);
  expect(orthogonalityError(f.V, n, k)).toBeLessThan(TOL);
  expectSignConvention(f);
}

/** The largest-magnitude entry of each column of U (first on ties) is positive. */
function expectSignConvention(f: SvdResult): void {
  for (let c = 0; c < f.k; c++) {
    let best = 0;
    for (let r = 0; r < f.m; r++) {
      const x = f.U[r * f.k + c]!;
      if (Math.abs(x) > Math.abs(best)) best = x;
    }
    expect(best).toBeGreaterThan(0);
  }
}

function sortedDescending(values: number[]): number[] {
  return [...values].sort((x, y) => y - x);
}

describe('svd: known spectra', () => {
  it('diagonal matrices: singular values are the sorted absolute diagonal', () => {
    for (const [m, n] of [
      [6, 6],
      [9, 4],
      [4, 9],
      [120, 80],
    ] as const) {
      const next = rng(m * 31 + n);
      const k = Math.min(m, n);
      const diag = Array.from({ length: k }, (_, i) => (i % 7 === 3 ? 0 : (next() - 0.5) * 10));
      const a = new Float64Array(m * n);
      for (let i = 0; i < k; i++) a[i * n + i] = diag[i]!;
      const f = svd({ rows: m, cols: n, data: a });
      expectValidSvd(a, m, n, f);
      const expected = sortedDescending(diag.map(Math.abs));
      for (let i = 0; i < k; i++) expect(Math.abs(f.S[i]! - expected[i]!)).toBeLessThan(1e-15 * 10);
    }
  });

  it('orthogonal × diagonal × orthogonal products give back the diagonal', () => {
    const spectra: Array<[string, (i: number) => number]> = [
      ['geometric to 1e-12', (i) => 10 ** (-12 * (i / 59))],
      ['clustered', (i) => [3, 3, 3, 1, 1, 1e-3][i % 6]!],
      ['linear', (i) => 60 - i],
      ['with exact zeros', (i) => (i < 40 ? 1 + i / 10 : 0)],
    ];
    for (const [label, sigma] of spectra) {
      for (const [m, n] of [
        [60, 60],
        [150, 60],
        [60, 97],
      ] as const) {
        const values = sortedDescending(Array.from({ length: 60 }, (_, i) => sigma(i)));
        const a = withSpectrum(m, n, values, 7);
        const f = svd({ rows: m, cols: n, data: a }, { name: label });
        expectValidSvd(a, m, n, f);
        // Backward stable: each σ is within a small multiple of ε‖A‖₂ of the truth.
        for (let i = 0; i < 60; i++) {
          expect(Math.abs(f.S[i]! - values[i]!), `${label} ${m}×${n} σ${i}`).toBeLessThan(
            1e-13 * values[0]!,
          );
        }
      }
    }
  });

  it('rank-deficient products X Yᵀ have exactly r non-negligible singular values', () => {
    for (const [m, n, r] of [
      [80, 50, 7],
      [50, 80, 1],
      [200, 120, 30],
    ] as const) {
      const x = randomMatrix(m, r, m + r);
      const y = randomMatrix(r, n, n + r);
      const a = matmul(x, y, m, r, n);
      const f = svd({ rows: m, cols: n, data: a });
      expectValidSvd(a, m, n, f);
      expect(f.S[r - 1]!).toBeGreaterThan(1e-3 * f.S[0]!);
      for (let i = r; i < Math.min(m, n); i++) expect(f.S[i]!).toBeLessThan(1e-13 * f.S[0]!);
    }
  });

  it('zero matrices: zero singular values and orthonormal factors', () => {
    for (const [m, n] of [
      [1, 1],
      [5, 3],
      [3, 5],
      [70, 40],
    ] as const) {
      const a = new Float64Array(m * n);
      const f = svd({ rows: m, cols: n, data: a });
      expectValidSvd(a, m, n, f);
      expect(Array.from(f.S)).toEqual(new Array(Math.min(m, n)).fill(0));
    }
  });

  it('empty matrices give empty factors', () => {
    const f = svd({ rows: 0, cols: 4, data: new Float64Array(0) });
    expect([f.k, f.U.length, f.V.length, f.S.length]).toEqual([0, 0, 0, 0]);
  });

  describe('Hilbert matrices', () => {
    // H_ij = 1/(i + j − 1) is symmetric positive definite, so its singular values are its
    // eigenvalues; the checks below use exact invariants instead of a reference SVD.
    const hilbert = (n: number) =>
      Float64Array.from({ length: n * n }, (_, t) => 1 / (Math.floor(t / n) + (t % n) + 1));
    const binomial = (n: number, k: number): bigint => {
      let r = 1n;
      for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
      return r;
    };
    // (H⁻¹)_ij = (−1)^(i+j) (i+j−1) C(n+i−1, n−j) C(n+j−1, n−i) C(i+j−2, i−1)², 1-based.
    const inverseHilbert = (n: number) =>
      Float64Array.from({ length: n * n }, (_, t) => {
        const i = Math.floor(t / n) + 1;
        const j = (t % n) + 1;
        const v =
          BigInt(i + j - 1) *
          binomial(n + i - 1, n - j) *
          binomial(n + j - 1, n - i) *
          binomial(i + j - 2, i - 1) ** 2n;
        return ((i + j) % 2 === 0 ? 1 : -1) * Number(v);
      });
    // 1/det(H_n) = c_{2n} / c_n⁴ with c_n = Π_{i<n} i!.
    const inverseDeterminant = (n: number): number => {
      const c = (p: number) => {
        let r = 1n;
        let fact = 1n;
        for (let i = 1; i < p; i++) {
          fact *= BigInt(i);
          r *= fact;
        }
        return r;
      };
      return Number(c(2 * n) / c(n) ** 4n);
    };

    it('H_8 (condition 1.5e10): trace, ‖H‖_F, det and σ_min agree to the stated tolerance', () => {
      const n = 8;
      const h = hilbert(n);
      const f = svd({ rows: n, cols: n, data: h }, { name: 'H_8' });
      expectValidSvd(h, n, n, f);
      let trace = 0;
      for (let i = 0; i < n; i++) trace += 1 / (2 * i + 1);
      const s = Array.from(f.S);
      expect(Math.abs(s.reduce((x, y) => x + y) - trace) / trace).toBeLessThan(1e-14);
      const fro2 = frobenius(h) ** 2;
      expect(Math.abs(s.reduce((x, y) => x + y * y, 0) - fro2) / fro2).toBeLessThan(1e-14);
      // Small singular values carry absolute error ~ε‖H‖, i.e. relative error ~ε·cond(H) ≈ 3e-6.
      const det = s.reduce((x, y) => x * y, 1);
      expect(Math.abs(det * inverseDeterminant(n) - 1)).toBeLessThan(1e-5);
      // σ_max of the (integer) inverse is computed to full relative accuracy and equals 1/σ_min.
      const inv = svd({ rows: n, cols: n, data: inverseHilbert(n) }, { name: 'inv(H_8)' });
      expect(Math.abs(f.S[n - 1]! * inv.S[0]! - 1)).toBeLessThan(1e-5);
      expect(Math.abs(f.S[0]! * inv.S[n - 1]! - 1)).toBeLessThan(1e-5);
    });

    it('H_12 (condition 1.7e16): still a backward-stable factorisation', () => {
      const n = 12;
      const h = hilbert(n);
      const f = svd({ rows: n, cols: n, data: h });
      expectValidSvd(h, n, n, f);
      let trace = 0;
      for (let i = 0; i < n; i++) trace += 1 / (2 * i + 1);
      expect(Math.abs(f.S.reduce((x, y) => x + y) - trace) / trace).toBeLessThan(1e-14);
    });
  });
});

describe('svd: properties over random shapes up to 300', () => {
  const next = rng(2024);
  const shapes: Array<[number, number]> = [
    [1, 300],
    [300, 1],
    [2, 2],
    [300, 300],
    [300, 40],
    [40, 300],
    [299, 256],
    [300, 150],
    [150, 300],
  ];
  while (shapes.length < 24)
    shapes.push([1 + Math.floor(next() * 300), 1 + Math.floor(next() * 300)]);
  const kinds = ['gaussian', 'uniform', 'integers', 'sparse', 'graded'] as const;

  shapes.forEach(([m, n], t) => {
    const kind = kinds[t % kinds.length]!;
    it(`${m}×${n} ${kind}`, () => {
      const g = rng(t + 1);
      const a = randomMatrix(m, n, t + 100);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const o = i * n + j;
          if (kind === 'uniform') a[o] = g();
          else if (kind === 'integers') a[o] = Math.floor(g() * 7) - 3;
          else if (kind === 'sparse') a[o] = g() < 0.9 ? 0 : a[o]!;
          else if (kind === 'graded') a[o] = a[o]! * 10 ** (-8 * (i / m)) * 10 ** (-4 * (j / n));
        }
      }
      const f = svd({ rows: m, cols: n, data: a });
      expectValidSvd(a, m, n, f);
      const values = singularValues({ rows: m, cols: n, data: a });
      for (let i = 0; i < f.k; i++)
        expect(Math.abs(values[i]! - f.S[i]!)).toBeLessThan(1e-13 * f.S[0]!);
    });
  });
});

describe('svd: inputs, options and conventions', () => {
  const m = 40;
  const n = 25;
  const a = randomMatrix(m, n, 5);

  it('accepts tensors (shape + Float32Array data) and computes in float64', () => {
    const f32 = Float32Array.from(a);
    const tensorLike = { shape: [m, n], data: f32 };
    const f = svd(tensorLike);
    const reference = svd({ rows: m, cols: n, data: Float64Array.from(f32) });
    expect(f.S).toEqual(reference.S);
    expect(f.U).toEqual(reference.U);
    expectValidSvd(Float64Array.from(f32), m, n, f);
  });

  it('accepts plain number arrays', () => {
    const f = svd({ rows: 2, cols: 2, data: [3, 0, 0, -4] });
    expect(Array.from(f.S)).toEqual([4, 3]);
  });

  it('is deterministic: the same input gives bit-identical factors', () => {
    const f1 = svd({ rows: m, cols: n, data: a });
    const f2 = svd({ rows: m, cols: n, data: a.slice() });
    expect(f1.U).toEqual(f2.U);
    expect(f1.S).toEqual(f2.S);
    expect(f1.V).toEqual(f2.V);
  });

  it('a transpose swaps U and V (up to the sign of each pair)', () => {
    const f = svd({ rows: m, cols: n, data: a });
    const g = svd({ rows: n, cols: m, data: transpose(a, m, n) });
    for (let i = 0; i < n; i++) expect(Math.abs(f.S[i]! - g.S[i]!)).toBeLessThan(1e-13 * f.S[0]!);
    // u vᵀ of each pair is sign-free; compare one entry-wise product per pair.
    for (let c = 0; c < n; c++) {
      for (let r = 0; r < m; r += 7) {
        for (let s = 0; s < n; s += 5) {
          const x = f.U[r * n + c]! * f.V[s * n + c]!;
          const y = g.V[r * n + c]! * g.U[s * n + c]!;
          expect(Math.abs(x - y)).toBeLessThan(1e-10);
        }
      }
    }
  });

  it('rank r keeps the leading r triplets of the thin decomposition', () => {
    const full = svd({ rows: m, cols: n, data: a });
    const r = 6;
    const t = svd({ rows: m, cols: n, data: a }, { rank: r });
    expect(t.k).toBe(r);
    expect(Array.from(t.S)).toEqual(Array.from(full.S.subarray(0, r)));
    for (let i = 0; i < m; i++) {
      expect(Array.from(t.U.subarray(i * r, i * r + r))).toEqual(
        Array.from(full.U.subarray(i * n, i * n + r)),
      );
    }
    expect(() => svd({ rows: m, cols: n, data: a }, { rank: n + 1 })).toThrow(/rank/);
    expect(() => svd({ rows: m, cols: n, data: a }, { rank: 1.5 })).toThrow(/rank/);
  });

  it('survives entries near the ends of the float64 range', () => {
    for (const factor of [1e-300, 1e300, 2 ** -1060]) {
      const scaled = a.map((x) => x * factor);
      const g = svd({ rows: m, cols: n, data: scaled });
      // Compare with the values actually stored (subnormal inputs have lost digits already).
      const f = svd({ rows: m, cols: n, data: scaled.map((x) => x / factor) });
      for (let i = 0; i < n; i++) {
        // Subnormal results can only be as exact as their spacing, 2^-1074.
        const allowed = 1e-13 * f.S[0]! * factor + 4 * 2 ** -1074;
        expect(Math.abs(g.S[i]! - f.S[i]! * factor)).toBeLessThanOrEqual(allowed);
      }
    }
  });

  it('rejects malformed shapes', () => {
    expect(() => svd({ shape: [2, 3, 4], data: new Float64Array(24) })).toThrow(/2-D/);
    expect(() => svd({ rows: 2, cols: 3, data: new Float64Array(5) })).toThrow(/5 entries/);
  });
});

describe('svd: failure modes', () => {
  it('non-finite input names the matrix and the entry', () => {
    const a = randomMatrix(6, 4, 1);
    a[2 * 4 + 3] = Number.NaN;
    const name = 'model.layers.0.mlp.up_proj.weight';
    expect(() => svd({ rows: 6, cols: 4, data: a }, { name })).toThrow(NonFiniteInputError);
    try {
      svd({ rows: 6, cols: 4, data: a }, { name });
    } catch (err) {
      const e = err as NonFiniteInputError;
      expect(e.message).toContain(name);
      expect([e.row, e.col]).toEqual([2, 3]);
    }
    a[2 * 4 + 3] = Number.NEGATIVE_INFINITY;
    expect(() => singularValues({ rows: 6, cols: 4, data: a }, { name })).toThrow(/-Infinity/);
  });

  it('convergence failure reports the iteration count instead of returning factors', () => {
    for (const size of [12, 200]) {
      const a = randomMatrix(size, size, size);
      let caught: unknown;
      try {
        svd({ rows: size, cols: size, data: a }, { name: `W${size}`, maxIterations: 3 });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SvdConvergenceError);
      const e = caught as SvdConvergenceError;
      expect(e.matrixName).toBe(`W${size}`);
      expect(e.iterations).toBeGreaterThanOrEqual(3);
      expect(e.stage).toBe('bidiagonal QR');
      expect(e.message).toMatch(/did not converge: bidiagonal QR stopped after \d+ iterations/);
    }
  });
});

describe('svd: JavaScript fallbacks', () => {
  it('without WebAssembly the same decompositions come out (to rounding)', () => {
    const cases: Array<[number, number]> = [
      [120, 97],
      [97, 120],
      [260, 100],
    ];
    const withWasm = cases.map(([m, n]) => svd({ rows: m, cols: n, data: randomMatrix(m, n, m) }));
    setWasmEnabled(false);
    try {
      cases.forEach(([m, n], t) => {
        const a = randomMatrix(m, n, m);
        const f = svd({ rows: m, cols: n, data: a });
        expectValidSvd(a, m, n, f);
        for (let i = 0; i < f.k; i++) {
          expect(Math.abs(f.S[i]! - withWasm[t]!.S[i]!)).toBeLessThan(1e-13 * f.S[0]!);
        }
      });
    } finally {
      setWasmEnabled(true);
    }
  });
});

describe('svd: tall and wide matrices through QR first (blocked WY updates in place)', () => {
  /** The decomposition with this package's previous blocking: 32-wide blocks, written back. */
  function previousPath(a: Float64Array, m: number, n: number): SvdResult {
    setBlocking({ nb: 32, panel: 32 });
    setKernelArraysEnabled(false);
    try {
      return svd({ rows: m, cols: n, data: a });
    } finally {
      setBlocking();
      setKernelArraysEnabled(true);
    }
  }

  function expectSameFactors(f: SvdResult, g: SvdResult): void {
    for (let i = 0; i < f.k; i++) {
      expect(Math.abs(f.S[i]! - g.S[i]!)).toBeLessThan(1e-13 * f.S[0]!);
    }
    // Gaussian matrices have well separated σ, so each vector is determined up to rounding
    // (the sign convention fixes the sign).
    let worst = 0;
    for (let i = 0; i < f.U.length; i++) worst = Math.max(worst, Math.abs(f.U[i]! - g.U[i]!));
    for (let i = 0; i < f.V.length; i++) worst = Math.max(worst, Math.abs(f.V[i]! - g.V[i]!));
    expect(worst).toBeLessThan(1e-9);
  }

  for (const [m, n] of [
    [600, 80],
    [80, 600],
    [700, 250],
    [250, 700],
    [601, 83],
    [83, 601],
  ] as const) {
    it(`${m}×${n}: valid, and the same factors as the previous blocking`, () => {
      const a = randomMatrix(m, n, m * 3 + n);
      const f = svd({ rows: m, cols: n, data: a });
      expectValidSvd(a, m, n, f);
      const g = previousPath(a, m, n);
      expectValidSvd(a, m, n, g);
      expectSameFactors(f, g);
    });
  }

  it('odd block sizes (nested panels, partial blocks and tiles) give the same factors', () => {
    for (const [m, n] of [
      [601, 83],
      [83, 601],
      [230, 130],
    ] as const) {
      const a = randomMatrix(m, n, m + n);
      const reference = previousPath(a, m, n);
      for (const blocking of [
        { nb: 7, panel: 3 },
        { nb: 50, panel: 16 },
        { nb: 130, panel: 130 },
      ]) {
        setBlocking(blocking);
        try {
          const f = svd({ rows: m, cols: n, data: a });
          expectValidSvd(a, m, n, f);
          expectSameFactors(f, reference);
        } finally {
          setBlocking();
        }
      }
    }
    expect(() => setBlocking({ nb: 0, panel: 32 })).toThrow(/block sizes/);
  });

  it('known spectra and rank deficiency survive the QR-first path', () => {
    const sigma = Array.from({ length: 80 }, (_, i) => (i < 60 ? 10 ** (-8 * (i / 59)) : 0));
    for (const [m, n] of [
      [600, 80],
      [80, 600],
    ] as const) {
      const a = withSpectrum(m, n, sigma, 11);
      const f = svd({ rows: m, cols: n, data: a });
      expectValidSvd(a, m, n, f);
      for (let i = 0; i < 80; i++) expect(Math.abs(f.S[i]! - sigma[i]!)).toBeLessThan(1e-13);
    }
  });

  it('repeated calls reuse the kernel memory without carrying anything over', () => {
    const a = randomMatrix(400, 90, 1);
    const b = randomMatrix(300, 70, 2);
    const f1 = svd({ rows: 400, cols: 90, data: a });
    svd({ rows: 300, cols: 70, data: b });
    const f2 = svd({ rows: 400, cols: 90, data: a });
    expect(f2.U).toEqual(f1.U);
    expect(f2.S).toEqual(f1.S);
    expect(f2.V).toEqual(f1.V);
    // The factors are copies, not views of that memory.
    expect(f1.U.buffer).not.toBe(f2.U.buffer);
    expect(f1.U.byteLength).toBe(f1.U.buffer.byteLength);
  });
});
