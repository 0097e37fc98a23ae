// Blocked matrix multiply C ← alpha·A·B + beta·C on strided float64 views (the GotoBLAS
// layout): blocks of A and B are packed into contiguous 4-wide panels, which also absorbs
// transposes, and a 4×4 register-blocked kernel multiplies them into a block of C. The kernel
// is WebAssembly SIMD where available (wasm-kernels.ts) and scalar JavaScript otherwise.
//
// Matrices allocated with {@link withKernelArrays} live in the kernel's own memory; a C there is
// updated in place by the kernel, instead of through a product block that JavaScript adds back.
// For the WY updates of a tall SVD that write-back was as costly as the multiplication itself.

import { wasmEnabled, wasmKernels } from './wasm-kernels';

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

/** A row-major matrix with leading dimension ld as a {@link View}, optionally transposed. */
export function rowMajor(data: Float64Array, ld: number, offset = 0, transposed = false): View {
  return transposed ? { data, offset, rs: 1, cs: ld } : { data, offset, rs: ld, cs: 1 };
}

// Packed A, packed B and the product block share one buffer, laid out as the kernels expect.
const A_AT = 0;
const B_AT = MC * KC;
const C_AT = B_AT + KC * NC;
const BUFFER_LENGTH = C_AT + MC * NC;

interface Backend {
  buf: Float64Array;
  /** buf[C_AT..] (mcp×ncp) = packed A (mcp rows) × packed B (ncp columns) over kc. */
  block: (mcp: number, ncp: number, kc: number, aAt?: number, bAt?: number) => void;
  /**
   * Adds alpha · packed A (mcp rows) × packed B (ncp columns) to the C in the kernel's memory
   * at byte offset `at` with a row stride of `ld` bytes (mcp, ncp multiples of 4).
   */
  blockInPlace?: (
    mcp: number,
    ncp: number,
    kc: number,
    at: number,
    ld: number,
    alpha: number,
  ) => void;
}

function scalarBackend(): Backend {
  const buf = new Float64Array(BUFFER_LENGTH);
  return {
    buf,
    block: (mcp, ncp, kc, aAt = A_AT, bAt = B_AT) => scalarBlock(buf, mcp, ncp, kc, aAt, bAt),
  };
}

function wasmBackend(bytes = BUFFER_LENGTH * 8): Backend | null {
  const w = wasmKernels(bytes);
  if (!w) return null;
  const buf = new Float64Array(w.memory.buffer, 0, BUFFER_LENGTH);
  const { block, blockAcc } = w.exports;
  return {
    buf,
    block: (mcp, ncp, kc, aAt = A_AT, bAt = B_AT) =>
      block(mcp, ncp, kc, aAt * 8, bAt * 8, C_AT * 8),
    blockInPlace: (mcp, ncp, kc, at, ld, alpha) =>
      blockAcc(mcp, ncp, kc, A_AT * 8, B_AT * 8, at, ld, alpha),
  };
}

let backend: Backend = scalarBackend();
let kernelKind: 'wasm' | 'js' = 'js';
/** The value of the WebAssembly switch (wasm-kernels.ts) that `backend` was chosen for. */
let chosenFor: boolean | undefined;

/** The backend whose memory holds the arrays of the running {@link withKernelArrays}. */
let arena: Backend | null = null;
/** A kernel memory kept for the next {@link withKernelArrays} call, and its size in bytes. */
let keptArena: { backend: Backend; bytes: number } | null = null;
/** Kernel memory up to this size is kept between calls (repeated SVDs then skip page faults). */
const KEEP_ARENA_BYTES = 256 * 2 ** 20;
let arenaEnabled = true;

/**
 * Turns {@link withKernelArrays} off (ordinary arrays, every product written back through
 * JavaScript) or back on: the benchmark's same-run baseline and the tests of both paths.
 */
export function setKernelArraysEnabled(on: boolean): void {
  arenaEnabled = on;
}

