// Reference arithmetic for the tests, written independently of the package's kernels.

/** Seeded uniform [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(next: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

export function randomMatrix(m: number, n: number, seed: number): Float64Array {
  const g = gaussian(rng(seed));
  return Float64Array.from({ length: m * n }, g);
}

/** C = A B for row-major A (m×k) and B (k×n). */
export function matmul(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      if (aip === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += aip * b[p * n + j]!;
    }
  }
  return c;
}

export function transpose(a: ArrayLike<number>, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j]!;
  return t;
}

export function frobenius(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

/** ‖A − U diag(S) Vᵀ‖_F / ‖A‖_F (absolute when A = 0). */
export function reconstructionError(
  a: ArrayLike<number>,
  f: { U: Float64Array; S: Float64Array; V: Float64Array; m: number; n: number; k: number },
): number {
  const { U, S, V, m, n, k } = f;
  const us = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) us[i * k + c] = U[i * k + c]! * S[c]!;
  const r = matmul(us, transpose(V, n, k), m, k, n);
  let num = 0;
  for (let i = 0; i < m * n; i++) num += (r[i]! - a[i]!) ** 2;
  const den = frobenius(a);
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num) / den;
}

/** max |QᵀQ − I| for a row-major rows×k Q. */
export function orthogonalityError(q: Float64Array, rows: number, k: number): number {
  const g = matmul(transpose(q, rows, k), q, k, rows, k);
  let worst = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++)
      worst = Math.max(worst, Math.abs(g[i * k + j]! - (i === j ? 1 : 0)));
  }
  return worst;
}

/** An orthonormal m×k matrix: modified Gram–Schmidt, twice, on Gaussian columns. */
export function randomOrthonormal(m: number, k: number, seed: number): Float64Array {
  const q = randomMatrix(m, k, seed);
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < j; i++) {
        let dot = 0;
        for (let r = 0; r < m; r++) dot += q[r * k + i]! * q[r * k + j]!;
        for (let r = 0; r < m; r++) q[r * k + j] -= dot * q[r * k + i]!;
      }
      let norm = 0;
      for (let r = 0; r < m; r++) norm += q[r * k + j]! ** 2;
      norm = Math.sqrt(norm);
      for (let r = 0; r < m; r++) q[r * k + j] /= norm;
    }
  }
  return q;
}

/** U diag(sigma) Vᵀ with random orthonormal U (m×k) and V (n×k), k = sigma.length. */
export function withSpectrum(m: number, n: number, sigma: number[], seed: number): Float64Array {
  const k = sigma.length;
  const u = randomOrthonormal(m, k, seed);
  const v = randomOrthonormal(n, k, seed + 1);
  for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) u[i * k + c] *= sigma[c]!;
  return matmul(u, transpose(v, n, k), m, k, n);
}

export function maxAbs(a: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]!));
  return worst;
}
