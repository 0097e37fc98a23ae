// The two hot loops that run as WebAssembly SIMD (two float64 lanes per instruction, about twice
// the speed of the best scalar JavaScript): the block product inside gemm.ts and the row update
// of the one-pass bidiagonalisation in householder.ts. Both have JavaScript equivalents that are
// used where WebAssembly SIMD is missing.

import { compile, F64, type FunctionSpec, I32, instantiate, op, V128 } from './wasm-assembler';

const {
  localGet: get,
  localSet: set,
  localTee: tee,
  i32Const,
  i32Add,
  i32Sub,
  i32Mul,
  i32LtU,
  f64Load,
  f64Add,
  f64Sub,
  f64Mul,
  loop,
  end,
  brIf,
  v128Load,
  v128Store,
  v128Load64Splat,
  v128Zero,
  f64x2Splat,
  f64x2ExtractLane,
  f64x2Add,
  f64x2Sub,
  f64x2Mul,
} = op;

/**
 * block(mcp, ncp, kc, pa, pb, pc): C (mcp×ncp, row-major, at byte offset pc) = A·B for A packed
 * as mcp/4 panels of kc×4 (at pa) and B as ncp/4 panels of kc×4 (at pb), each panel p-major;
 * mcp and ncp are multiples of 4, kc ≥ 1. The 4×4 tile lives in eight two-lane accumulators.
 *
 * With `accumulate`, blockAcc(mcp, ncp, kc, pa, pb, pc, ldc, alpha) instead adds alpha·A·B to
 * a C with a row stride of ldc bytes, in place: no product block to write back from
 * JavaScript when C lives in the kernel's memory.
 */
function blockKernel(accumulate: boolean): FunctionSpec {
  // Params 0 mcp, 1 ncp, 2 kc, 3 pa, 4 pb, 5 pc (, 6 ldc, 7 alpha); then i32 locals jr, ir, p,
  // ap, bp, cp; v128 locals: eight accumulators, a row of B (two), a splat of A (, alpha).
  const LDC = 6;
  const ALPHA = 7;
  const first = accumulate ? 8 : 6;
  const [JR, IR, P, AP, BP, CP] = [0, 1, 2, 3, 4, 5].map((i) => first + i) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ACC = first + 6;
  const acc = (i: number, half: number) => ACC + 2 * i + half;
  const B0 = ACC + 8;
  const AV = B0 + 2;
  const AL = AV + 1;
  const body: number[][] = [];
  const emit = (...parts: number[][]) => body.push(...parts);
  if (accumulate) emit(get(ALPHA), f64x2Splat, set(AL));
  emit(i32Const(0), set(JR));
  emit(loop); // column panels jr
  emit(i32Const(0), set(IR));
  emit(loop); // row panels ir
  for (let k = 0; k < 8; k++) emit(v128Zero, set(ACC + k));
  emit(get(3), get(IR), get(2), i32Mul, i32Const(8), i32Mul, i32Add, set(AP));
  emit(get(4), get(JR), get(2), i32Mul, i32Const(8), i32Mul, i32Add, set(BP));
  emit(get(2), set(P));
  emit(loop); // p
  emit(get(BP), v128Load(0), set(B0), get(BP), v128Load(16), set(B0 + 1));
  for (let i = 0; i < 4; i++) {
    emit(get(AP), v128Load64Splat(8 * i), set(AV));
    for (let h = 0; h < 2; h++) {
      emit(get(acc(i, h)), get(AV), get(B0 + h), f64x2Mul, f64x2Add, set(acc(i, h)));
    }
  }
  emit(get(AP), i32Const(32), i32Add, set(AP), get(BP), i32Const(32), i32Add, set(BP));
  emit(get(P), i32Const(1), i32Sub, tee(P), brIf(0));
  emit(end);
  if (accumulate) {
    // cp = pc + ir·ldc + jr·8; C[row] += alpha·acc, row by row.
    emit(get(5), get(IR), get(LDC), i32Mul, i32Add, get(JR), i32Const(8), i32Mul, i32Add, set(CP));
    for (let i = 0; i < 4; i++) {
      for (let h = 0; h < 2; h++) {
        emit(get(CP), get(CP), v128Load(16 * h), get(AL), get(acc(i, h)), f64x2Mul, f64x2Add);
        emit(v128Store(16 * h));
      }
      emit(get(CP), get(LDC), i32Add, set(CP));
    }
  } else {
    emit(get(5), get(IR), get(1), i32Mul, get(JR), i32Add, i32Const(8), i32Mul, i32Add, set(CP));
    for (let i = 0; i < 4; i++) {
      emit(get(CP), get(acc(i, 0)), v128Store(0), get(CP), get(acc(i, 1)), v128Store(16));
      emit(get(CP), get(1), i32Const(8), i32Mul, i32Add, set(CP));
    }
  }
  emit(get(IR), i32Const(4), i32Add, tee(IR), get(0), i32LtU, brIf(0));
  emit(end);
  emit(get(JR), i32Const(4), i32Add, tee(JR), get(1), i32LtU, brIf(0));
  emit(end);
  return {
    name: accumulate ? 'blockAcc' : 'block',
    params: accumulate ? [I32, I32, I32, I32, I32, I32, I32, F64] : [I32, I32, I32, I32, I32, I32],
    results: [],
    locals: [
      [6, I32],
      [accumulate ? 12 : 11, V128],
    ],
    body,
  };
}

/**
 * rowPair(r0, r1, u, w, z, j0, j1, col, v0, v1, tauP, zw0, zw1) → zw0·c0² + zw1·c1², for two
 * rows at byte offsets r0, r1 of a bidiagonalisation step (all offsets in bytes, j0..j1 an even
 * column range, col the byte offset of the step's column i+1):
 *   x ← x − v·w;  s = x·u;  x ← x − τ_p s u;  z += zw·c·x  with c = the row's new x[col].
 * This is updateRowPair of householder.ts, vectorised over columns.
 */
