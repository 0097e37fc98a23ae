// Householder reductions on row-major float64 matrices: bidiagonalisation (LAPACK dgebrd),
// unblocked QR (dgeqr2, the panels of blocked.ts) and forming an orthogonal factor explicitly
// (dorg2r, for small matrices; large ones apply reflectors in blocks, see blocked.ts).
//
// Every step is one pass over the trailing matrix: while a row is in cache it receives the
// current reflector(s) and contributes to the product vᵀA that the next step's reflector needs.
// That product is taken with the next column before it is normalised into a reflector, which
// only rescales it: vᵀA = A[p, :] + Σ_{r>p} x_r A[r, :] / (x_p − β).
//
// Reflectors are stored as in LAPACK, H = I − τ v vᵀ with v[0] = 1 implied: left ones in the
// column below the diagonal, right ones in the row right of the superdiagonal.

import { wasmEnabled, wasmKernels } from '../kernels/wasm-kernels';

/** Reflector for (alpha, x) given ssq = ‖x‖²: returns [tau, beta, 1/(alpha − beta)]. */
function reflector(alpha: number, ssq: number, out: Float64Array): void {
  if (ssq === 0) {
    out[0] = 0;
    out[1] = alpha;
    out[2] = 0;
    return;
  }
  const norm = Math.sqrt(alpha * alpha + ssq);
  const beta = alpha >= 0 ? -norm : norm;
  out[0] = (beta - alpha) / beta;
  out[1] = beta;
  out[2] = 1 / (alpha - beta);
}

/** Below this width the JavaScript row update is as fast as setting up the WebAssembly one. */
const WASM_MIN_WIDTH = 48;

/** Working memory up to this size is kept for the next call; larger matrices get their own. */
const KEEP_BYTES = 32 * 2 ** 20;
let kept: ReturnType<typeof wasmKernels> = null;

function kernelsWithMemory(bytes: number): ReturnType<typeof wasmKernels> {
  if (!wasmEnabled()) return null;
  if (bytes > KEEP_BYTES) return wasmKernels(bytes);
  if (!kept) kept = wasmKernels(bytes);
  if (!kept) return null;
  const missing = bytes - kept.memory.buffer.byteLength;
  if (missing > 0) kept.memory.grow(Math.ceil(missing / 65536));
  return kept;
}

/**
 * Reduces a (m×n, m ≥ n, overwritten with the reflectors) to upper bidiagonal
 * B = Qᵀ A P with diagonal d and superdiagonal e.
 */
export function bidiagonalize(
  a: Float64Array,
  m: number,
  n: number,
  d: Float64Array,
  e: Float64Array,
  tauq: Float64Array,
  taup: Float64Array,
): void {
  // The WebAssembly kernel works on a copy in its memory with an even row length (so that
  // two-lane loads stay aligned) and one extra zero row to pair an odd row with.
  const ld = n + (n & 1);
  const wasm = n >= WASM_MIN_WIDTH ? kernelsWithMemory(((m + 3) * ld + 2) * 8) : null;
  if (!wasm) {
    reduceToBidiagonal(
      a,
      n,
      m,
      n,
      d,
      e,
      tauq,
      taup,
      new Float64Array(n),
      new Float64Array(n),
      jsPass,
    );
    return;
  }
  const mem = new Float64Array(wasm.memory.buffer);
  const wAt = (m + 1) * ld;
  const zAt = (m + 2) * ld;
  // Kept memory holds the previous call's data: clear the padding column, zero row, w and z.
  for (let r = 0; r < m; r++) {
    mem.set(a.subarray(r * n, r * n + n), r * ld);
    if (ld > n) mem[r * ld + n] = 0;
  }
  mem.fill(0, m * ld, (m + 3) * ld);
  const rowPair = wasm.exports.rowPair;
  // w and z live in the kernel's memory too, at wAt and zAt.
  const pass: Pass = (x, _ld, i, rows, vi, tau2) => {
    const j0 = 8 * ((i + 1) & ~1);
    const j1 = 8 * ld;
    const u = 8 * i * ld;
    const col = 8 * (i + 1);
    const zero = rows;
    let ssq = 0;
    // Row i+1 is the next step's alpha row, so it contributes nothing to the statistics.
    for (let r = i + 1; r < rows; r += 2) {
      const q = r + 1 < rows ? r + 1 : zero;
      ssq += rowPair(
        8 * r * ld,
        8 * q * ld,
        u,
        8 * wAt,
        8 * zAt,
        j0,
        j1,
        col,
        vi * x[r * ld + i]!,
        vi * x[q * ld + i]!,
        tau2,
        r === i + 1 ? 0 : 1,
        q === zero ? 0 : 1,
      );
    }
    return ssq;
  };
  reduceToBidiagonal(
    mem,
    ld,
    m,
    n,
    d,
    e,
    tauq,
    taup,
    mem.subarray(wAt, wAt + ld),
    mem.subarray(zAt, zAt + ld),
    pass,
  );
  for (let r = 0; r < m; r++) a.set(mem.subarray(r * ld, r * ld + n), r * n);
}

