import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileKernels, generatedPath, renderGeneratedModule } from '../scripts/build-wasm';
import type { AttentionParams, HostBackend, MatmulParams, UnaryOp } from '../src/index';
import {
  createJsBackend,
  createWasmBackend,
  disposeWasmBackend,
  matmul,
  Rng,
  randn,
  setBackend,
  type WasmBackend,
} from '../src/index';

const js = createJsBackend();

function random(n: number, rng: Rng, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

/** max |actual − expected| ≤ atol + rtol·|expected| elementwise, NaN matching NaN. */
function expectNear(
  actual: Float32Array,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
  what: string,
): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) throw new Error(`${what} [${i}]: ${a} vs ${e}`);
      continue;
    }
    if (e === a) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`${what} [${i}]: wasm ${a}, expected ${e}`);
    }
  }
}

/** Bit-for-bit equality (NaN = NaN, but +0 ≠ −0). */
function expectSame(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (
      !Object.is(actual[i], expected[i]) &&
      !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))
    ) {
      throw new Error(`${what} [${i}]: wasm ${actual[i]}, js ${expected[i]}`);
    }
  }
}

/** Largest |x| of an array, at least 1: products are compared relative to their scale. */
function scaleOf(x: ArrayLike<number>): number {
  let m = 1;
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i]!) > m) m = Math.abs(x[i]!);
  return m;
}

/**
 * Attention in double precision, straight from the definition (an independent
 * reference: rows that see no key give zeros). Returns out, probs and the gradients.
 */
function referenceAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  mask: Float32Array | null,
  dOut: Float32Array,
  p: AttentionParams,
) {
  const { batch, heads, kvHeads, tq, tk, dim, scale, causal, maskStrides } = p;
  const out = new Float64Array(batch * heads * tq * dim);
  const probs = new Float64Array(batch * heads * tq * tk);
  const lse = new Float64Array(batch * heads * tq);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const kvBase = (b * kvHeads + Math.floor(h / (heads / kvHeads))) * tk * dim;
      for (let i = 0; i < tq; i++) {
        const r = (b * heads + h) * tq + i;
        const limit = causal ? Math.max(0, Math.min(tk, i + tk - tq + 1)) : tk;
        const s = new Float64Array(tk).fill(Number.NEGATIVE_INFINITY);
        for (let j = 0; j < limit; j++) {
          let dot = 0;
          for (let e = 0; e < dim; e++) dot += q[r * dim + e]! * k[kvBase + j * dim + e]!;
          s[j] = dot * scale;
          if (mask && maskStrides) {
            s[j]! +=
              mask[
                b * maskStrides[0] + h * maskStrides[1] + i * maskStrides[2] + j * maskStrides[3]
              ]!;
          }
        }
        const m = Math.max(...s);
        let sum = 0;
        for (let j = 0; j < tk; j++)
          sum += m === Number.NEGATIVE_INFINITY ? 0 : Math.exp(s[j]! - m);
        lse[r] = sum > 0 ? m + Math.log(sum) : Number.NEGATIVE_INFINITY;
        for (let j = 0; j < tk; j++) {
          const pj = sum > 0 ? Math.exp(s[j]! - m) / sum : 0;
          probs[r * tk + j] = pj;
          for (let e = 0; e < dim; e++) out[r * dim + e]! += pj * v[kvBase + j * dim + e]!;
        }
        // dP = dO·vᵀ, dS = P ⊙ (dP − Σ P ⊙ dP)·scale.
        const dp = new Float64Array(tk);
        let rowDot = 0;
        for (let j = 0; j < tk; j++) {
          for (let e = 0; e < dim; e++) dp[j]! += dOut[r * dim + e]! * v[kvBase + j * dim + e]!;
          rowDot += probs[r * tk + j]! * dp[j]!;
        }
        for (let j = 0; j < tk; j++) {
          const pj = probs[r * tk + j]!;
          const ds = pj * (dp[j]! - rowDot) * scale;
          for (let e = 0; e < dim; e++) {
            dq[r * dim + e]! += ds * k[kvBase + j * dim + e]!;
            dk[kvBase + j * dim + e]! += ds * q[r * dim + e]!;
            dv[kvBase + j * dim + e]! += pj * dOut[r * dim + e]!;
          }
        }
      }
    }
  }
  return { out, probs, lse, dq, dk, dv };
}

