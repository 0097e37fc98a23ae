import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AttentionParams,
  BINARY_OPS,
  type BinaryOp,
  createGpuJsBackend,
  createJsBackend,
  type GpuJsBackend,
  gpuJsBackendName,
  type HostBackend,
  loadBackend,
  type MatmulParams,
  Rng,
  UNARY_OPS,
  type UnaryOp,
} from '../src/index';
import { testGpuJsModes } from './backends';

/**
 * Every Backend kernel of each gpu.js backend against the js reference, on seeded
 * random inputs with odd sizes. Results are float32 either way; the gpu.js kernels
 * accumulate in float32 where the reference accumulates in float64, so sums are held
 * to 1e-5 of the magnitude of what was summed (the same sum over |terms|).
 */

const ref = createJsBackend();
const gpuModes = testGpuJsModes();

function random(
  n: number,
  seed: number,
  opts: { low?: number; high?: number; ints?: boolean } = {},
): Float32Array {
  const { low = -2, high = 2, ints = false } = opts;
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = low + (high - low) * rng.uniform();
    out[i] = ints ? Math.floor(x) : x;
  }
  return out;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const abs = (a: Float32Array): Float32Array => a.map(Math.abs);

/**
 * got ≈ want elementwise: |got − want| ≤ rtol · (|want| + scale), with NaN matching
 * NaN and infinities matching exactly. `scale` is per element (or one number).
 */
function expectAgree(
  got: Float32Array,
  want: Float32Array,
  what: string,
  scale: Float32Array | number = 0,
  rtol = 1e-5,
): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      if (!Object.is(g, w) && !(Number.isNaN(w) && Number.isNaN(g))) {
        throw new Error(`${what} [${i}]: got ${g}, expected ${w}`);
      }
      continue;
    }
    const s = typeof scale === 'number' ? scale : scale[i]!;
    if (!(Math.abs(g - w) <= rtol * (Math.abs(w) + s))) {
      throw new Error(
        `${what} [${i}]: got ${g}, expected ${w} (tolerance ${rtol * (Math.abs(w) + s)})`,
      );
    }
  }
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const x of a) if (Number.isFinite(x)) m = Math.max(m, Math.abs(x));
  return m;
}

/** got equals want value for value: data movement copies, so it is exact. */
function expectSame(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i]))
      throw new Error(`${what} [${i}]: got ${got[i]}, expected ${want[i]}`);
  }
}

/**
 * Fails unless `b` has compiled a kernel whose key (without the device suffixes that
 * run-plan.ts adds) matches `key`: the call ran in gpu.js, not in the js fallback.
 */
function expectCompiled(b: HostBackend, key: RegExp): void {
  const keys = (b as unknown as GpuJsBackend).context
    .compiledKernels()
    .map((k) => k.key.split('|')[0]!);
  expect(
    keys.some((k) => key.test(k)),
    `${key} among ${keys.join(', ')}`,
  ).toBe(true);
}

/**
 * Magnitudes of the terms the rmsNorm gradient sums: dx = inv · (g − x̂ · mean(g · x̂))
 * cancels almost exactly when a row has one column, so its error is relative to these.
 */
function rmsNormGradScales(
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  rows: number,
  cols: number,
  eps: number,
): [Float32Array, Float32Array] {
  const dx = new Float32Array(rows * cols);
  const dw = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += x[r * cols + c]! ** 2;
    const inv = 1 / Math.sqrt(ss / cols + eps);
    let dot = 0;
    for (let c = 0; c < cols; c++)
      dot += Math.abs(dy[r * cols + c]! * w[c]! * x[r * cols + c]! * inv) / cols;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      dx[i] = inv * (Math.abs(dy[i]! * w[c]!) + Math.abs(x[i]! * inv) * dot);
      dw[c]! += Math.abs(dy[i]! * x[i]! * inv);
    }
  }
  return [dx, dw];
}

