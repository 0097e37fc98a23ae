// Packed, register-blocked f32x4 matrix product (the GotoBLAS/BLIS loop nest).
// Operands are packed into MR-row panels of A and NR-column panels of B, so the
// micro-kernel streams both contiguously whatever the transposes; edge panels are
// zero-padded and their tiles go through a scratch tile. MR×NR = 4×8 keeps 8
// accumulators, 2 B vectors and a broadcast in V8's 15 usable xmm registers.

const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 64;
const NC: i32 = 1024;

/** Bytes of packing workspace one gemm needs (plus 64 for alignment). */
export function gemmWorkspaceBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4 + 64;
}

// Ap[panel][kk][r] = op(A)(i0 + panel·MR + r, p0 + kk); rows past mc are zero.
function packA(
  a: usize,
  lda: usize,
  transA: bool,
  i0: i32,
  p0: i32,
  mc: i32,
  kc: i32,
  ap: usize,
): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    const dst = ap + <usize>(ir * kc) * 4;
    if (!transA && rows === MR) {
      // Four rows at a time: 4×4 blocks transposed into the panel's k-major order.
      const s0 = a + (<usize>(i0 + ir) * lda + <usize>p0) * 4;
      const rs = lda * 4;
      let kk = 0;
      for (; kk + 4 <= kc; kk += 4) {
        transpose4(s0 + <usize>kk * 4, rs, dst + <usize>(kk * MR) * 4, MR * 4);
      }
      for (; kk < kc; kk++) {
        const d = dst + <usize>(kk * MR) * 4;
        for (let r = 0; r < MR; r++)
          store<f32>(d + <usize>r * 4, load<f32>(s0 + rs * r + <usize>kk * 4));
      }
    } else if (!transA) {
      for (let r = 0; r < MR; r++) {
        let d = dst + <usize>r * 4;
        if (r < rows) {
          let src = a + (<usize>(i0 + ir + r) * lda + <usize>p0) * 4;
          for (let kk = 0; kk < kc; kk++) {
            store<f32>(d, load<f32>(src));
            src += 4;
            d += MR * 4;
          }
        } else {
          for (let kk = 0; kk < kc; kk++) {
            store<f32>(d, 0);
            d += MR * 4;
          }
        }
      }
    } else if (rows === MR) {
      // Aᵀ is stored k×m, so MR consecutive rows of A are one contiguous vector.
      let src = a + (<usize>p0 * lda + <usize>(i0 + ir)) * 4;
      let d = dst;
      for (let kk = 0; kk < kc; kk++) {
        v128.store(d, v128.load(src));
        src += lda * 4;
        d += MR * 4;
      }
    } else {
      for (let kk = 0; kk < kc; kk++) {
        const src = a + (<usize>(p0 + kk) * lda + <usize>(i0 + ir)) * 4;
        const d = dst + <usize>(kk * MR) * 4;
        for (let r = 0; r < MR; r++) {
          store<f32>(d + <usize>r * 4, r < rows ? load<f32>(src + <usize>r * 4) : 0);
        }
      }
    }
  }
}

