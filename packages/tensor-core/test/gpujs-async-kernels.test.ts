import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AttentionParams,
  createGpuJsAsyncKernels,
  createGpuJsBackend,
  createJsBackend,
  type GpuJsAsyncKernels,
  type GpuJsBackend,
  type HostBackend,
  type MatmulParams,
  Rng,
  setBackend,
} from '../src/index';
import { testGpuJsModes } from './backends';

/**
 * The async kernel set (the way gpu.js WebGPU runs; the browser test in apps/demo runs it
 * there) launches the same kernel plans as the synchronous Backend, so in the modes Node
 * has it must give the Backend's results bit for bit, and the js backend's to float32
 * rounding.
 */

const ref = createJsBackend();
const gpuModes = testGpuJsModes();

function random(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

const causal: AttentionParams = {
  batch: 2,
  heads: 4,
  kvHeads: 2,
  tq: 3,
  tk: 5,
  dim: 8,
  scale: 1 / Math.sqrt(8),
  causal: true,
};
const q = random(2 * 4 * 3 * 8, 1);
const k = random(2 * 2 * 5 * 8, 2);
const v = random(2 * 2 * 5 * 8, 3);
const dOut = random(2 * 4 * 3 * 8, 4);
const logits = random(6 * 11, 5);
const targets = Int32Array.from([3, 0, -100, 10, 5, 5]);
const rowGrad = random(6, 6).map(Math.abs);
const w = random(11, 7);
const mm: MatmulParams = {
  batch: 3,
  m: 4,
  k: 6,
  n: 5,
  transA: false,
  transB: true,
  aBatchStride: 24,
  bBatchStride: 0,
};
const a = random(3 * 4 * 6, 8);
const b = random(5 * 6, 9);

type Kernels = HostBackend | GpuJsAsyncKernels;

/** A gpu.js Backend in a mode without a device: its results are host arrays. */
function onHost(b: GpuJsBackend): HostBackend {
  expect(b.context.residentResults).toBe(false);
  return b as unknown as HostBackend;
}

/** One call of every arithmetic kernel family, each output flattened into the list. */
async function calls(be: Kernels): Promise<[string, Float32Array][]> {
  const [out, probs] = await be.attention(q, k, v, null, causal);
  const [dq, dk, dv] = await be.attentionBackward(dOut, q, k, v, probs, causal);
  const [dx, dw] = await be.rmsNormBackward(logits, logits, w, 6, 11, 1e-5);
  return [
    ['binary', await be.binary('mul', logits, [6, 11], w, [11], [6, 11])],
    ['unary', await be.unary('silu', logits)],
    ['clamp', await be.clamp(logits, -0.5, 1)],
    ['matmul', await be.matmul(a, b, mm)],
    ['reduce', await be.reduce('sum', logits, 2, 3, 11)],
    ['argmax', await be.argmax(logits, 6, 11, 1)],
    ['softmax', await be.softmax(logits, 6, 11, false)],
    ['logSoftmax', await be.softmax(logits, 6, 11, true)],
    ['where', await be.where(w, [11], logits, [6, 11], w, [11], [6, 11])],
    ['rmsNorm', await be.rmsNorm(logits, w, 6, 11, 1e-5)],
    ['rmsNorm dx', dx],
    ['rmsNorm dw', dw],
    [
      'rope',
      await be.rope(q, {
        rows: 8,
        seq: 3,
        dim: 8,
        offset: 2,
        invFreq: Float32Array.from([1, 0.1, 0.01, 0.001]),
        inverse: false,
      }),
    ],
    ['attention', out],
    ['attention probs', probs],
    ['attention dq', dq],
    ['attention dk', dk],
    ['attention dv', dv],
    ['crossEntropy', await be.crossEntropy(logits, targets, 6, 11, -100)],
    ['crossEntropyBackward', await be.crossEntropyBackward(logits, targets, 6, 11, -100, rowGrad)],
    ['permute', await be.permute(a, [3, 4, 6], [2, 0, 1])],
  ];
}

describe.each(gpuModes)('gpu.js %s async kernels', (mode) => {
  let kernels: GpuJsAsyncKernels;
  let backend: HostBackend;
  let gpuBackend: GpuJsBackend;
  beforeAll(async () => {
    kernels = await createGpuJsAsyncKernels(mode);
    gpuBackend = createGpuJsBackend(mode);
    backend = onHost(gpuBackend);
  });
  afterAll(() => {
    kernels.dispose();
    gpuBackend.dispose();
  });

  it('give the Backend results bit for bit, and the js results to float32 rounding', async () => {
    const got = await calls(kernels);
    const sync = await calls(backend);
    const want = await calls(ref);
    got.forEach(([what, g], i) => {
      expect(Array.from(g), what).toEqual(Array.from(sync[i]![1]));
      const wv = want[i]![1];
      const scale = Math.max(...wv.map(Math.abs));
      for (let j = 0; j < wv.length; j++) {
        expect(Math.abs(g[j]! - wv[j]!), `${what} [${j}]`).toBeLessThanOrEqual(1e-5 * scale);
      }
    });
    expect(kernels.context.compiledKernels().length).toBeGreaterThan(20);
    // Nothing silently degraded to gpu.js's cpu mode (cpu compiles one kernel per shape).
    for (const c of kernels.context.compiledKernels())
      expect(
        c.modes.filter((m) => m !== mode),
        c.key,
      ).toEqual([]);
  });

  it('run overlapping calls one at a time, in call order', async () => {
    // Kept intermediates are each kernel's reused output: interleaved plans would mix them.
    const pipelined = await createGpuJsAsyncKernels(mode, { pipelineIntermediates: true });
    const pending = [
      pipelined.softmax(logits, 6, 11, false),
      pipelined.attention(q, k, v, null, causal),
      pipelined.softmax(
        logits.map((x) => 2 * x),
        6,
        11,
        true,
      ),
      pipelined.crossEntropy(logits, targets, 6, 11, -100),
    ];
    const [s, [o], ls, ce] = await Promise.all(
      pending as [
        Promise<Float32Array>,
        Promise<[Float32Array, Float32Array]>,
        Promise<Float32Array>,
        Promise<Float32Array>,
      ],
    );
    expect(Array.from(s)).toEqual(Array.from(backend.softmax(logits, 6, 11, false)));
    expect(Array.from(o)).toEqual(Array.from(backend.attention(q, k, v, null, causal)[0]));
    expect(Array.from(ls)).toEqual(
      Array.from(
        backend.softmax(
          logits.map((x) => 2 * x),
          6,
          11,
          true,
        ),
      ),
    );
    expect(Array.from(ce)).toEqual(Array.from(backend.crossEntropy(logits, targets, 6, 11, -100)));
    pipelined.dispose();
  });

  it('hand calls outside exact indexing to the js backend', async () => {
    const empty = new Float32Array(0);
    expect(await kernels.unary('exp', empty)).toEqual(empty);
    expect(await kernels.softmax(empty, 0, 4, false)).toEqual(empty);
  });
});

describe.each(gpuModes)('gpu.js %s with intermediates kept as kernel results', (mode) => {
  // Where a device exists (GL, WebGPU) intermediates stay on it; here that path runs with
  // gpu.js's own arrays. A kernel reading a device result is compiled apart from the same
  // kernel reading arrays: rowMax reads arrays in softmax and attention's scores here.
  it('softmax, attention and softmax again agree with the js backend', async () => {
    const kernels = await createGpuJsAsyncKernels(mode, { pipelineIntermediates: true });
    const gpuBackend = createGpuJsBackend(mode, { pipelineIntermediates: true });
    const backend = onHost(gpuBackend);
    try {
      for (const be of [kernels, backend] as Kernels[]) {
        const s1 = await be.softmax(logits, 6, 11, false);
        const [out] = await be.attention(q, k, v, null, causal);
        const s2 = await be.softmax(logits, 6, 11, false);
        const want = ref.softmax(logits, 6, 11, false);
        const wantOut = ref.attention(q, k, v, null, causal)[0];
        for (const [got, ref_] of [
          [s1, want],
          [s2, want],
          [out, wantOut],
        ] as const) {
          for (let i = 0; i < ref_.length; i++)
            expect(Math.abs(got[i]! - ref_[i]!)).toBeLessThanOrEqual(1e-5);
        }
        const keys = (be as GpuJsBackend).context.compiledKernels().map((c) => c.key);
        expect(keys).toContain('rowMax|out:device');
        // Device inputs are keyed by argument and rank (r1 = 1-D row statistics).
        expect(keys).toContainEqual(expect.stringMatching(/^rowMax\|out:device\|in:device:0r\d$/));
        expect(keys).toContain('softmax|in:device:1r1,2r1');
      }
    } finally {
      kernels.dispose();
      gpuBackend.dispose();
    }
  });
});

describe('gpu.js webgpu', () => {
  afterAll(async () => {
    await setBackend('js');
  });

  it('is refused as a synchronous Backend, pointing at the async kernel set', async () => {
    await expect(setBackend('webgpu')).rejects.toThrow(/asynchronous.*createGpuJsAsyncKernels/);
  });

  it('async kernels say why WebGPU cannot run in Node', async () => {
    await expect(createGpuJsAsyncKernels('webgpu')).rejects.toThrow(
      /webgpu.*(navigator\.gpu is missing|no GPU device)/,
    );
  });
});