/** [a, b, out] shapes covering same-shape, scalar, bias, column/row and many-axis broadcasts. */
const BROADCAST_CASES: [number[], number[], number[]][] = [
  [
    [3, 5, 7],
    [3, 5, 7],
    [3, 5, 7],
  ],
  [[3, 5, 7], [], [3, 5, 7]],
  [[], [4, 3], [4, 3]],
  [[3, 5, 7], [7], [3, 5, 7]],
  [
    [3, 1],
    [3, 4],
    [3, 4],
  ],
  [
    [3, 1],
    [1, 4],
    [3, 4],
  ],
  [
    [2, 3, 1, 5],
    [3, 4, 1],
    [2, 3, 4, 5],
  ],
  [
    [1, 3, 1, 4, 1],
    [2, 1, 5, 1, 7],
    [2, 3, 5, 4, 7],
  ],
  [
    [2, 1, 3, 1, 2, 5],
    [1, 2, 1, 3, 1, 5],
    [2, 2, 3, 3, 2, 5],
  ],
  [[1, 1, 1], [1], [1, 1, 1]],
  [[0, 3], [3], [0, 3]],
];

/** A gpu.js Backend in a mode without a device: its results are host arrays. */
function onHost(b: GpuJsBackend): HostBackend {
  expect(b.context.residentResults).toBe(false);
  return b as unknown as HostBackend;
}