// Bp[panel][kk][c] = op(B)(p0 + kk, j0 + panel·NR + c); columns past nc are zero.
function packB(
  b: usize,
  ldb: usize,
  transB: bool,
  p0: i32,
  j0: i32,
  kc: i32,
  nc: i32,
  bp: usize,
): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const dst = bp + <usize>(jr * kc) * 4;
    if (!transB) {
      if (cols === NR) {
        let src = b + (<usize>p0 * ldb + <usize>(j0 + jr)) * 4;
        let d = dst;
        for (let kk = 0; kk < kc; kk++) {
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
          src += ldb * 4;
          d += NR * 4;
        }
      } else {
        for (let kk = 0; kk < kc; kk++) {
          const src = b + (<usize>(p0 + kk) * ldb + <usize>(j0 + jr)) * 4;
          const d = dst + <usize>(kk * NR) * 4;
          for (let c = 0; c < NR; c++) {
            store<f32>(d + <usize>c * 4, c < cols ? load<f32>(src + <usize>c * 4) : 0);
          }
        }
      }
    } else if (cols === NR) {
      // Bᵀ is stored n×k: transpose 4×4 blocks of two groups of four rows.
      const s0 = b + (<usize>(j0 + jr) * ldb + <usize>p0) * 4;
      const rs = ldb * 4;
      let kk = 0;
      for (; kk + 4 <= kc; kk += 4) {
        const o = <usize>kk * 4;
        const d = dst + <usize>(kk * NR) * 4;
        transpose4(s0 + o, rs, d, NR * 4);
        transpose4(s0 + rs * 4 + o, rs, d + 16, NR * 4);
      }
      for (; kk < kc; kk++) {
        const d = dst + <usize>(kk * NR) * 4;
        for (let c = 0; c < NR; c++)
          store<f32>(d + <usize>c * 4, load<f32>(s0 + rs * c + <usize>kk * 4));
      }
    } else {
      for (let c = 0; c < NR; c++) {
        let d = dst + <usize>c * 4;
        if (c < cols) {
          let src = b + (<usize>(j0 + jr + c) * ldb + <usize>p0) * 4;
          for (let kk = 0; kk < kc; kk++) {
            store<f32>(d, load<f32>(src));
            src += 4;
            d += NR * 4;
          }
        } else {
          for (let kk = 0; kk < kc; kk++) {
            store<f32>(d, 0);
            d += NR * 4;
          }
        }
      }
    }
  }
}

