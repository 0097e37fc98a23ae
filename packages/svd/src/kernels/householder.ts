// Householder reductions on row-major float64 matrices: bidiagonalisation (LAPACK dgebrd),
// QR (dgeqrf), forming the orthogonal factors (dorgbr/dorgqr) and applying them (dormqr).
//
// Every step is one pass over the trailing matrix: while a row is in cache it receives the
// current reflector(s) and contributes to the product vᵀA that the next step's reflector needs.
// That product is taken with the next column before it is normalised into a reflector, which
// only rescales it: vᵀA = A[p, :] + Σ_{r>p} x_r A[r, :] / (x_p − β).
//
// Reflectors are stored as in LAPACK, H = I − τ v vᵀ with v[0] = 1 implied: left ones in the
// column below the diagonal, right ones in the row right of the superdiagonal.

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
  const w = new Float64Array(n);
  const z = new Float64Array(n);
  const h = new Float64Array(3);
  let ssq = 0;
  for (let r = 1; r < m; r++) {
    const o = r * n;
    const c = a[o]!;
    if (c === 0) continue;
    ssq += c * c;
    for (let j = 1; j < n; j++) z[j] += c * a[o + j]!;
  }
  for (let i = 0; i < n; i++) {
    const ro = i * n;
    const alpha = a[ro + i]!;
    reflector(alpha, ssq, h);
    const tau = h[0]!;
    const scale = h[2]!;
    d[i] = h[1]!;
    tauq[i] = tau;
    if (tau !== 0) for (let o = ro + n + i; o < m * n; o += n) a[o] *= scale;
    if (i === n - 1) break;

    // Left reflector on row i (v_i = 1); w = τ vᵀA for the rows below.
    if (tau !== 0) {
      for (let j = i + 1; j < n; j++) {
        const wj = tau * (a[ro + j]! + scale * z[j]!);
        w[j] = wj;
        a[ro + j] -= wj;
      }
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
    a[ro + i + 1] = 1;

    z.fill(0, i + 2);
    ssq = 0;
    for (let r = i + 1; r < m; r++) {
      const o = r * n;
      const vr = tau !== 0 ? a[o + i]! : 0;
      let s0 = 0;
      let s1 = 0;
      if (vr !== 0) {
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
      } else if (tau2 !== 0) {
        let j = i + 1;
        for (; j + 1 < n; j += 2) {
          s0 += a[o + j]! * a[ro + j]!;
          s1 += a[o + j + 1]! * a[ro + j + 1]!;
        }
        if (j < n) s0 += a[o + j]! * a[ro + j]!;
      }
      const t = tau2 * (s0 + s1);
      const c = a[o + i + 1]! - t;
      a[o + i + 1] = c;
      if (r >= i + 2 && c !== 0) {
        ssq += c * c;
        for (let j = i + 2; j < n; j++) {
          const x = a[o + j]! - t * a[ro + j]!;
          a[o + j] = x;
          z[j] += c * x;
        }
      } else if (t !== 0) {
        for (let j = i + 2; j < n; j++) a[o + j] -= t * a[ro + j]!;
      }
    }
  }
}

/**
 * Householder QR of a (m×n, m ≥ n): R is left in the upper triangle (diagonal included), the
 * reflectors below it.
 */
export function qrFactor(a: Float64Array, m: number, n: number, tau: Float64Array): void {
  const w = new Float64Array(n);
  const z = new Float64Array(n);
  const h = new Float64Array(3);
  let ssq = 0;
  for (let r = 1; r < m; r++) {
    const o = r * n;
    const c = a[o]!;
    if (c === 0) continue;
    ssq += c * c;
    for (let j = 1; j < n; j++) z[j] += c * a[o + j]!;
  }
  for (let i = 0; i < n; i++) {
    const ro = i * n;
    reflector(a[ro + i]!, ssq, h);
    const t = h[0]!;
    const scale = h[2]!;
    a[ro + i] = h[1]!;
    tau[i] = t;
    if (t !== 0) for (let o = ro + n + i; o < m * n; o += n) a[o] *= scale;
    if (i === n - 1) break;
    if (t === 0) {
      z.fill(0, i + 2);
      ssq = 0;
      // Column already reduced; the next column's statistics still have to be gathered.
      for (let r = i + 2; r < m; r++) {
        const o = r * n;
        const c = a[o + i + 1]!;
        if (c === 0) continue;
        ssq += c * c;
        for (let j = i + 2; j < n; j++) z[j] += c * a[o + j]!;
      }
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const wj = t * (a[ro + j]! + scale * z[j]!);
      w[j] = wj;
      a[ro + j] -= wj;
    }
    z.fill(0, i + 2);
    ssq = 0;
    for (let r = i + 1; r < m; r++) {
      const o = r * n;
      const vr = a[o + i]!;
      if (r === i + 1) {
        if (vr !== 0) for (let j = i + 1; j < n; j++) a[o + j] -= vr * w[j]!;
        continue;
      }
      const c = a[o + i + 1]! - vr * w[i + 1]!;
      a[o + i + 1] = c;
      if (c !== 0) {
        ssq += c * c;
        for (let j = i + 2; j < n; j++) {
          const x = a[o + j]! - vr * w[j]!;
          a[o + j] = x;
          z[j] += c * x;
        }
      } else if (vr !== 0) {
        for (let j = i + 2; j < n; j++) a[o + j] -= vr * w[j]!;
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

/**
 * c ← H_0 H_1 ⋯ H_{count−1} c for the QR reflectors left in `a` (m×n) by {@link qrFactor};
 * c is m×cols with its rows ≥ count zero on entry (the thin-U case).
 */
export function applyQ(
  a: Float64Array,
  m: number,
  n: number,
  count: number,
  tau: Float64Array,
  c: Float64Array,
  cols: number,
): void {
  let w = new Float64Array(cols);
  let wn = new Float64Array(cols);
  // Rows ≥ count of c are zero, so vᵀc for the last reflector is just its first row.
  w.set(c.subarray((count - 1) * cols, count * cols));
  for (let k = count - 1; k >= 0; k--) {
    const t = tau[k]!;
    const hasNext = k > 0;
    if (hasNext) wn.set(c.subarray((k - 1) * cols, k * cols));
    for (let r = k; r < m; r++) {
      const o = r * cols;
      const tv = r === k ? t : t * a[r * n + k]!;
      const vn = hasNext ? a[r * n + k - 1]! : 0;
      if (vn !== 0) {
        for (let j = 0; j < cols; j++) {
          const x = c[o + j]! - tv * w[j]!;
          c[o + j] = x;
          wn[j] += vn * x;
        }
      } else if (tv !== 0) {
        for (let j = 0; j < cols; j++) c[o + j] -= tv * w[j]!;
      }
    }
    const tmp = w;
    w = wn;
    wn = tmp;
  }
}