/** Runs the whole comparison suite on `backend`. */
function kernelSuite(getBackend: () => HostBackend): void {
  it('binary ops with broadcasting', () => {
    const b = getBackend();
    BROADCAST_CASES.forEach(([aShape, bShape, outShape], c) => {
      for (const op of BINARY_OPS) {
        // Integer-valued inputs make ties for the comparisons; pow gets a positive base.
        const ints = op === 'greater' || op === 'less' || op === 'equal' || op === 'maximum';
        const x = random(size(aShape), 10 + c, { low: op === 'pow' ? 0.1 : -3, high: 3, ints });
        const y = random(size(bShape), 20 + c, { low: -3, high: 3, ints });
        const what = `${op} ${JSON.stringify([aShape, bShape])}`;
        expectAgree(
          b.binary(op, x, aShape, y, bShape, outShape),
          ref.binary(op, x, aShape, y, bShape, outShape),
          what,
        );
      }
    });
  });

  it('maximum and minimum propagate NaN like the reference', () => {
    const b = getBackend();
    const x = new Float32Array([1, Number.NaN, 3, Number.NaN, -0, 5]);
    const y = new Float32Array([2, 1, Number.NaN, Number.NaN, 0, Number.POSITIVE_INFINITY]);
    for (const op of ['maximum', 'minimum', 'equal', 'greater'] as BinaryOp[]) {
      expectAgree(b.binary(op, x, [6], y, [6], [6]), ref.binary(op, x, [6], y, [6], [6]), op);
    }
  });

  it('unary ops and clamp', () => {
    const b = getBackend();
    const x = random(3 * 7 * 5, 30, { low: -6, high: 6 });
    const positive = random(37, 31, { low: 0.01, high: 9 });
    for (const op of UNARY_OPS) {
      const input = op === 'log' || op === 'sqrt' || op === 'rsqrt' ? positive : x;
      // An absolute floor of 1e-6: float32 evaluation near a root (siluGrad at x ≈ −1.28) is
      // only accurate to a few ulps of the terms, not of the tiny result.
      expectAgree(b.unary(op, input), ref.unary(op, input), op, 0.1);
    }
    const extremes = new Float32Array([-100, -30, 0, 30, 100, Number.NEGATIVE_INFINITY]);
    for (const op of ['sigmoid', 'silu', 'gelu', 'geluGrad', 'tanh', 'relu', 'exp'] as UnaryOp[]) {
      expectAgree(b.unary(op, extremes), ref.unary(op, extremes), `${op} extremes`, 0.1);
    }
    expectAgree(b.clamp(x, -1.5, 2), ref.clamp(x, -1.5, 2), 'clamp');
    expectAgree(
      b.clamp(x, 0, Number.POSITIVE_INFINITY),
      ref.clamp(x, 0, Number.POSITIVE_INFINITY),
      'clamp to ∞',
    );
    expect(b.unary('exp', new Float32Array(0)).length).toBe(0);
  });

  it('matmul: transposes, batch strides, odd and degenerate sizes', () => {
    const b = getBackend();
    const shapes: [number, number, number, number][] = [
      [3, 5, 7, 4],
      [1, 1, 1, 1],
      [2, 1, 6, 3],
      [1, 9, 1, 2],
      [1, 2, 1100, 3],
    ];
    shapes.forEach(([batch, m, k, n], s) => {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const [sharedA, sharedB] of [
            [false, false],
            [true, false],
            [false, true],
          ] as const) {
            const p: MatmulParams = {
              batch,
              m,
              k,
              n,
              transA,
              transB,
              aBatchStride: sharedA ? 0 : m * k,
              bBatchStride: sharedB ? 0 : k * n,
            };
            const a = random((sharedA ? 1 : batch) * m * k, 40 + s);
            const bb = random((sharedB ? 1 : batch) * k * n, 50 + s);
            const what = `matmul ${JSON.stringify(p)}`;
            expectAgree(
              b.matmul(a, bb, p),
              ref.matmul(a, bb, p),
              what,
              ref.matmul(abs(a), abs(bb), p),
            );
          }
        }
      }
    });
    const empty: MatmulParams = {
      batch: 1,
      m: 2,
      k: 0,
      n: 3,
      transA: false,
      transB: false,
      aBatchStride: 0,
      bBatchStride: 0,
    };
    expect(Array.from(b.matmul(new Float32Array(0), new Float32Array(0), empty))).toEqual([
      0, 0, 0, 0, 0, 0,
    ]);
  });

  it('reductions and argmax over the middle axis', () => {
    const b = getBackend();
    // The last case is longer than gpu.js's default loop cap (1000).
    const cases: [number, number, number][] = [
      [3, 5, 7],
      [1, 9, 1],
      [4, 1, 3],
      [6, 11, 1],
      [1, 1500, 2],
    ];
    cases.forEach(([outer, len, inner], c) => {
      const a = random(outer * len * inner, 60 + c, { low: -5, high: 5 });
      const what = `[${outer}, ${len}, ${inner}]`;
      expectAgree(
        b.reduce('sum', a, outer, len, inner),
        ref.reduce('sum', a, outer, len, inner),
        `sum ${what}`,
        ref.reduce('sum', abs(a), outer, len, inner),
      );
      expectAgree(
        b.reduce('max', a, outer, len, inner),
        ref.reduce('max', a, outer, len, inner),
        `max ${what}`,
      );
      expectAgree(
        b.reduce('min', a, outer, len, inner),
        ref.reduce('min', a, outer, len, inner),
        `min ${what}`,
      );
      const ties = random(outer * len * inner, 70 + c, { low: 0, high: 3, ints: true });
      expectAgree(
        b.argmax(ties, outer, len, inner),
        ref.argmax(ties, outer, len, inner),
        `argmax ${what}`,
      );
    });
    const withNaN = new Float32Array([1, Number.NaN, 3, 4, 5, 6]);
    expectAgree(
      b.reduce('max', withNaN, 2, 3, 1),
      ref.reduce('max', withNaN, 2, 3, 1),
      'max with NaN',
    );
    expectAgree(
      b.reduce('min', withNaN, 1, 2, 3),
      ref.reduce('min', withNaN, 1, 2, 3),
      'min with NaN',
    );
  });

  it('softmax and log-softmax, including huge and −∞ logits', () => {
    const b = getBackend();
    for (const [rows, cols] of [
      [5, 7],
      [1, 1],
      [3, 1200],
    ]) {
      const a = random(rows! * cols!, 80 + cols!, { low: -8, high: 8 });
      for (const log of [false, true]) {
        expectAgree(
          b.softmax(a, rows!, cols!, log),
          ref.softmax(a, rows!, cols!, log),
          `softmax ${rows}×${cols} ${log}`,
        );
      }
    }
    const ninf = Number.NEGATIVE_INFINITY;
    const special = new Float32Array([
      1000,
      999,
      -1000,
      ninf,
      0.5,
      ninf,
      3,
      ninf,
      ninf,
      ninf,
      ninf,
      ninf,
    ]);
    for (const log of [false, true]) {
      expectAgree(
        b.softmax(special, 3, 4, log),
        ref.softmax(special, 3, 4, log),
        `softmax special ${log}`,
      );
    }
  });

  it('rmsNorm forward and backward', () => {
    const b = getBackend();
    for (const [rows, cols] of [
      [5, 7],
      [1, 16],
      [9, 1],
    ]) {
      const x = random(rows! * cols!, 90 + rows!);
      const w = random(cols!, 91 + rows!);
      const dy = random(rows! * cols!, 92 + rows!);
      expectAgree(
        b.rmsNorm(x, w, rows!, cols!, 1e-5),
        ref.rmsNorm(x, w, rows!, cols!, 1e-5),
        'rmsNorm',
      );
      const [dx, dw] = b.rmsNormBackward(dy, x, w, rows!, cols!, 1e-5);
      const [rdx, rdw] = ref.rmsNormBackward(dy, x, w, rows!, cols!, 1e-5);
      const [dxScale, dwScale] = rmsNormGradScales(dy, x, w, rows!, cols!, 1e-5);
      expectAgree(dx, rdx, 'rmsNorm dx', dxScale);
      expectAgree(dw, rdw, 'rmsNorm dw', dwScale);
    }
  });

  it('rope with offsets, explicit positions and the inverse rotation', () => {
    const b = getBackend();
    const dim = 8;
    const invFreq = new Float32Array(dim / 2).map((_, i) => 1 / 10000 ** ((2 * i) / dim));
    const x = random(3 * 5 * dim, 100);
    for (const extra of [
      { offset: 0, inverse: false },
      { offset: 17, inverse: false },
      { offset: 17, inverse: true },
      { offset: 0, inverse: false, positions: new Int32Array([4, 0, 9, 2, 300]) },
    ]) {
      const p = { rows: 3, seq: 5, dim, invFreq, ...extra };
      expectAgree(b.rope(x, p), ref.rope(x, p), `rope ${JSON.stringify(extra)}`, 1e-6);
    }
  });

  describe('attention (grouped-query, causal, masked)', () => {
    const ninf = Number.NEGATIVE_INFINITY;
    const cases: {
      name: string;
      p: AttentionParams;
      mask?: (p: AttentionParams) => Float32Array;
    }[] = [
      {
        name: 'GQA, no mask',
        p: { batch: 2, heads: 4, kvHeads: 2, tq: 3, tk: 3, dim: 5, scale: 0.4, causal: false },
      },
      {
        name: 'GQA causal',
        p: { batch: 2, heads: 4, kvHeads: 1, tq: 5, tk: 5, dim: 3, scale: 0.6, causal: true },
      },
      {
        name: 'causal with a KV cache (tk > tq)',
        p: { batch: 1, heads: 2, kvHeads: 2, tq: 2, tk: 6, dim: 4, scale: 0.5, causal: true },
      },
      {
        name: 'broadcast [tq, tk] mask with −∞ entries, causal',
        p: {
          batch: 2,
          heads: 3,
          kvHeads: 3,
          tq: 4,
          tk: 4,
          dim: 2,
          scale: 0.7,
          causal: true,
          maskStrides: [0, 0, 4, 1],
        },
        mask: () => {
          const m = random(16, 110);
          m[5] = ninf;
          m[14] = ninf;
          return m;
        },
      },
      {
        name: 'full [batch, heads, tq, tk] mask with a fully masked row',
        p: {
          batch: 2,
          heads: 2,
          kvHeads: 1,
          tq: 3,
          tk: 4,
          dim: 3,
          scale: 0.5,
          causal: false,
          maskStrides: [24, 12, 4, 1],
        },
        mask: () => {
          const m = random(48, 111);
          m.fill(ninf, 16, 20);
          return m;
        },
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const b = getBackend();
        const { batch, heads, kvHeads, tq, tk, dim } = c.p;
        const q = random(batch * heads * tq * dim, 120);
        const k = random(batch * kvHeads * tk * dim, 121);
        const v = random(batch * kvHeads * tk * dim, 122);
        const mask = c.mask ? c.mask(c.p) : null;
        const [out, probs] = b.attention(q, k, v, mask, c.p);
        const [rOut, rProbs] = ref.attention(q, k, v, mask, c.p);
        expectAgree(probs, rProbs, 'probs', 1e-6);
        expectAgree(out, rOut, 'out', ref.attention(q, k, abs(v), mask, c.p)[0]);
        const dOut = random(out.length, 123);
        const grads = b.attentionBackward(dOut, q, k, v, rProbs, c.p);
        const rGrads = ref.attentionBackward(dOut, q, k, v, rProbs, c.p);
        ['dq', 'dk', 'dv'].forEach((name, i) => {
          expectAgree(grads[i]!, rGrads[i]!, name, maxAbs(rGrads[i]!));
        });
      });
    }
  });

  it('cross-entropy and its gradient with ignored rows', () => {
    const b = getBackend();
    const rows = 6;
    const cols = 11;
    const logits = random(rows * cols, 130, { low: -6, high: 6 });
    const targets = new Int32Array([3, -100, 0, 10, 5, -100]);
    const rowGrad = new Float32Array([0.5, 1, 0, -2, 1, 1]);
    expectAgree(
      b.crossEntropy(logits, targets, rows, cols, -100),
      ref.crossEntropy(logits, targets, rows, cols, -100),
      'crossEntropy',
    );
    expectAgree(
      b.crossEntropyBackward(logits, targets, rows, cols, -100, rowGrad),
      ref.crossEntropyBackward(logits, targets, rows, cols, -100, rowGrad),
      'crossEntropyBackward',
      1e-7,
    );
  });

  it('where with broadcasting and NaN / zero conditions', () => {
    const b = getBackend();
    const cond = new Float32Array([1, 0, Number.NaN, -2]);
    const x = random(3 * 4, 140);
    const y = random(3, 141);
    expectAgree(
      b.where(cond, [1, 4], x, [3, 4], y, [3, 1], [3, 4]),
      ref.where(cond, [1, 4], x, [3, 4], y, [3, 1], [3, 4]),
      'where',
    );
  });

  it('data movement kernels', () => {
    const b = getBackend();
    const x = random(2 * 3 * 4, 150);
    expectAgree(
      b.permute(x, [2, 3, 4], [2, 0, 1]),
      ref.permute(x, [2, 3, 4], [2, 0, 1]),
      'permute',
    );
    expectAgree(
      b.slice(x, [2, 3, 4], [0, 1, 1], [2, 2, 3]),
      ref.slice(x, [2, 3, 4], [0, 1, 1], [2, 2, 3]),
      'slice',
    );
    const padding: [number, number][] = [
      [1, 0],
      [0, 2],
      [1, 1],
    ];
    expectAgree(b.pad(x, [2, 3, 4], padding, 0.5), ref.pad(x, [2, 3, 4], padding, 0.5), 'pad');
    const y = random(2 * 1 * 4, 151);
    expectAgree(b.concat([x, y], 2, [3, 1], 4), ref.concat([x, y], 2, [3, 1], 4), 'concat');
    const idx = new Int32Array([2, 0, 2]);
    expectAgree(b.indexSelect(x, 2, 3, 4, idx), ref.indexSelect(x, 2, 3, 4, idx), 'indexSelect');
    const g = random(2 * 3 * 4, 152);
    expectAgree(b.indexAdd(g, 2, 3, 4, idx), ref.indexAdd(g, 2, 3, 4, idx), 'indexAdd');
  });

  it('permute over ranks 1 to 5, with unit axes and runs that stay together', () => {
    const b = getBackend();
    const cases: [number[], number[]][] = [
      [[7], [0]],
      [
        [5, 3],
        [1, 0],
      ],
      [
        [3, 5, 7],
        [2, 0, 1],
      ],
      [
        [3, 5, 7],
        [1, 2, 0],
      ],
      [
        [3, 1, 7],
        [2, 1, 0],
      ],
      [
        [1, 1],
        [1, 0],
      ],
      // The attention heads transpose: [batch, heads, seq, dim] → [batch, seq, heads, dim].
      [
        [2, 3, 5, 7],
        [0, 2, 1, 3],
      ],
      [
        [2, 3, 5, 7],
        [3, 1, 2, 0],
      ],
      [
        [2, 3, 1, 5, 3],
        [4, 2, 0, 3, 1],
      ],
      [
        [3, 2, 5, 3, 2],
        [4, 2, 0, 3, 1],
      ],
      [
        [3, 2, 5, 3, 2],
        [1, 2, 3, 4, 0],
      ],
    ];
    cases.forEach(([shape, perm], c) => {
      const x = random(size(shape), 200 + c);
      const what = `permute [${shape}] by [${perm}]`;
      expectSame(b.permute(x, shape, perm), ref.permute(x, shape, perm), what);
    });
    // [3, 2, 5, 3, 2] by [4, 2, 0, 3, 1] keeps all five axes apart.
    expectCompiled(b, /^permute:[xyz]{5}$/);
  });

  it('slice with begin offsets over ranks 1 to 5', () => {
    const b = getBackend();
    const cases: [number[], number[], number[]][] = [
      [[7], [2], [4]],
      [
        [5, 7],
        [1, 0],
        [3, 7],
      ],
      [
        [5, 7],
        [0, 2],
        [5, 4],
      ],
      [
        [3, 5, 7],
        [1, 2, 3],
        [2, 3, 3],
      ],
      [
        [3, 5, 7],
        [2, 4, 6],
        [1, 1, 1],
      ],
      [
        [3, 1, 7],
        [1, 0, 0],
        [2, 1, 7],
      ],
      [
        [2, 3, 5, 7],
        [1, 0, 2, 1],
        [1, 3, 3, 5],
      ],
      [
        [2, 3, 4, 5, 3],
        [0, 1, 1, 2, 0],
        [2, 2, 3, 3, 3],
      ],
    ];
    cases.forEach(([shape, begin, sz], c) => {
      const x = random(size(shape), 220 + c);
      const what = `slice [${shape}] at [${begin}] of [${sz}]`;
      expectSame(b.slice(x, shape, begin, sz), ref.slice(x, shape, begin, sz), what);
    });
    expectCompiled(b, /^slice:[xyz]{4}$/);
  });

  it('pad with asymmetric padding and a nonzero value over ranks 1 to 5', () => {
    const b = getBackend();
    const cases: [number[], [number, number][]][] = [
      [[7], [[2, 3]]],
      [
        [5, 7],
        [
          [0, 0],
          [1, 2],
        ],
      ],
      [
        [5, 7],
        [
          [3, 1],
          [0, 0],
        ],
      ],
      [
        [3, 1, 7],
        [
          [1, 0],
          [0, 2],
          [2, 1],
        ],
      ],
      [
        [2, 3, 5, 7],
        [
          [0, 1],
          [0, 0],
          [2, 0],
          [1, 3],
        ],
      ],
      [
        [2, 3, 2, 5, 3],
        [
          [1, 1],
          [0, 2],
          [0, 0],
          [3, 0],
          [0, 1],
        ],
      ],
    ];
    cases.forEach(([shape, padding], c) => {
      const x = random(size(shape), 240 + c);
      const what = `pad [${shape}] by ${JSON.stringify(padding)}`;
      expectSame(b.pad(x, shape, padding, -1.5), ref.pad(x, shape, padding, -1.5), what);
    });
    expectCompiled(b, /^pad:[xyz]{4}$/);
  });

  it('concat of one to seven inputs, some empty', () => {
    const b = getBackend();
    const cases: [number, number[], number][] = [
      [3, [4], 5],
      [3, [4, 1], 5],
      [3, [2, 3, 6], 5],
      [1, [2, 3], 1],
      [2, [3, 0, 2], 1],
      // More inputs than one launch takes: the second launch joins the first's result.
      [3, [1, 2, 0, 3, 1, 2, 4], 5],
    ];
    cases.forEach(([outer, lens, inner], c) => {
      const inputs = lens.map((len, k) => random(outer * len * inner, 260 + 10 * c + k));
      const what = `concat [${outer}, [${lens}], ${inner}]`;
      expectSame(
        b.concat(inputs, outer, lens, inner),
        ref.concat(inputs, outer, lens, inner),
        what,
      );
    });
    for (const pieces of [1, 2, 3, 4]) expectCompiled(b, new RegExp(`^concat:${pieces}$`));
  });

  it('indexSelect and indexAdd with repeated and unused indices', () => {
    const b = getBackend();
    const cases: [number, number, number, number[]][] = [
      [3, 5, 7, [4, 0, 4, 4, 2, 1]],
      // len beyond the largest index: rows 5 to 8 of the gradient stay zero.
      [3, 9, 7, [4, 0, 4, 4, 2, 1]],
      // An embedding lookup: one table, one value per row.
      [1, 9, 1, [8, 8, 0, 3]],
      [2, 4, 3, [3]],
    ];
    cases.forEach(([outer, len, inner, indices], c) => {
      const idx = Int32Array.from(indices);
      const what = `[${outer}, ${len}, ${inner}] at [${indices}]`;
      const x = random(outer * len * inner, 280 + c);
      expectSame(
        b.indexSelect(x, outer, len, inner, idx),
        ref.indexSelect(x, outer, len, inner, idx),
        `indexSelect ${what}`,
      );
      const g = random(outer * idx.length * inner, 290 + c);
      expectAgree(
        b.indexAdd(g, outer, len, inner, idx),
        ref.indexAdd(g, outer, len, inner, idx),
        `indexAdd ${what}`,
        ref.indexAdd(abs(g), outer, len, inner, idx),
      );
    });
    expectCompiled(b, /^indexSelect$/);
    expectCompiled(b, /^indexAdd$/);
  });
}