/**
 * Runs `fn` with zeroed float64 arrays of the given lengths that live in the GEMM kernel's
 * memory, so that a GEMM into one of them updates it in place. Without WebAssembly, inside
 * another call, or if the memory cannot be had, they are ordinary arrays. They must not be used
 * after `fn` returns (the memory is reused by the next call).
 */
export function withKernelArrays<T>(
  lengths: readonly number[],
  fn: (arrays: Float64Array[]) => T,
): T {
  const plain = () => fn(lengths.map((l) => new Float64Array(l)));
  if (arena || !arenaEnabled || !wasmEnabled()) return plain();
  // 16-byte aligned, after the packing buffers.
  const offsets: number[] = [];
  let bytes = BUFFER_LENGTH * 8;
  for (const l of lengths) {
    offsets.push(bytes);
    bytes += Math.ceil(l / 2) * 16;
  }
  let backend: Backend | null = null;
  if (keptArena && keptArena.bytes >= bytes) backend = keptArena.backend;
  else {
    backend = wasmBackend(bytes);
    if (backend && bytes <= KEEP_ARENA_BYTES) keptArena = { backend, bytes };
  }
  if (!backend) return plain();
  const memory = backend.buf.buffer;
  const arrays = lengths.map((l, i) => {
    const x = new Float64Array(memory, offsets[i], l);
    x.fill(0);
    return x;
  });
  arena = backend;
  try {
    return fn(arrays);
  } finally {
    arena = null;
  }
}

function current(): Backend {
  if (arena) return arena;
  const want = wasmEnabled();
  if (want !== chosenFor) {
    const wasm = want ? wasmBackend() : null;
    backend = wasm ?? scalarBackend();
    kernelKind = wasm ? 'wasm' : 'js';
    chosenFor = want;
  }
  return backend;
}

/** Which kernel gemm runs now. */
export function gemmKernel(): 'wasm' | 'js' {
  current();
  return kernelKind;
}

function scalarBlock(
  buf: Float64Array,
  mcp: number,
  ncp: number,
  kc: number,
  aAt: number,
  bAt: number,
): void {
  for (let jr = 0; jr < ncp; jr += NR) {
    for (let ir = 0; ir < mcp; ir += MR) {
      scalarTile(buf, kc, aAt + ir * kc, bAt + jr * kc, C_AT + ir * ncp + jr, ncp);
    }
  }
}

/** One 4×4 tile; a function of its own so that V8 keeps the sixteen sums in registers. */
function scalarTile(buf: Float64Array, kc: number, pa: number, pb: number, co: number, ld: number) {
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
    const a0 = buf[pa]!;
    const a1 = buf[pa + 1]!;
    const a2 = buf[pa + 2]!;
    const a3 = buf[pa + 3]!;
    const b0 = buf[pb]!;
    const b1 = buf[pb + 1]!;
    const b2 = buf[pb + 2]!;
    const b3 = buf[pb + 3]!;
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
  buf[co] = c00;
  buf[co + 1] = c01;
  buf[co + 2] = c02;
  buf[co + 3] = c03;
  co += ld;
  buf[co] = c10;
  buf[co + 1] = c11;
  buf[co + 2] = c12;
  buf[co + 3] = c13;
  co += ld;
  buf[co] = c20;
  buf[co + 1] = c21;
  buf[co + 2] = c22;
  buf[co + 3] = c23;
  co += ld;
  buf[co] = c30;
  buf[co + 1] = c31;
  buf[co + 2] = c32;
  buf[co + 3] = c33;
}

