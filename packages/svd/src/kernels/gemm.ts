// Blocked matrix multiply C ← alpha·A·B + beta·C on strided float64 views. Blocks of A and B
// are packed into contiguous panels (which also absorbs transposes) and multiplied by a 4×4
// register-blocked kernel: sixteen scalar accumulators are what V8 keeps in registers.

const MR = 4;
const NR = 4;
const KC = 256;
const MC = 96;
const NC = 1024;

/** A strided matrix view: element (i, j) is data[offset + i * rs + j * cs]. */
export interface View {
  data: Float64Array;
  offset: number;
  rs: number;
  cs: number;
}

let packA = new Float64Array(MC * KC);
let packB = new Float64Array(KC * NC);
const edge = new Float64Array(MR * NR);

/** Packs rows [i0, i0+mc) × columns [p0, p0+kc) of A as MR-row panels, p-major within a panel. */
function packPanelsA(a: View, i0: number, mc: number, p0: number, kc: number): void {
  const { data, offset, rs, cs } = a;
  let q = 0;
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = Math.min(MR, mc - ir);
    const base = offset + (i0 + ir) * rs + p0 * cs;
    if (rows === MR) {
      for (let p = 0, o = base; p < kc; p++, o += cs) {
        packA[q] = data[o]!;
        packA[q + 1] = data[o + rs]!;
        packA[q + 2] = data[o + 2 * rs]!;
        packA[q + 3] = data[o + 3 * rs]!;
        q += MR;
      }
    } else {
      for (let p = 0, o = base; p < kc; p++, o += cs) {
        for (let r = 0; r < MR; r++) packA[q + r] = r < rows ? data[o + r * rs]! : 0;
        q += MR;
      }
    }
  }
}

/** Packs rows [p0, p0+kc) × columns [j0, j0+nc) of B as NR-column panels, p-major within a panel. */
function packPanelsB(b: View, p0: number, kc: number, j0: number, nc: number): void {
  const { data, offset, rs, cs } = b;
  let q = 0;
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = Math.min(NR, nc - jr);
    const base = offset + p0 * rs + (j0 + jr) * cs;
    if (cols === NR) {
      for (let p = 0, o = base; p < kc; p++, o += rs) {
        packB[q] = data[o]!;
        packB[q + 1] = data[o + cs]!;
        packB[q + 2] = data[o + 2 * cs]!;
        packB[q + 3] = data[o + 3 * cs]!;
        q += NR;
      }
    } else {
      for (let p = 0, o = base; p < kc; p++, o += rs) {
        for (let c = 0; c < NR; c++) packB[q + c] = c < cols ? data[o + c * cs]! : 0;
        q += NR;
      }
    }
  }
}

/** out[0..15] = 4×4 block of packA(panel at pa) × packB(panel at pb) over kc. */
function kernel4x4(
  kc: number,
  pa: number,
  pb: number,
  alpha: number,
  c: Float64Array,
  co: number,
  ldc: number,
): void {
  const A = packA;
  const B = packB;
  let c00 = 0;
  let c01 = 0;
  let c02 = 0;
  let c03 = 0;
  let c10 = 0;
  let c11 = 0;
  let c12 = 0;
  let c13 = 0;
  let c20 = 0;
  let c21 = 0;
  let c22 = 0;
  let c23 = 0;
  let c30 = 0;
  let c31 = 0;
  let c32 = 0;
  let c33 = 0;
  for (let p = 0; p < kc; p++, pa += 4, pb += 4) {
    const a0 = A[pa]!;
    const a1 = A[pa + 1]!;
    const a2 = A[pa + 2]!;
    const a3 = A[pa + 3]!;
    const b0 = B[pb]!;
    const b1 = B[pb + 1]!;
    const b2 = B[pb + 2]!;
    const b3 = B[pb + 3]!;
    c00 += a0 * b0;
    c01 += a0 * b1;
    c02 += a0 * b2;
    c03 += a0 * b3;
    c10 += a1 * b0;
    c11 += a1 * b1;
    c12 += a1 * b2;
    c13 += a1 * b3;
    c20 += a2 * b0;
    c21 += a2 * b1;
    c22 += a2 * b2;
    c23 += a2 * b3;
    c30 += a3 * b0;
    c31 += a3 * b1;
    c32 += a3 * b2;
    c33 += a3 * b3;
  }
  c[co] += alpha * c00;
  c[co + 1] += alpha * c01;
  c[co + 2] += alpha * c02;
  c[co + 3] += alpha * c03;
  co += ldc;
  c[co] += alpha * c10;
  c[co + 1] += alpha * c11;
  c[co + 2] += alpha * c12;
  c[co + 3] += alpha * c13;
  co += ldc;
  c[co] += alpha * c20;
  c[co + 1] += alpha * c21;
  c[co + 2] += alpha * c22;
  c[co + 3] += alpha * c23;
  co += ldc;
  c[co] += alpha * c30;
  c[co + 1] += alpha * c31;
  c[co + 2] += alpha * c32;
  c[co + 3] += alpha * c33;
}

/**
 * C ← alpha·A·B + beta·C for an m×k A, k×n B and row-major C (entry (i, j) at
 * c[cOffset + i * ldc + j]); beta is 0 or 1.
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: View,
  b: View,
  beta: 0 | 1,
  c: Float64Array,
  cOffset: number,
  ldc: number,
): void {
  if (beta === 0) {
    for (let i = 0; i < m; i++) c.fill(0, cOffset + i * ldc, cOffset + i * ldc + n);
  }
  if (m === 0 || n === 0 || k === 0 || alpha === 0) return;
  if (packB.length < KC * Math.min(NC, n + NR)) packB = new Float64Array(KC * NC);
  if (packA.length < MC * KC) packA = new Float64Array(MC * KC);
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      packPanelsB(b, p0, kc, j0, nc);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0);
        packPanelsA(a, i0, mc, p0, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = Math.min(NR, nc - jr);
          const pb = jr * kc;
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = Math.min(MR, mc - ir);
            const pa = ir * kc;
            const co = cOffset + (i0 + ir) * ldc + j0 + jr;
            if (rows === MR && cols === NR) {
              kernel4x4(kc, pa, pb, alpha, c, co, ldc);
            } else {
              edge.fill(0);
              kernel4x4(kc, pa, pb, alpha, edge, 0, NR);
              for (let r = 0; r < rows; r++) {
                for (let q = 0; q < cols; q++) c[co + r * ldc + q] += edge[r * NR + q]!;
              }
            }
          }
        }
      }
    }
  }
}

/** A row-major rows×cols matrix as a {@link View}, optionally transposed. */
export function rowMajor(data: Float64Array, ld: number, offset = 0, transposed = false): View {
  return transposed ? { data, offset, rs: 1, cs: ld } : { data, offset, rs: ld, cs: 1 };
}