// Writes the transpose of the 4×4 block at src (row stride rs bytes) as four
// vectors `pitch` bytes apart.
function transpose4(src: usize, rs: usize, dst: usize, pitch: usize): void {
  const r0 = v128.load(src);
  const r1 = v128.load(src + rs);
  const r2 = v128.load(src + rs * 2);
  const r3 = v128.load(src + rs * 3);
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(dst + pitch, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(dst + pitch * 2, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(dst + pitch * 3, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

// C[0..MR, 0..NR] (row stride ldc floats) = (accumulate ? C : 0) + Ap·Bp.
function microKernel(ap: usize, bp: usize, kc: i32, c: usize, ldc: usize, accumulate: bool): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += MR * 4;
    bp += NR * 4;
  }
  const r1 = c + ldc * 4;
  const r2 = r1 + ldc * 4;
  const r3 = r2 + ldc * 4;
  if (accumulate) {
    c00 = f32x4.add(c00, v128.load(c));
    c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(r1));
    c11 = f32x4.add(c11, v128.load(r1, 16));
    c20 = f32x4.add(c20, v128.load(r2));
    c21 = f32x4.add(c21, v128.load(r2, 16));
    c30 = f32x4.add(c30, v128.load(r3));
    c31 = f32x4.add(c31, v128.load(r3, 16));
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(r1, c10);
  v128.store(r1, c11, 16);
  v128.store(r2, c20);
  v128.store(r2, c21, 16);
  v128.store(r3, c30);
  v128.store(r3, c31, 16);
}

// c (1×n) = (accumulate ? c : 0) + a (1×k, element stride sa floats)·op(B): the
// decoding case, where packing B would cost as much as the product itself.
function gemv(
  a: usize,
  sa: usize,
  b: usize,
  ldb: usize,
  transB: bool,
  c: usize,
  k: i32,
  n: i32,
  accumulate: bool,
): void {
  if (transB) {
    // Columns of op(B) are rows of B: dot products along k, four at a time.
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = b + <usize>j * ldb * 4;
      const b1 = b0 + ldb * 4;
      const b2 = b1 + ldb * 4;
      const b3 = b2 + ldb * 4;
      let s0 = f32x4.splat(0);
      let s1 = f32x4.splat(0);
      let s2 = f32x4.splat(0);
      let s3 = f32x4.splat(0);
      let p = 0;
      if (sa === 1) {
        for (; p + 4 <= k; p += 4) {
          const o = <usize>p * 4;
          const x = v128.load(a + o);
          s0 = f32x4.add(s0, f32x4.mul(x, v128.load(b0 + o)));
          s1 = f32x4.add(s1, f32x4.mul(x, v128.load(b1 + o)));
          s2 = f32x4.add(s2, f32x4.mul(x, v128.load(b2 + o)));
          s3 = f32x4.add(s3, f32x4.mul(x, v128.load(b3 + o)));
        }
      }
      // Lane sums of the four rows, transposed into one vector (c[j..j+3]).
      const t0 = f32x4.add(
        v128.shuffle<f32>(s0, s1, 0, 1, 4, 5),
        v128.shuffle<f32>(s0, s1, 2, 3, 6, 7),
      );
      const t1 = f32x4.add(
        v128.shuffle<f32>(s2, s3, 0, 1, 4, 5),
        v128.shuffle<f32>(s2, s3, 2, 3, 6, 7),
      );
      let sum = f32x4.add(
        v128.shuffle<f32>(t0, t1, 0, 2, 4, 6),
        v128.shuffle<f32>(t0, t1, 1, 3, 5, 7),
      );
      for (; p < k; p++) {
        const x = f32x4.splat(load<f32>(a + <usize>p * sa * 4));
        const o = <usize>p * 4;
        let col = f32x4.splat(0);
        col = f32x4.replace_lane(col, 0, load<f32>(b0 + o));
        col = f32x4.replace_lane(col, 1, load<f32>(b1 + o));
        col = f32x4.replace_lane(col, 2, load<f32>(b2 + o));
        col = f32x4.replace_lane(col, 3, load<f32>(b3 + o));
        sum = f32x4.add(sum, f32x4.mul(x, col));
      }
      const cj = c + <usize>j * 4;
      v128.store(cj, accumulate ? f32x4.add(v128.load(cj), sum) : sum);
    }
    for (; j < n; j++) {
      const bj = b + <usize>j * ldb * 4;
      let s: f32 = 0;
      for (let p = 0; p < k; p++)
        s += load<f32>(a + <usize>p * sa * 4) * load<f32>(bj + <usize>p * 4);
      const cj = c + <usize>j * 4;
      store<f32>(cj, accumulate ? load<f32>(cj) + s : s);
    }
    return;
  }
  // c[j..j+16] accumulated in registers over all of k: Σ_p a[p]·B[p, j..j+16].
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    let s0 = f32x4.splat(0);
    let s1 = f32x4.splat(0);
    let s2 = f32x4.splat(0);
    let s3 = f32x4.splat(0);
    let bp = b + <usize>j * 4;
    for (let p = 0; p < k; p++) {
      const x = v128.load32_splat(a + <usize>p * sa * 4);
      s0 = f32x4.add(s0, f32x4.mul(x, v128.load(bp)));
      s1 = f32x4.add(s1, f32x4.mul(x, v128.load(bp, 16)));
      s2 = f32x4.add(s2, f32x4.mul(x, v128.load(bp, 32)));
      s3 = f32x4.add(s3, f32x4.mul(x, v128.load(bp, 48)));
      bp += ldb * 4;
    }
    const cj = c + <usize>j * 4;
    if (accumulate) {
      s0 = f32x4.add(s0, v128.load(cj));
      s1 = f32x4.add(s1, v128.load(cj, 16));
      s2 = f32x4.add(s2, v128.load(cj, 32));
      s3 = f32x4.add(s3, v128.load(cj, 48));
    }
    v128.store(cj, s0);
    v128.store(cj, s1, 16);
    v128.store(cj, s2, 32);
    v128.store(cj, s3, 48);
  }
  for (; j + 4 <= n; j += 4) {
    let s0 = f32x4.splat(0);
    let bp = b + <usize>j * 4;
    for (let p = 0; p < k; p++) {
      s0 = f32x4.add(s0, f32x4.mul(v128.load32_splat(a + <usize>p * sa * 4), v128.load(bp)));
      bp += ldb * 4;
    }
    const cj = c + <usize>j * 4;
    v128.store(cj, accumulate ? f32x4.add(s0, v128.load(cj)) : s0);
  }
  for (; j < n; j++) {
    let s: f32 = 0;
    for (let p = 0; p < k; p++) {
      s += load<f32>(a + <usize>p * sa * 4) * load<f32>(b + (<usize>p * ldb + <usize>j) * 4);
    }
    const cj = c + <usize>j * 4;
    store<f32>(cj, accumulate ? load<f32>(cj) + s : s);
  }
}