describe('wasm kernels build', () => {
  it('the committed generated module matches a fresh build of assembly/*.ts', async () => {
    const fresh = renderGeneratedModule(await compileKernels());
    expect(readFileSync(generatedPath, 'utf8') === fresh, 'run `npm run build:wasm`').toBe(true);
  });
});

// Threads: 1 runs everything on the calling thread; 2 splits the large cases over a worker.
describe.each([1, 2])('wasm backend with %i thread(s) matches the js backend', (threads) => {
  let w: WasmBackend;
  beforeAll(async () => {
    w = await createWasmBackend({ threads });
  });
  afterAll(() => w.dispose());

  it('reports its thread count, and workers take part in large kernels', async () => {
    expect(w.name).toBe('wasm');
    expect(w.threads).toBe(threads);
    const rng = new Rng(14);
    const p: MatmulParams = {
      batch: 1,
      m: 256,
      k: 128,
      n: 256,
      transA: false,
      transB: false,
      aBatchStride: 0,
      bBatchStride: 0,
    };
    const a = random(256 * 128, rng);
    const b = random(128 * 256, rng);
    const before = w.workerChunks();
    // On a busy machine a worker may be scheduled late; the caller then runs its chunks.
    const deadline = performance.now() + 5000;
    do {
      w.matmul(a, b, p);
      await new Promise((r) => setTimeout(r, 1));
    } while (threads > 1 && w.workerChunks() === before && performance.now() < deadline);
    expect(w.workerChunks() > before).toBe(threads > 1);
  });

  it('matmul: transposes, odd sizes, batch strides (0 broadcasts), degenerate sizes', () => {
    const rng = new Rng(1);
    const cases: [number, number, number, number, boolean, boolean, boolean, boolean][] = [
      // batch, m, k, n, transA, transB, a batched, b batched
      [1, 1, 1, 1, false, false, false, false],
      // m = 1 (decoding) takes a matrix-vector path.
      [1, 1, 70, 33, false, true, false, false],
      [3, 1, 64, 130, false, false, true, false],
      [1, 1, 50, 9, true, false, false, false],
      [2, 1, 3, 5, true, true, true, true],
      [1, 5, 7, 9, false, false, false, false],
      [1, 3, 64, 500, false, true, false, false],
      [1, 300, 64, 172, false, true, false, false],
      [1, 172, 300, 64, true, false, false, false],
      [1, 67, 259, 131, true, true, false, false],
      [1, 130, 1030, 9, false, false, false, false],
      [3, 33, 17, 70, false, false, true, false],
      [5, 20, 8, 40, true, false, false, true],
      [6, 64, 40, 64, false, true, true, true],
      [2, 0, 5, 3, false, false, true, true],
      [2, 4, 0, 3, false, false, true, true],
    ];
    for (const [batch, m, k, n, transA, transB, aB, bB] of cases) {
      const a = random((aB ? batch : 1) * m * k, rng);
      const b = random((bB ? batch : 1) * k * n, rng);
      const p: MatmulParams = {
        batch,
        m,
        k,
        n,
        transA,
        transB,
        aBatchStride: aB ? m * k : 0,
        bBatchStride: bB ? k * n : 0,
      };
      const expected = js.matmul(a, b, p);
      expectNear(
        w.matmul(a, b, p),
        expected,
        1e-5 * Math.sqrt(k + 1),
        1e-5,
        `matmul ${JSON.stringify(p)}`,
      );
    }
  });

  it('binary ops: same shape, scalar, trailing broadcast either side, bit-exact with js', () => {
    const rng = new Rng(2);
    const special = [0, -0, 1, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    const withSpecials = (n: number) => {
      const x = random(n, rng);
      for (let i = 0; i < n; i += 5) x[i] = special[(i / 5) % special.length]!;
      // Ties, so that maximum/minimum/equal see equal operands.
      for (let i = 3; i < n; i += 11) x[i] = 0.5;
      return x;
    };
    const shapes: [number[], number[]][] = [
      [
        [7, 61],
        [7, 61],
      ],
      [[7, 61], [1]],
      [[1], [9, 50]],
      [[4, 6, 33], [33]],
      [
        [1, 33],
        [4, 6, 33],
      ],
      [
        [5, 64],
        [1, 64],
      ],
      [
        [3, 5, 20],
        [5, 20],
      ],
    ];
    const ops = [
      'add',
      'sub',
      'mul',
      'div',
      'maximum',
      'minimum',
      'greater',
      'less',
      'equal',
    ] as const;
    for (const [as, bs] of shapes) {
      const a = withSpecials(as.reduce((x, y) => x * y, 1));
      const b = withSpecials(bs.reduce((x, y) => x * y, 1));
      const out =
        as.length >= bs.length
          ? as.map((d, i) => Math.max(d, bs[i - (as.length - bs.length)] ?? 1))
          : bs.map((d, i) => Math.max(d, as[i - (bs.length - as.length)] ?? 1));
      for (const op of ops) {
        expectSame(
          w.binary(op, a, as, b, bs, out),
          js.binary(op, a, as, b, bs, out),
          `${op} ${as}·${bs}`,
        );
      }
    }
  });

  it('exact unary ops agree with js bit for bit, special values included', () => {
    const rng = new Rng(3);
    const x = random(1001, rng, 3);
    x.set([0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-40, -1e-40]);
    for (const op of [
      'neg',
      'abs',
      'sqrt',
      'square',
      'relu',
      'step',
      'sign',
      'reciprocal',
    ] as const) {
      expectSame(w.unary(op, x), js.unary(op, x), op);
    }
    expectNear(w.unary('rsqrt', x), js.unary('rsqrt', x), 0, 2.5e-7, 'rsqrt');
  });

  it('approximated unary ops are within ~1e-6 relative of double precision', () => {
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const c = Math.sqrt(2 / Math.PI);
    const u = (x: number) => c * (x + 0.044715 * x ** 3);
    // Stable double-precision references (the js backend's gelu cancels where tanh ≈ −1).
    const refs: [UnaryOp, (x: number) => number, number, number][] = [
      ['exp', Math.exp, -87, 88.5],
      ['log', Math.log, 1e-30, 1e30],
      ['sigmoid', sig, -40, 40],
      ['silu', (x) => x * sig(x), -40, 40],
      ['tanh', Math.tanh, -12, 12],
      ['gelu', (x) => x * sig(2 * u(x)), -12, 12],
      ['siluGrad', (x) => sig(x) * (1 + x * sig(-x)), -40, 40],
      [
        'geluGrad',
        (x) =>
          sig(2 * u(x)) + 2 * x * sig(2 * u(x)) * sig(-2 * u(x)) * c * (1 + 3 * 0.044715 * x * x),
        -12,
        12,
      ],
    ];
    for (const [op, f, lo, hi] of refs) {
      const n = 20011;
      const x = new Float32Array(n);
      // log is sampled geometrically, the others uniformly.
      for (let i = 0; i < n; i++) {
        const t = i / (n - 1);
        x[i] = op === 'log' ? lo * (hi / lo) ** t : lo + (hi - lo) * t;
      }
      const expected = Array.from(x, f);
      // 1e-6 absolute only matters at the zeros of siluGrad/geluGrad and tiny results.
      expectNear(w.unary(op, x), expected, 1e-6, 1e-6, op);
    }
    const edge = new Float32Array(300);
    edge.set([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 89, -104, 0, -0]);
    const e = w.unary('exp', edge);
    expect([e[0], e[1], e[2], e[3], e[4], e[5], e[6]]).toEqual([
      Number.NaN,
      Infinity,
      0,
      Infinity,
      0,
      1,
      1,
    ]);
    const l = w.unary(
      'log',
      new Float32Array([0, -1, Infinity, Number.NaN, 1e-45, 1, ...new Array(300).fill(2)]),
    );
    expect(Array.from(l.slice(0, 6))).toEqual([
      -Infinity,
      Number.NaN,
      Infinity,
      Number.NaN,
      Math.fround(Math.log(Math.fround(1e-45))),
      0,
    ]);
    const t = w.unary(
      'tanh',
      new Float32Array([Infinity, -Infinity, 30, -30, ...new Array(300).fill(0)]),
    );
    expect(Array.from(t.slice(0, 4))).toEqual([1, -1, 1, -1]);
  });

  it('softmax and log-softmax rows, including −∞ and huge logits', () => {
    const rng = new Rng(4);
    for (const [rows, cols] of [
      [3, 1],
      [5, 3],
      [7, 17],
      [4, 512],
      [2, 1000],
    ] as const) {
      const a = random(rows * cols, rng, 5);
      a[0] = Number.NEGATIVE_INFINITY;
      if (cols > 2) a[cols + 1] = 1e30;
      for (const log of [false, true]) {
        expectNear(
          w.softmax(a, rows, cols, log),
          js.softmax(a, rows, cols, log),
          1e-6,
          1e-5,
          `softmax ${rows}×${cols} log=${log}`,
        );
      }
    }
    const masked = new Float32Array(8).fill(Number.NEGATIVE_INFINITY);
    expectSame(w.softmax(masked, 2, 4, false), js.softmax(masked, 2, 4, false), 'all −∞');
  });

  it('rmsNorm forward and backward', () => {
    const rng = new Rng(5);
    for (const [rows, cols] of [
      [1, 1],
      [3, 7],
      [64, 64],
      [5, 301],
    ] as const) {
      const x = random(rows * cols, rng, 2);
      const wt = random(cols, rng);
      const dy = random(rows * cols, rng);
      expectNear(
        w.rmsNorm(x, wt, rows, cols, 1e-5),
        js.rmsNorm(x, wt, rows, cols, 1e-5),
        1e-6,
        1e-5,
        'rmsNorm',
      );
      const [dx, dw] = w.rmsNormBackward(dy, x, wt, rows, cols, 1e-5);
      const [rdx, rdw] = js.rmsNormBackward(dy, x, wt, rows, cols, 1e-5);
      expectNear(dx, rdx, 1e-5, 1e-4, 'rmsNorm dx');
      expectNear(dw, rdw, 1e-5 * Math.sqrt(rows), 1e-4, 'rmsNorm dw');
    }
  });

  it('cross-entropy and its gradient, with ignored rows and zero row gradients', () => {
    const rng = new Rng(6);
    for (const [rows, cols] of [
      [4, 3],
      [9, 512],
      [3, 1001],
    ] as const) {
      const logits = random(rows * cols, rng, 3);
      const targets = Int32Array.from({ length: rows }, (_, i) => (i === 1 ? -100 : rng.int(cols)));
      const rowGrad = Float32Array.from({ length: rows }, (_, i) => (i === 2 ? 0 : 1 / rows));
      expectNear(
        w.crossEntropy(logits, targets, rows, cols, -100),
        js.crossEntropy(logits, targets, rows, cols, -100),
        1e-5,
        1e-5,
        'crossEntropy',
      );
      expectNear(
        w.crossEntropyBackward(logits, targets, rows, cols, -100, rowGrad),
        js.crossEntropyBackward(logits, targets, rows, cols, -100, rowGrad),
        1e-7,
        1e-5,
        'crossEntropy grad',
      );
    }
  });

  it('permute: head split/merge, full reversal, strided last axis (bit-exact)', () => {
    const rng = new Rng(11);
    const cases: [number[], number[]][] = [
      [
        [8, 256, 8, 8],
        [0, 2, 1, 3],
      ],
      [
        [2, 3, 5, 7],
        [3, 2, 1, 0],
      ],
      [
        [33, 65],
        [1, 0],
      ],
      [
        [4, 5, 6, 7, 3],
        [0, 1, 2, 4, 3],
      ],
      [[1000], [0]],
    ];
    for (const [shape, perm] of cases) {
      const a = random(
        shape.reduce((x, y) => x * y, 1),
        rng,
      );
      expectSame(
        w.permute(a, shape, perm),
        js.permute(a, shape, perm),
        `permute ${shape} by ${perm}`,
      );
    }
  });

  it('rope with offsets, explicit positions, the inverse rotation, odd half dims', () => {
    const rng = new Rng(12);
    for (const [rows, seq, dim] of [
      [64, 256, 8],
      [3, 17, 6],
      [2, 40, 64],
    ] as const) {
      const x = random(rows * seq * dim, rng);
      const invFreq = Float32Array.from(
        { length: dim / 2 },
        (_, i) => 1 / 10000 ** ((2 * i) / dim),
      );
      const variants = [
        { offset: 0, inverse: false },
        { offset: 5, inverse: true },
        {
          offset: 0,
          inverse: false,
          positions: Int32Array.from({ length: seq }, (_, t) => 3 * t + 1),
        },
      ];
      for (const v of variants) {
        const p = { rows, seq, dim, invFreq, ...v };
        expectNear(
          w.rope(x, p),
          js.rope(x, p),
          1e-6,
          1e-6,
          `rope ${rows}×${seq}×${dim} ${JSON.stringify(v)}`,
        );
      }
    }
  });

  it('reductions over the middle axis (sum, max, min with NaN and ±0 as js)', () => {
    const rng = new Rng(13);
    for (const [outer, len, inner] of [
      [1, 8, 4096],
      [3, 5, 7],
      [64, 300, 1],
      [2, 3, 1],
      [5, 17, 33],
    ] as const) {
      const a = random(outer * len * inner, rng);
      expectNear(
        w.reduce('sum', a, outer, len, inner),
        js.reduce('sum', a, outer, len, inner),
        1e-5,
        1e-5,
        `sum ${outer}×${len}×${inner}`,
      );
      // Zeros of both signs and NaN, where max/min must follow js's comparisons exactly.
      for (let i = 0; i < a.length; i += 7) a[i] = i % 2 ? 0 : -0;
      if (a.length > 600) a[600] = Number.NaN;
      for (const op of ['max', 'min'] as const) {
        expectSame(
          w.reduce(op, a, outer, len, inner),
          js.reduce(op, a, outer, len, inner),
          `${op} ${outer}×${len}×${inner}`,
        );
      }
    }
  });

  describe('attention', () => {
    const cases: (Omit<AttentionParams, 'scale' | 'maskStrides'> & {
      name: string;
      mask?: number[];
    })[] = [
      {
        name: 'causal GQA, seq 70 (not a multiple of the block)',
        batch: 2,
        heads: 4,
        kvHeads: 2,
        tq: 70,
        tk: 70,
        dim: 16,
        causal: true,
      },
      {
        name: 'stories260K head shape',
        batch: 2,
        heads: 8,
        kvHeads: 4,
        tq: 64,
        tk: 64,
        dim: 8,
        causal: true,
      },
      {
        name: 'non-causal, odd head dim',
        batch: 1,
        heads: 3,
        kvHeads: 3,
        tq: 9,
        tk: 13,
        dim: 5,
        causal: false,
      },
      {
        name: 'KV cache: 3 new queries over 40 keys',
        batch: 1,
        heads: 4,
        kvHeads: 1,
        tq: 3,
        tk: 40,
        dim: 12,
        causal: true,
      },
      {
        name: 'more queries than keys, causal (leading rows see nothing)',
        batch: 1,
        heads: 2,
        kvHeads: 2,
        tq: 9,
        tk: 5,
        dim: 4,
        causal: true,
      },
      {
        name: 'additive mask broadcast over heads',
        batch: 2,
        heads: 2,
        kvHeads: 1,
        tq: 6,
        tk: 6,
        dim: 8,
        causal: false,
        mask: [2, 1, 6, 6],
      },
      {
        name: 'mask with a fully blocked row, plus causal',
        batch: 1,
        heads: 2,
        kvHeads: 2,
        tq: 5,
        tk: 5,
        dim: 8,
        causal: true,
        mask: [5, 5],
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const rng = new Rng(7);
        const p: AttentionParams = { ...c, scale: 1 / Math.sqrt(c.dim) };
        const q = random(c.batch * c.heads * c.tq * c.dim, rng);
        const k = random(c.batch * c.kvHeads * c.tk * c.dim, rng);
        const v = random(c.batch * c.kvHeads * c.tk * c.dim, rng);
        let mask: Float32Array | null = null;
        if (c.mask) {
          mask = random(
            c.mask.reduce((x, y) => x * y, 1),
            rng,
          );
          for (let i = 0; i < mask.length; i += 4) mask[i] = Number.NEGATIVE_INFINITY;
          if (c.mask.length === 2) mask.fill(Number.NEGATIVE_INFINITY, 0, c.tk);
          const padded = [...new Array(4 - c.mask.length).fill(1), ...c.mask];
          const strides = [0, 0, 0, 0];
          let s = 1;
          for (let i = 3; i >= 0; i--) {
            strides[i] = padded[i] === 1 ? 0 : s;
            s *= padded[i]!;
          }
          p.maskStrides = strides as [number, number, number, number];
        }
        const dOut = random(c.batch * c.heads * c.tq * c.dim, rng);
        const ref = referenceAttention(q, k, v, mask, dOut, p);
        const [out, saved] = w.attention(q, k, v, mask, p);
        expectNear(out, ref.out, 1e-5, 1e-5, 'attention out');
        const rows = c.batch * c.heads * c.tq;
        if (mask) {
          // With a mask the probabilities themselves are kept, as on the js backend.
          expectNear(saved, ref.probs, 1e-6, 1e-5, 'attention probs');
        } else {
          // Otherwise only each row's log-sum-exp of the scaled scores (−∞: no visible key).
          expectNear(saved, ref.lse, 1e-5, 1e-5, 'attention row log-sum-exp');
        }
        // From the probabilities (the js backend's saved state) and from this backend's own.
        const probs = Float32Array.from(ref.probs);
        for (const [from, state] of [
          ['probs', probs],
          ['own saved state', saved],
        ] as const) {
          const grads = w.attentionBackward(dOut, q, k, v, state, p);
          for (const [i, name] of (['dq', 'dk', 'dv'] as const).entries()) {
            expectNear(
              grads[i]!,
              ref[name],
              1e-5 * scaleOf(ref[name]),
              1e-4,
              `attention ${name} from ${from}`,
            );
          }
        }
        expect(() => w.attentionBackward(dOut, q, k, v, new Float32Array(rows + 1), p)).toThrow(
          /saved state has/,
        );
      });
    }
  });
});