/**
 * The trailing update of bidiagonalisation step i for rows i+1..rows−1 of x (leading dimension
 * ld): applies the left reflector (x −= v_r w, v_r = vi·x[r, i]) and the right one (stored in
 * row i) and accumulates the next step's statistics into z; returns their ssq.
 */
type Pass = (
  x: Float64Array,
  ld: number,
  i: number,
  rows: number,
  vi: number,
  tau2: number,
  w: Float64Array,
  z: Float64Array,
) => number;

function reduceToBidiagonal(
  a: Float64Array,
  ld: number,
  m: number,
  n: number,
  d: Float64Array,
  e: Float64Array,
  tauq: Float64Array,
  taup: Float64Array,
  w: Float64Array,
  z: Float64Array,
  pass: Pass,
): void {
  const h = new Float64Array(3);
  let ssq = 0;
  z.fill(0);
  for (let r = 1; r < m; r++) {
    const o = r * ld;
    const c = a[o]!;
    if (c === 0) continue;
    ssq += c * c;
    for (let j = 1; j < n; j++) z[j] += c * a[o + j]!;
  }
  for (let i = 0; i < n; i++) {
    const ro = i * ld;
    reflector(a[ro + i]!, ssq, h);
    const tau = h[0]!;
    const scale = h[2]!;
    d[i] = h[1]!;
    tauq[i] = tau;
    if (tau !== 0) for (let r = i + 1; r < m; r++) a[r * ld + i] *= scale;
    if (i === n - 1) break;

    // Left reflector on row i (v_i = 1); w = τ vᵀA for the rows below.
    w.fill(0, 0, i + 1);
    for (let j = i + 1; j < n; j++) {
      const wj = tau === 0 ? 0 : tau * (a[ro + j]! + scale * z[j]!);
      w[j] = wj;
      a[ro + j] -= wj;
    }
    // Right reflector from row i, columns i+1..n-1.
    const alpha2 = a[ro + i + 1]!;
    let ssq2 = 0;
    for (let j = i + 2; j < n; j++) ssq2 += a[ro + j]! * a[ro + j]!;
    reflector(alpha2, ssq2, h);
    const tau2 = h[0]!;
    e[i] = h[1]!;
    taup[i] = tau2;
    if (tau2 !== 0) {
      const sc = h[2]!;
      for (let j = i + 2; j < n; j++) a[ro + j] *= sc;
    }
    // Row i now holds u with u[i+1] = 1 and (for the vectorised pass) u[i] = 0; d[i] is kept.
    a[ro + i + 1] = 1;
    a[ro + i] = 0;
    z.fill(0, i + 2);
    ssq = pass(a, ld, i, m, tau !== 0 ? 1 : 0, tau2, w, z);
  }
}

const jsPass: Pass = (a, n, i, m, vi, tau2, w, z) => {
  const ro = i * n;
  // Row i+1 holds the next step's alpha, so it stays out of the statistics.
  updateRow(a, n, i, (i + 1) * n, vi * a[(i + 1) * n + i]!, w, ro, tau2, null);
  let ssq = 0;
  let r = i + 2;
  // Two rows at a time share the loads of w, u and z.
  for (; r + 1 < m; r += 2) ssq += updateRowPair(a, n, i, r * n, vi, w, ro, tau2, z);
  if (r < m) ssq += updateRow(a, n, i, r * n, vi * a[r * n + i]!, w, ro, tau2, z);
  return ssq;
};