/**
 * C (m×n, row stride ldc) = (accumulate ? C : 0) + op(A)·op(B), where op(A) is m×k
 * read from a with row stride lda (transposed: A is stored k×m), and likewise B.
 * Strides are in floats, pointers in bytes; `work` holds gemmWorkspaceBytes().
 */
export function gemm(
  a: usize,
  lda: usize,
  transA: bool,
  b: usize,
  ldb: usize,
  transB: bool,
  c: usize,
  ldc: usize,
  m: i32,
  k: i32,
  n: i32,
  accumulate: bool,
  work: usize,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) {
      for (let i = 0; i < m; i++) memory.fill(c + <usize>i * ldc * 4, 0, <usize>n * 4);
    }
    return;
  }
  if (m === 1) {
    gemv(a, transA ? lda : 1, b, ldb, transB, c, k, n, accumulate);
    return;
  }
  const ap = (work + 63) & ~(<usize>63);
  const bp = ap + <usize>(MC * KC) * 4;
  const tile = bp + <usize>(KC * NC) * 4;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const acc = accumulate || pc > 0;
      packB(b, ldb, transB, pc, jc, kc, nc, bp);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packA(a, lda, transA, ic, pc, mc, kc, ap);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const bPanel = bp + <usize>(jr * kc) * 4;
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const aPanel = ap + <usize>(ir * kc) * 4;
            const cTile = c + (<usize>(ic + ir) * ldc + <usize>(jc + jr)) * 4;
            if (mr === MR && nr === NR) {
              microKernel(aPanel, bPanel, kc, cTile, ldc, acc);
            } else {
              microKernel(aPanel, bPanel, kc, tile, <usize>NR, false);
              for (let r = 0; r < mr; r++) {
                const dst = cTile + <usize>r * ldc * 4;
                const src = tile + <usize>(r * NR) * 4;
                for (let cc = 0; cc < nr; cc++) {
                  const v = load<f32>(src + <usize>cc * 4);
                  const o = dst + <usize>cc * 4;
                  store<f32>(o, acc ? load<f32>(o) + v : v);
                }
              }
            }
          }
        }
      }
    }
  }
}

/**
 * Batched C[bi] = op(A[bi])·op(B[bi]) for batch entries [b0, b1), output rows [r0, r1)
 * and columns [c0, c1), so that threads can split any of them; batch strides are in
 * floats (0 broadcasts an operand).
 */
export function matmul(
  a: usize,
  b: usize,
  c: usize,
  m: i32,
  k: i32,
  n: i32,
  transA: bool,
  transB: bool,
  aStride: i32,
  bStride: i32,
  b0: i32,
  b1: i32,
  r0: i32,
  r1: i32,
  c0: i32,
  c1: i32,
  work: usize,
): void {
  const lda = <usize>(transA ? m : k);
  const ldb = <usize>(transB ? k : n);
  for (let bi = b0; bi < b1; bi++) {
    const aB = a + <usize>bi * <usize>aStride * 4;
    const bB = b + <usize>bi * <usize>bStride * 4;
    const cB = c + ((<usize>bi * <usize>m + <usize>r0) * <usize>n + <usize>c0) * 4;
    // Row r0 of op(A) starts r0 rows down A, or r0 columns across when transposed;
    // column c0 of op(B) likewise.
    const aPart = aB + <usize>r0 * (transA ? 1 : lda) * 4;
    const bPart = bB + <usize>c0 * (transB ? ldb : 1) * 4;
    gemm(aPart, lda, transA, bPart, ldb, transB, cB, <usize>n, r1 - r0, k, c1 - c0, false, work);
  }
}