describe.each(gpuModes)('gpu.js %s kernels match the js backend', (mode) => {
  let backend: GpuJsBackend;
  beforeAll(async () => {
    backend = (await loadBackend(gpuJsBackendName(mode))) as GpuJsBackend;
  });
  kernelSuite(() => onHost(backend));

  afterAll(() => {
    // gpu.js degrades an unsupported kernel to its cpu mode with only a console
    // warning; every kernel must have run in the mode that was asked for.
    const wrong = backend.context.compiledKernels().filter((k) => k.modes.some((m) => m !== mode));
    expect(wrong).toEqual([]);
  });
});

describe.each(gpuModes)('gpu.js %s kernels with pipelined intermediates', (mode) => {
  // GL modes keep row statistics on the device; this runs that code path where the
  // pipelined result is gpu.js's own (nested, reused) array instead.
  const gpuBackend = createGpuJsBackend(mode, {
    pipelineIntermediates: true,
    residentResults: false,
  });
  afterAll(() => gpuBackend.dispose());

  it('softmax, rmsNorm backward, attention, cross-entropy and chained concat', () => {
    const backend = onHost(gpuBackend);
    const a = random(4 * 9, 160);
    expectAgree(backend.softmax(a, 4, 9, false), ref.softmax(a, 4, 9, false), 'softmax');
    const w = random(9, 161);
    const [dx] = backend.rmsNormBackward(a, a, w, 4, 9, 1e-5);
    const [rdx] = ref.rmsNormBackward(a, a, w, 4, 9, 1e-5);
    expectAgree(dx, rdx, 'rmsNorm dx', maxAbs(rdx));
    const p: AttentionParams = {
      batch: 1,
      heads: 2,
      kvHeads: 1,
      tq: 3,
      tk: 3,
      dim: 4,
      scale: 0.5,
      causal: true,
    };
    const q = random(24, 162);
    const k = random(12, 163);
    const [out, probs] = backend.attention(q, k, k, null, p);
    const [rOut, rProbs] = ref.attention(q, k, k, null, p);
    expectAgree(probs, rProbs, 'probs', 1e-6);
    expectAgree(out, rOut, 'out', maxAbs(rOut));
    const [dq] = backend.attentionBackward(out, q, k, k, rProbs, p);
    const [rdq] = ref.attentionBackward(out, q, k, k, rProbs, p);
    expectAgree(dq, rdq, 'dq', maxAbs(rdq));
    const targets = new Int32Array([1, 8, -100, 0]);
    expectAgree(
      backend.crossEntropy(a, targets, 4, 9, -100),
      ref.crossEntropy(a, targets, 4, 9, -100),
      'crossEntropy',
    );
    // Chained concat launches read the previous launch's kept result.
    const lens = [1, 2, 3, 1, 2, 4];
    const inputs = lens.map((len, k) => random(2 * len * 3, 165 + k));
    expectSame(backend.concat(inputs, 2, lens, 3), ref.concat(inputs, 2, lens, 3), 'concat');
  });
});