/** Packs rows [i0, i0+mc) × columns [p0, p0+kc) of A as MR-row panels, zero-padded. */
function packA(buf: Float64Array, a: View, i0: number, mc: number, p0: number, kc: number): void {
  const { data, offset, rs, cs } = a;
  let q = A_AT;
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = Math.min(MR, mc - ir);
    const base = offset + (i0 + ir) * rs + p0 * cs;
    if (rows === MR) {
      for (let p = 0, o = base; p < kc; p++, o += cs) {
        buf[q] = data[o]!;
        buf[q + 1] = data[o + rs]!;
        buf[q + 2] = data[o + 2 * rs]!;
        buf[q + 3] = data[o + 3 * rs]!;
        q += MR;
      }
    } else {
      for (let p = 0, o = base; p < kc; p++, o += cs) {
        for (let r = 0; r < MR; r++) buf[q + r] = r < rows ? data[o + r * rs]! : 0;
        q += MR;
      }
    }
  }
}

/** Packs rows [p0, p0+kc) × columns [j0, j0+nc) of B as NR-column panels, zero-padded. */
function packB(buf: Float64Array, b: View, p0: number, kc: number, j0: number, nc: number): void {
  const { data, offset, rs, cs } = b;
  let q = B_AT;
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = Math.min(NR, nc - jr);
    const base = offset + p0 * rs + (j0 + jr) * cs;
    if (cols === NR) {
      for (let p = 0, o = base; p < kc; p++, o += rs) {
        buf[q] = data[o]!;
        buf[q + 1] = data[o + cs]!;
        buf[q + 2] = data[o + 2 * cs]!;
        buf[q + 3] = data[o + 3 * cs]!;
        q += NR;
      }
    } else {
      for (let p = 0, o = base; p < kc; p++, o += rs) {
        for (let c = 0; c < NR; c++) buf[q + c] = c < cols ? data[o + c * cs]! : 0;
        q += NR;
      }
    }
  }
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
  const be = current();
  const { buf, block } = be;
  const inPlace = be.blockInPlace !== undefined && c.buffer === buf.buffer ? be.blockInPlace : null;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    const ncp = Math.ceil(nc / NR) * NR;
    // Full 4-column panels go through the in-place kernel; a narrower last one through buf.
    const ncFull = inPlace ? nc - (nc % NR) : 0;
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      packB(buf, b, p0, kc, j0, nc);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0);
        const mcp = Math.ceil(mc / MR) * MR;
        packA(buf, a, i0, mc, p0, kc);
        if (!inPlace) {
          block(mcp, ncp, kc);
          addBack(buf, ncp, c, cOffset + i0 * ldc + j0, ldc, alpha, 0, mc, 0, nc);
          continue;
        }
        const mcFull = mc - (mc % MR);
        const at = c.byteOffset + (cOffset + i0 * ldc + j0) * 8;
        if (mcFull > 0 && ncFull > 0) inPlace(mcFull, ncFull, kc, at, ldc * 8, alpha);
        if (ncFull < nc) {
          // The last column panel, all rows (buf holds it mcp×NR).
          block(mcp, NR, kc, A_AT, B_AT + ncFull * kc);
          addBack(buf, NR, c, cOffset + i0 * ldc + j0 + ncFull, ldc, alpha, 0, mc, 0, nc - ncFull);
        }
        if (mcFull < mc && ncFull > 0) {
          // The last row panel, full column panels only (buf holds it MR×ncFull).
          block(MR, ncFull, kc, A_AT + mcFull * kc, B_AT);
          addBack(
            buf,
            ncFull,
            c,
            cOffset + (i0 + mcFull) * ldc + j0,
            ldc,
            alpha,
            0,
            mc - mcFull,
            0,
            ncFull,
          );
        }
      }
    }
  }
}

/** C[r, j] += alpha · buf[C_AT + r·ld + j] for rows [r0, r1) and columns [j0, j1) of the block. */
function addBack(
  buf: Float64Array,
  ld: number,
  c: Float64Array,
  cAt: number,
  ldc: number,
  alpha: number,
  r0: number,
  r1: number,
  j0: number,
  j1: number,
): void {
  for (let r = r0; r < r1; r++) {
    const co = cAt + r * ldc;
    const bo = C_AT + r * ld;
    for (let j = j0; j < j1; j++) c[co + j] += alpha * buf[bo + j]!;
  }
}