function rowPairKernel(): FunctionSpec {
  // Params: 0 r0, 1 r1, 2 u, 3 w, 4 z, 5 j0, 6 j1, 7 col (i32); 8 v0, 9 v1, 10 tauP, 11 zw0,
  // 12 zw1 (f64). Locals: 13 j (i32); 14 t0, 15 t1, 16 c0, 17 c1 (f64); v128 18 sv0, 19 sv1,
  // 20 s0, 21 s1, 22 x0, 23 x1, 24 uj.
  const body: number[][] = [];
  const emit = (...parts: number[][]) => body.push(...parts);
  const [r0, r1, u, w, z, j0, j1, col, v0, v1, tauP, zw0, zw1] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
  ];
  const [j, t0, t1, c0, c1, sv0, sv1, s0, s1, x0, x1, uj] = [
    13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
  ];
  const at = (base: number) => [...get(base), ...get(j), ...i32Add];
  // Left reflector and the dot products with u.
  emit(get(v0), f64x2Splat, set(sv0), get(v1), f64x2Splat, set(sv1));
  emit(v128Zero, set(s0), v128Zero, set(s1), get(j0), set(j));
  emit(loop);
  emit(at(w), v128Load(), set(x1), at(u), v128Load(), set(uj));
  emit(at(r0), at(r0), v128Load(), get(sv0), get(x1), f64x2Mul, f64x2Sub, tee(x0), v128Store());
  emit(at(r1), at(r1), v128Load(), get(sv1), get(x1), f64x2Mul, f64x2Sub, tee(x1), v128Store());
  emit(get(s0), get(x0), get(uj), f64x2Mul, f64x2Add, set(s0));
  emit(get(s1), get(x1), get(uj), f64x2Mul, f64x2Add, set(s1));
  emit(get(j), i32Const(16), i32Add, tee(j), get(j1), i32LtU, brIf(0));
  emit(end);
  // t = τ_p (x·u), c = x[col] − t.
  for (const [s, t, c, r] of [
    [s0, t0, c0, r0],
    [s1, t1, c1, r1],
  ] as const) {
    emit(
      get(tauP),
      get(s),
      f64x2ExtractLane(0),
      get(s),
      f64x2ExtractLane(1),
      f64Add,
      f64Mul,
      set(t),
    );
    emit(get(r), get(col), i32Add, f64Load(), get(t), f64Sub, set(c));
  }
  // Right reflector and the next step's statistics.
  emit(get(t0), f64x2Splat, set(sv0), get(t1), f64x2Splat, set(sv1));
  emit(
    get(c0),
    get(zw0),
    f64Mul,
    f64x2Splat,
    set(s0),
    get(c1),
    get(zw1),
    f64Mul,
    f64x2Splat,
    set(s1),
  );
  emit(get(j0), set(j));
  emit(loop);
  emit(at(u), v128Load(), set(uj));
  emit(at(r0), at(r0), v128Load(), get(sv0), get(uj), f64x2Mul, f64x2Sub, tee(x0), v128Store());
  emit(at(r1), at(r1), v128Load(), get(sv1), get(uj), f64x2Mul, f64x2Sub, tee(x1), v128Store());
  emit(
    at(z),
    at(z),
    v128Load(),
    get(s0),
    get(x0),
    f64x2Mul,
    get(s1),
    get(x1),
    f64x2Mul,
    f64x2Add,
    f64x2Add,
    v128Store(),
  );
  emit(get(j), i32Const(16), i32Add, tee(j), get(j1), i32LtU, brIf(0));
  emit(end);
  emit(
    get(zw0),
    get(c0),
    f64Mul,
    get(c0),
    f64Mul,
    get(zw1),
    get(c1),
    f64Mul,
    get(c1),
    f64Mul,
    f64Add,
  );
  return {
    name: 'rowPair',
    params: [I32, I32, I32, I32, I32, I32, I32, I32, F64, F64, F64, F64, F64],
    results: [F64],
    locals: [
      [1, I32],
      [4, F64],
      [7, V128],
    ],
    body,
  };
}

export interface KernelExports {
  block(mcp: number, ncp: number, kc: number, pa: number, pb: number, pc: number): void;
  blockAcc(
    mcp: number,
    ncp: number,
    kc: number,
    pa: number,
    pb: number,
    pc: number,
    ldc: number,
    alpha: number,
  ): void;
  rowPair(
    r0: number,
    r1: number,
    u: number,
    w: number,
    z: number,
    j0: number,
    j1: number,
    col: number,
    v0: number,
    v1: number,
    tauP: number,
    zw0: number,
    zw1: number,
  ): number;
}

let compiled: WebAssembly.Module | null | undefined;
let enabled = true;

/** Turns the WebAssembly kernels off (or back on), e.g. to test the JavaScript fallbacks. */
export function setWasmEnabled(on: boolean): void {
  enabled = on;
}

export function wasmEnabled(): boolean {
  return enabled;
}

/** The kernels on a fresh memory of at least `bytes` bytes, or null without WebAssembly SIMD. */
export function wasmKernels(
  bytes: number,
): { exports: KernelExports; memory: WebAssembly.Memory } | null {
  if (!enabled) return null;
  if (compiled === undefined)
    compiled = compile([blockKernel(false), rowPairKernel(), blockKernel(true)]);
  if (!compiled) return null;
  try {
    return instantiate<KernelExports>(compiled, bytes);
  } catch {
    return null;
  }
}