/**
 * One row of the trailing matrix in bidiagonalisation step i: the left reflector (row −= v_r w),
 * then the right one (row −= τ_p (row·u) u, with u the reflector stored in row `ro`), then the
 * row's contribution to the next step's statistics z += c·row[i+2:], returning c² where c is its
 * new entry in column i+1 (z = null skips that).
 */
function updateRow(
  a: Float64Array,
  n: number,
  i: number,
  o: number,
  vr: number,
  w: Float64Array,
  ro: number,
  tau2: number,
  z: Float64Array | null,
): number {
  let s0 = 0;
  let s1 = 0;
  let j = i + 1;
  for (; j + 1 < n; j += 2) {
    const x0 = a[o + j]! - vr * w[j]!;
    const x1 = a[o + j + 1]! - vr * w[j + 1]!;
    a[o + j] = x0;
    a[o + j + 1] = x1;
    s0 += x0 * a[ro + j]!;
    s1 += x1 * a[ro + j + 1]!;
  }
  if (j < n) {
    const x0 = a[o + j]! - vr * w[j]!;
    a[o + j] = x0;
    s0 += x0 * a[ro + j]!;
  }
  const t = tau2 * (s0 + s1);
  const c = a[o + i + 1]! - t;
  a[o + i + 1] = c;
  if (z) {
    for (let j = i + 2; j < n; j++) {
      const x = a[o + j]! - t * a[ro + j]!;
      a[o + j] = x;
      z[j] += c * x;
    }
  } else {
    for (let j = i + 2; j < n; j++) a[o + j] -= t * a[ro + j]!;
  }
  return c * c;
}

/** {@link updateRow} for rows at o and o + n together. */
function updateRowPair(
  a: Float64Array,
  n: number,
  i: number,
  o: number,
  vi: number,
  w: Float64Array,
  ro: number,
  tau2: number,
  z: Float64Array,
): number {
  const p = o + n;
  const v0 = vi * a[o + i]!;
  const v1 = vi * a[p + i]!;
  let s0 = 0;
  let s1 = 0;
  for (let j = i + 1; j < n; j++) {
    const wj = w[j]!;
    const uj = a[ro + j]!;
    const x0 = a[o + j]! - v0 * wj;
    const x1 = a[p + j]! - v1 * wj;
    a[o + j] = x0;
    a[p + j] = x1;
    s0 += x0 * uj;
    s1 += x1 * uj;
  }
  const t0 = tau2 * s0;
  const t1 = tau2 * s1;
  const c0 = a[o + i + 1]! - t0;
  const c1 = a[p + i + 1]! - t1;
  a[o + i + 1] = c0;
  a[p + i + 1] = c1;
  for (let j = i + 2; j < n; j++) {
    const uj = a[ro + j]!;
    const x0 = a[o + j]! - t0 * uj;
    const x1 = a[p + j]! - t1 * uj;
    a[o + j] = x0;
    a[p + j] = x1;
    z[j] += c0 * x0 + c1 * x1;
  }
  return c0 * c0 + c1 * c1;
}

/**
 * Householder QR of the m×n block of `a` whose entry (r, j) is a[off + r·ld + j], m ≥ n: R is
 * left in its upper triangle (diagonal included), the reflectors below it.
 */