describe('the wasm backend under the ops', () => {
  afterAll(async () => {
    await setBackend('js');
  });

  it('is registered as "wasm" and runs ops (and their gradients) like js', async () => {
    const rng = new Rng(8);
    const a = randn([40, 50], { rng }).requireGrad();
    const b = randn([50, 60], { rng }).requireGrad();
    const run = async (backend: string) => {
      await setBackend(backend);
      a.grad = null;
      b.grad = null;
      const out = matmul(a, b, { transB: false });
      out.backward(randn(out.shape, { rng: new Rng(9) }));
      return [
        Float32Array.from(out.data),
        Float32Array.from(a.grad!.data),
        Float32Array.from(b.grad!.data),
      ];
    };
    const ref = await run('js');
    const got = await run('wasm');
    for (let i = 0; i < 3; i++) expectNear(got[i]!, ref[i]!, 1e-4, 1e-5, `matmul result ${i}`);
  });

  it('disposeWasmBackend stops the workers and leaves the backend usable on one thread', async () => {
    const w: HostBackend & { threads: number } = await createWasmBackend({ threads: 2 });
    expect(w.threads).toBe(2);
    disposeWasmBackend();
    expect(w.threads).toBe(1);
    const rng = new Rng(10);
    const p: MatmulParams = {
      batch: 1,
      m: 200,
      k: 100,
      n: 200,
      transA: false,
      transB: false,
      aBatchStride: 0,
      bBatchStride: 0,
    };
    const a = random(200 * 100, rng);
    const b = random(100 * 200, rng);
    expectNear(w.matmul(a, b, p), js.matmul(a, b, p), 1e-4, 1e-5, 'matmul after dispose');
  });

  it('rejects a bad thread count with a clear error', async () => {
    await expect(createWasmBackend({ threads: 0 })).rejects.toThrow(
      /threads must be a positive integer/,
    );
  });
});