describe.each(gpuModes)('gpu.js %s kernels index past 2^24 elements exactly', (mode) => {
  // webasm keeps integer-valued locals in float32, where flat indices above 2^24 round;
  // the kernels index by axes instead. These sizes would expose a rounded flat index.
  it('reduce, broadcast add and matmul over 17M-element tensors', async () => {
    const b = onHost((await loadBackend(gpuJsBackendName(mode))) as GpuJsBackend);
    const outer = 4099;
    const len = 4099;
    const a = new Float32Array(outer * len);
    for (let i = 0; i < a.length; i++) a[i] = (i % 7) - 3;
    expect(a.length).toBeGreaterThan(2 ** 24);
    expectAgree(b.reduce('sum', a, outer, len, 1), ref.reduce('sum', a, outer, len, 1), 'row sums');
    const bias = random(len, 170);
    const shape = [outer, len];
    const sum = b.binary('add', a, shape, bias, [len], shape);
    expectAgree(sum, ref.binary('add', a, shape, bias, [len], shape), 'bias add');
    const v = random(len, 171);
    const p: MatmulParams = {
      batch: 1,
      m: outer,
      k: len,
      n: 1,
      transA: false,
      transB: false,
      aBatchStride: 0,
      bBatchStride: 0,
    };
    expectAgree(
      b.matmul(a, v, p),
      ref.matmul(a, v, p),
      'matrix · vector',
      ref.matmul(abs(a), abs(v), p),
    );
  });

  it('permute, slice and pad of a 17M-element matrix', async () => {
    const b = onHost((await loadBackend(gpuJsBackendName(mode))) as GpuJsBackend);
    const shape = [4099, 4099];
    // Neighbours differ, so an index rounded to an even float32 reads a wrong value.
    const a = new Float32Array(shape[0]! * shape[1]!);
    for (let i = 0; i < a.length; i++) a[i] = i % 8191;
    expectSame(b.permute(a, shape, [1, 0]), ref.permute(a, shape, [1, 0]), 'transpose');
    expectSame(
      b.slice(a, shape, [3, 1], [4096, 4097]),
      ref.slice(a, shape, [3, 1], [4096, 4097]),
      'slice',
    );
    const padding: [number, number][] = [
      [1, 2],
      [3, 0],
    ];
    expectSame(b.pad(a, shape, padding, -1), ref.pad(a, shape, padding, -1), 'pad');
  });
});