export function qrFactor(
  a: Float64Array,
  m: number,
  n: number,
  tau: Float64Array,
  ld = n,
  off = 0,
): void {
  const w = new Float64Array(n);
  const z = new Float64Array(n);
  const h = new Float64Array(3);
  let ssq = 0;
  for (let r = 1; r < m; r++) {
    const o = off + r * ld;
    const c = a[o]!;
    if (c === 0) continue;
    ssq += c * c;
    for (let j = 1; j < n; j++) z[j] += c * a[o + j]!;
  }
  for (let i = 0; i < n; i++) {
    const ro = off + i * ld;
    reflector(a[ro + i]!, ssq, h);
    const t = h[0]!;
    const scale = h[2]!;
    a[ro + i] = h[1]!;
    tau[i] = t;
    if (t !== 0) for (let r = i + 1; r < m; r++) a[off + r * ld + i] *= scale;
    if (i === n - 1) break;
    if (t !== 0) {
      for (let j = i + 1; j < n; j++) {
        const wj = t * (a[ro + j]! + scale * z[j]!);
        w[j] = wj;
        a[ro + j] -= wj;
      }
    } else {
      w.fill(0);
    }
    z.fill(0, i + 2);
    ssq = 0;
    if (i + 1 < m) {
      const o = off + (i + 1) * ld;
      const vr = a[o + i]!;
      for (let j = i + 1; j < n; j++) a[o + j] -= vr * w[j]!;
    }
    let r = i + 2;
    for (; r + 1 < m; r += 2) {
      // Two rows at a time share the loads of w and z.
      const o = off + r * ld;
      const p = o + ld;
      const v0 = a[o + i]!;
      const v1 = a[p + i]!;
      const w1 = w[i + 1]!;
      const c0 = a[o + i + 1]! - v0 * w1;
      const c1 = a[p + i + 1]! - v1 * w1;
      a[o + i + 1] = c0;
      a[p + i + 1] = c1;
      ssq += c0 * c0 + c1 * c1;
      for (let j = i + 2; j < n; j++) {
        const wj = w[j]!;
        const x0 = a[o + j]! - v0 * wj;
        const x1 = a[p + j]! - v1 * wj;
        a[o + j] = x0;
        a[p + j] = x1;
        z[j] += c0 * x0 + c1 * x1;
      }
    }
    if (r < m) {
      const o = off + r * ld;
      const vr = a[o + i]!;
      const c = a[o + i + 1]! - vr * w[i + 1]!;
      a[o + i + 1] = c;
      ssq += c * c;
      for (let j = i + 2; j < n; j++) {
        const x = a[o + j]! - vr * w[j]!;
        a[o + j] = x;
        z[j] += c * x;
      }
    }
  }
}

/**
 * Forms the leading `cols` columns of H_0 H_1 ⋯ H_{count−1} (rows×rows), where reflector k acts
 * on indices ≥ k + shift and its vector entry for index r > k + shift is
 * `store[k * ks + r * rs]`. shift = 0, ks = 1, rs = n gives Q of a QR or bidiagonalisation;
 * shift = 1, ks = n, rs = 1 gives P of a bidiagonalisation.
 */
export function formOrthogonal(
  out: Float64Array,
  rows: number,
  cols: number,
  count: number,
  shift: number,
  store: Float64Array,
  ks: number,
  rs: number,
  tau: Float64Array,
): void {
  out.fill(0);
  for (let i = 0; i < Math.min(shift, rows, cols); i++) out[i * cols + i] = 1;
  let w = new Float64Array(cols);
  let wn = new Float64Array(cols);
  for (let k = count - 1; k >= 0; k--) {
    const p = k + shift;
    const t = tau[k]!;
    const hasNext = k > 0;
    const vb = k * ks;
    const nb = (k - 1) * ks;
    wn.fill(0, p);
    // Row p was the identity row before this reflector.
    const po = p * cols;
    out[po + p] = 1 - t;
    for (let j = p + 1; j < cols; j++) out[po + j] = -t * w[j]!;
    if (hasNext) {
      const vn = store[nb + p * rs]!;
      for (let j = p; j < cols; j++) wn[j] += vn * out[po + j]!;
    }
    for (let r = p + 1; r < rows; r++) {
      const o = r * cols;
      const tv = t * store[vb + r * rs]!;
      out[o + p] = -tv;
      const vn = hasNext ? store[nb + r * rs]! : 0;
      if (vn !== 0) {
        wn[p] += vn * -tv;
        for (let j = p + 1; j < cols; j++) {
          const x = out[o + j]! - tv * w[j]!;
          out[o + j] = x;
          wn[j] += vn * x;
        }
      } else if (tv !== 0) {
        for (let j = p + 1; j < cols; j++) out[o + j] -= tv * w[j]!;
      }
    }
    const tmp = w;
    w = wn;
    wn = tmp;
  }
}
