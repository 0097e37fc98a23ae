import type {
  AsyncKernels,
  AttentionParams,
  Backend,
  KernelData,
  MatmulParams,
  ReduceOp,
  RopeParams,
  UnaryOp,
} from '@t2/tensor-core';
import { BINARY_OPS, Rng, ropeInvFreq, UNARY_OPS } from '@t2/tensor-core';

/**
 * What a case runs on: a synchronous Backend, or an asynchronous kernel set (gpu.js
 * WebGPU kernels return Promises). Cases await every call, so one suite serves both.
 */
export type KernelsUnderTest = Backend | AsyncKernels;

/** One kernel call, run on the backend under test and on the js reference. */
export interface KernelCase {
  kernel: keyof Backend;
  name: string;
  /** Outputs as the backend returns them (a GL backend's stay on the GPU until read). */
  run(b: KernelsUnderTest): Promise<KernelData[]>;
  /** Looser bounds for transcendental GPU math; default atol 1e-4, rtol 1e-3. */
  atol?: number;
  rtol?: number;
}

/** Ops whose input must be positive (GPU and js disagree on NaN otherwise). */
const POSITIVE_INPUT = new Set<UnaryOp>(['log', 'sqrt', 'rsqrt', 'reciprocal']);

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Seeded inputs, so a failure names a reproducible case. */
class Inputs {
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  normal(n: number, scale = 1): Float32Array {
    return Float32Array.from({ length: n }, () => this.rng.normal() * scale);
  }
  uniform(n: number, lo: number, hi: number): Float32Array {
    return Float32Array.from({ length: n }, () => lo + (hi - lo) * this.rng.uniform());
  }
  /** Small integers, so that equal/greater/less meet ties. */
  ints(n: number, lo: number, hi: number): Float32Array {
    return Float32Array.from({ length: n }, () => lo + this.rng.int(hi - lo + 1));
  }
  indices(n: number, bound: number): Int32Array {
    return Int32Array.from({ length: n }, () => this.rng.int(bound));
  }
}

function matmulParams(p: Partial<MatmulParams> & Pick<MatmulParams, 'm' | 'k' | 'n'>) {
  const full: MatmulParams = {
    batch: 1,
    transA: false,
    transB: false,
    aBatchStride: p.m * p.k,
    bBatchStride: p.k * p.n,
    ...p,
  };
  return full;
}

/**
 * The kernels of tensor-core's Backend interface on random inputs: matmul with every
 * transpose and a broadcast batch, binary broadcast, unary, softmax, reductions,
 * rmsNorm, rope, attention (GQA, causal with a KV cache, masks) and cross-entropy, with
 * their backward kernels, plus the data-movement kernels.
 */
