// The row kernels split over worker threads give the bits of one thread.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BinaryOp, UnaryOp } from '../src/index';
import { createWasmBackend, Rng, type WasmBackend } from '../src/index';
import {
  BINARY_PARALLEL_MIN_ELEMENTS,
  UNARY_PARALLEL_MIN_ELEMENTS,
} from '../src/kernels/wasm/elementwise';
import { ROPE_PARALLEL_MIN_ELEMENTS } from '../src/kernels/wasm/movement';
import { ROWS_PARALLEL_MIN_ELEMENTS } from '../src/kernels/wasm/rows';

function random(n: number, rng: Rng, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

/** Bit-for-bit equality, NaN payloads included. */
function expectBits(two: Float32Array, one: Float32Array, what: string): void {
  expect(two.length, what).toBe(one.length);
  const a = new Uint32Array(two.buffer, two.byteOffset, two.length);
  const b = new Uint32Array(one.buffer, one.byteOffset, one.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) throw new Error(`${what} [${i}]: 2 threads ${two[i]}, 1 thread ${one[i]}`);
  }
}

describe('row kernels on 2 threads give the bits of 1 thread', () => {
  let one: WasmBackend;
  let two: WasmBackend;
  beforeAll(async () => {
    one = await createWasmBackend({ threads: 1 });
    two = await createWasmBackend({ threads: 2 });
  });
  afterAll(() => {
    one.dispose();
    two.dispose();
  });

  /** Runs `f` on both backends and compares; the 2-thread result is copied first. */
  function same(what: string, f: (b: WasmBackend) => Float32Array | Float32Array[]): void {
    const r2 = [f(two)].flat().map((x) => x.slice());
    const r1 = [f(one)].flat();
    for (let i = 0; i < r2.length; i++) expectBits(r2[i]!, r1[i]!, `${what} #${i}`);
  }

  it('workers take part in a large elementwise op', async () => {
    const a = random(4 * UNARY_PARALLEL_MIN_ELEMENTS, new Rng(1));
    const before = two.workerChunks();
    // On a busy machine a worker may be scheduled late; the caller then runs its chunks.
    const deadline = performance.now() + 5000;
    do {
      two.unary('exp', a);
      await new Promise((r) => setTimeout(r, 1));
    } while (two.workerChunks() === before && performance.now() < deadline);
    expect(two.workerChunks()).toBeGreaterThan(before);
  });

  it('rmsNorm forward and backward', () => {
    const rng = new Rng(2);
    // Above the threshold; cols with a scalar tail, rows not a multiple of the chunks.
    for (const [rows, cols] of [
      [2048, 64],
      [333, 301],
      [(ROWS_PARALLEL_MIN_ELEMENTS >> 4) + 3, 16],
    ] as const) {
      const x = random(rows * cols, rng, 2);
      const w = random(cols, rng);
      const dy = random(rows * cols, rng);
      same(`rmsNorm ${rows}×${cols}`, (b) => b.rmsNorm(x, w, rows, cols, 1e-5));
      same(`rmsNormBackward ${rows}×${cols}`, (b) => b.rmsNormBackward(dy, x, w, rows, cols, 1e-5));
    }
  });

  it('softmax, log-softmax, cross-entropy and its gradient', () => {
    const rng = new Rng(3);
    for (const [rows, cols] of [
      [2048, 512],
      [97, 1001],
    ] as const) {
      const a = random(rows * cols, rng, 4);
      a[5] = Number.NEGATIVE_INFINITY;
      a[cols + 3] = Number.NaN;
      same(`softmax ${rows}×${cols}`, (b) => b.softmax(a, rows, cols, false));
      same(`log-softmax ${rows}×${cols}`, (b) => b.softmax(a, rows, cols, true));
      const targets = Int32Array.from({ length: rows }, (_, i) =>
        i % 7 === 3 ? -100 : rng.int(cols),
      );
      const rowGrad = Float32Array.from({ length: rows }, (_, i) => (i % 11 === 5 ? 0 : 1 / rows));
      same(`crossEntropy ${rows}×${cols}`, (b) => b.crossEntropy(a, targets, rows, cols, -100));
      same(`crossEntropyBackward ${rows}×${cols}`, (b) =>
        b.crossEntropyBackward(a, targets, rows, cols, -100, rowGrad),
      );
    }
  });

  // The ops without an exponential stay on one thread (nothing to gain); checked all the same.
  it('unary ops, including an odd length and special values', () => {
    const rng = new Rng(4);
    const n = 3 * UNARY_PARALLEL_MIN_ELEMENTS + 5;
    const a = random(n, rng, 3);
    a.set([0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 1e-40], 1000);
    const ops: UnaryOp[] = ['neg', 'exp', 'sqrt', 'rsqrt', 'abs', 'sigmoid', 'silu', 'gelu'];
    ops.push('tanh', 'relu', 'square', 'sign', 'reciprocal', 'siluGrad', 'geluGrad', 'step', 'log');
    for (const op of ops) same(`unary ${op}`, (b) => b.unary(op, a));
  });

  it('binary ops: same shape, scalar either side, trailing broadcast either side', () => {
    const rng = new Rng(5);
    const rows = 15653;
    const cols = 67;
    const total = rows * cols;
    expect(total).toBeGreaterThan(BINARY_PARALLEL_MIN_ELEMENTS);
    const a = random(total, rng);
    const b = random(total, rng);
    a[17] = Number.NaN;
    b[18] = Number.NaN;
    const row = random(cols, rng);
    const s = Float32Array.of(0.75);
    const shape = [rows, cols];
    const ops: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'greater'];
    ops.push('less', 'equal');
    for (const op of ops) {
      same(`${op} same shape`, (k) => k.binary(op, a, shape, b, shape, shape));
      same(`${op} scalar b`, (k) => k.binary(op, a, shape, s, [], shape));
      same(`${op} scalar a`, (k) => k.binary(op, s, [1], b, shape, shape));
      same(`${op} row b`, (k) => k.binary(op, a, shape, row, [1, cols], shape));
      same(`${op} row a`, (k) => k.binary(op, row, [cols], b, shape, shape));
    }
  });

  it('rope', () => {
    const rng = new Rng(6);
    const [rows, seq, dim] = [64, 256, 8];
    expect(rows * seq * dim).toBeGreaterThan(ROPE_PARALLEL_MIN_ELEMENTS);
    const x = random(rows * seq * dim, rng);
    const invFreq = Float32Array.from({ length: dim / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / dim));
    for (const inverse of [false, true]) {
      same(`rope inverse=${inverse}`, (b) =>
        b.rope(x, { rows, seq, dim, offset: 3, invFreq, inverse }),
      );
    }
  });
});