export function kernelCases(seed = 1): KernelCase[] {
  const x = new Inputs(seed);
  const cases: KernelCase[] = [];

  for (const op of BINARY_OPS) {
    const compare = op === 'greater' || op === 'less' || op === 'equal';
    const shapes: [number[], number[], number[]][] = [
      [
        [3, 5],
        [3, 5],
        [3, 5],
      ],
      [
        [2, 3, 4],
        [3, 1],
        [2, 3, 4],
      ],
      [
        [4, 1],
        [1, 6],
        [4, 6],
      ],
      [[7], [1], [7]],
    ];
    for (const [aShape, bShape, outShape] of shapes) {
      const a =
        op === 'pow'
          ? x.uniform(size(aShape), 0.2, 3)
          : compare
            ? x.ints(size(aShape), -2, 2)
            : x.normal(size(aShape));
      const b =
        op === 'pow'
          ? x.uniform(size(bShape), -2, 2.5)
          : op === 'div'
            ? x.uniform(size(bShape), 0.5, 2).map((v, i) => (i % 2 ? -v : v))
            : compare
              ? x.ints(size(bShape), -2, 2)
              : x.normal(size(bShape));
      cases.push({
        kernel: 'binary',
        name: `${op} [${aShape}]∘[${bShape}]`,
        run: async (be) => [await be.binary(op, a, aShape, b, bShape, outShape)],
      });
    }
  }

  for (const op of UNARY_OPS) {
    const a = POSITIVE_INPUT.has(op) ? x.uniform(37, 0.05, 4) : x.normal(37, 2);
    cases.push({ kernel: 'unary', name: op, run: async (be) => [await be.unary(op, a)] });
  }
  {
    // Large |x|: a tanh formed from e^|x| gives NaN past 88.7 (WGSL on SwiftShader).
    const a = x.uniform(16, -150, 150);
    cases.push({
      kernel: 'unary',
      name: 'tanh, |x| up to 150',
      run: async (be) => [await be.unary('tanh', a)],
    });
  }
  {
    const a = x.normal(29, 2);
    cases.push({
      kernel: 'clamp',
      name: 'clamp [-0.5, 1]',
      run: async (be) => [await be.clamp(a, -0.5, 1)],
    });
  }

  for (const [m, k, n] of [
    [5, 7, 3],
    [33, 65, 17],
  ] as const) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = x.normal(m * k);
        const b = x.normal(k * n);
        const p = matmulParams({ m, k, n, transA, transB });
        cases.push({
          kernel: 'matmul',
          name: `${m}×${k}·${k}×${n}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`,
          run: async (be) => [await be.matmul(a, b, p)],
        });
      }
    }
  }
  {
    const [batch, m, k, n] = [3, 4, 6, 5];
    const a = x.normal(batch * m * k);
    const b = x.normal(k * n);
    const p = matmulParams({ batch, m, k, n, transB: true, bBatchStride: 0 });
    cases.push({
      kernel: 'matmul',
      name: `batch ${batch}, B broadcast, Bᵀ`,
      run: async (be) => [await be.matmul(a, b, p)],
    });
  }

  for (const op of ['sum', 'max', 'min'] as ReduceOp[]) {
    for (const [outer, len, inner] of [
      [3, 7, 4],
      [5, 33, 1],
    ] as const) {
      const a = x.normal(outer * len * inner);
      cases.push({
        kernel: 'reduce',
        name: `${op} [${outer},${len},${inner}]`,
        run: async (be) => [await be.reduce(op, a, outer, len, inner)],
      });
    }
  }
  {
    const a = x.normal(3 * 9 * 2);
    cases.push({
      kernel: 'argmax',
      name: 'argmax [3,9,2]',
      run: async (be) => [await be.argmax(a, 3, 9, 2)],
    });
  }
  for (const log of [false, true]) {
    const rows = 4;
    const cols = 9;
    // One row far from zero: the kernel must subtract the row max.
    const a = x.normal(rows * cols, 2).map((v, i) => (i < cols ? v + 60 : v));
    cases.push({
      kernel: 'softmax',
      name: `${log ? 'logSoftmax' : 'softmax'} 4×9`,
      run: async (be) => [await be.softmax(a, rows, cols, log)],
    });
  }

  {
    const a = x.normal(24);
    cases.push({
      kernel: 'permute',
      name: '[2,3,4] → (2,0,1)',
      run: async (be) => [await be.permute(a, [2, 3, 4], [2, 0, 1])],
    });
    cases.push({
      kernel: 'slice',
      name: '[2,3,4] [0,1,1]+[2,2,2]',
      run: async (be) => [await be.slice(a, [2, 3, 4], [0, 1, 1], [2, 2, 2])],
    });
    cases.push({
      kernel: 'pad',
      name: '[2,3,4] pad',
      run: async (be) => [
        await be.pad(
          a,
          [2, 3, 4],
          [
            [0, 1],
            [1, 0],
            [2, 1],
          ],
          -1,
        ),
      ],
    });
    const b = x.normal(2 * 2 * 4);
    cases.push({
      kernel: 'concat',
      name: 'axis 1 of [2,3,4] and [2,2,4]',
      run: async (be) => [await be.concat([a, b], 2, [3, 2], 4)],
    });
    cases.push({
      kernel: 'concat',
      name: 'axis 1 of six inputs (two chained launches)',
      run: async (be) => [await be.concat([a, b, a, b, a, b], 2, [3, 2, 3, 2, 3, 2], 4)],
    });
    const idx = Int32Array.from([2, 0, 2, 1]);
    cases.push({
      kernel: 'indexSelect',
      name: 'rows 2,0,2,1',
      run: async (be) => [await be.indexSelect(a, 2, 3, 4, idx)],
    });
    const g = x.normal(2 * 4 * 4);
    cases.push({
      kernel: 'indexAdd',
      name: 'repeated index',
      run: async (be) => [await be.indexAdd(g, 2, 3, 4, idx)],
    });
    const cond = x.ints(3 * 4, 0, 1);
    const c = x.normal(4);
    cases.push({
      kernel: 'where',
      name: 'broadcast [3,4] ? [2,3,4] : [4]',
      run: async (be) => [await be.where(cond, [3, 4], a, [2, 3, 4], c, [4], [2, 3, 4])],
    });
  }

  {
    const [rows, cols] = [5, 16];
    const xs = x.normal(rows * cols, 3);
    const w = x.normal(cols);
    const dy = x.normal(rows * cols);
    cases.push({
      kernel: 'rmsNorm',
      name: `${rows}×${cols}`,
      run: async (be) => [await be.rmsNorm(xs, w, rows, cols, 1e-5)],
    });
    cases.push({
      kernel: 'rmsNormBackward',
      name: `${rows}×${cols}`,
      run: async (be) => be.rmsNormBackward(dy, xs, w, rows, cols, 1e-5),
    });
  }

  {
    const base: RopeParams = {
      rows: 2,
      seq: 5,
      dim: 8,
      offset: 3,
      invFreq: ropeInvFreq(8, 10_000),
      inverse: false,
    };
    const a = x.normal(2 * 5 * 8);
    const variants: [string, RopeParams][] = [
      ['offset 3', base],
      ['positions', { ...base, positions: Int32Array.from([0, 4, 1, 9, 2]) }],
      ['inverse', { ...base, inverse: true }],
    ];
    for (const [name, p] of variants) {
      cases.push({ kernel: 'rope', name, run: async (be) => [await be.rope(a, p)] });
    }
  }

  {
    const dim = 8;
    const causal: AttentionParams = {
      batch: 2,
      heads: 4,
      kvHeads: 2,
      tq: 3,
      tk: 5,
      dim,
      scale: 1 / Math.sqrt(dim),
      causal: true,
    };
    const masked: AttentionParams = {
      ...causal,
      batch: 1,
      tq: 4,
      tk: 4,
      causal: false,
      maskStrides: [0, 0, 4, 1],
    };
    for (const [name, p, mask] of [
      ['GQA causal, KV cache (tq 3 < tk 5)', causal, null],
      ['additive mask', masked, x.normal(16).map((v) => (v < -0.7 ? -1e9 : v))],
    ] as const) {
      const q = x.normal(p.batch * p.heads * p.tq * dim);
      const k = x.normal(p.batch * p.kvHeads * p.tk * dim);
      const v = x.normal(p.batch * p.kvHeads * p.tk * dim);
      const dOut = x.normal(p.batch * p.heads * p.tq * dim);
      cases.push({
        kernel: 'attention',
        name,
        // The second output is backend-private state for the gradient (probabilities, or the
        // row log-sum-exp in the wasm backend); attentionBackward below checks it in use.
        run: async (be) => [(await be.attention(q, k, v, mask, p))[0]],
      });
      cases.push({
        kernel: 'attentionBackward',
        name,
        // Probabilities from the backend itself: what the gradient sees in training.
        run: async (be) => {
          const [, probs] = await be.attention(q, k, v, mask, p);
          // The state goes back to the kernels that made it; only a Backend's may be
          // device data, which its own attentionBackward reads.
          return be.attentionBackward(dOut, q, k, v, probs as Float32Array, p);
        },
      });
    }
  }

  {
    const [rows, cols] = [6, 11];
    const logits = x.normal(rows * cols, 3);
    const targets = Int32Array.from([3, 0, -100, 10, 5, 5]);
    const rowGrad = x.uniform(rows, 0.1, 1);
    cases.push({
      kernel: 'crossEntropy',
      name: `${rows}×${cols}, one ignored row`,
      run: async (be) => [await be.crossEntropy(logits, targets, rows, cols, -100)],
    });
    cases.push({
      kernel: 'crossEntropyBackward',
      name: `${rows}×${cols}, one ignored row`,
      run: async (be) => [
        await be.crossEntropyBackward(logits, targets, rows, cols, -100, rowGrad),
      ],
    });
  }
  return cases;
}
