/** The page's kernel suite, run in Node on the backends that exist here (no browser needed). */
import {
  type Backend,
  createGpuJsAsyncKernels,
  createJsBackend,
  hostValues,
  registerBackend,
} from '@t2/tensor-core';
import { describe, expect, test } from 'vitest';
import { kernelCases } from '../src/selftest/cases';
import { runCases, runSelftest } from '../src/selftest/selftest';

const KERNELS = [
  'binary',
  'unary',
  'clamp',
  'matmul',
  'reduce',
  'argmax',
  'softmax',
  'permute',
  'slice',
  'pad',
  'concat',
  'indexSelect',
  'indexAdd',
  'where',
  'rmsNorm',
  'rmsNormBackward',
  'rope',
  'attention',
  'attentionBackward',
  'crossEntropy',
  'crossEntropyBackward',
];

describe('kernel self-test', () => {
  test('covers every Backend kernel', () => {
    const covered = new Set(kernelCases().map((c) => c.kernel));
    expect([...covered].sort()).toEqual([...KERNELS].sort());
  });

  test.each(['gpujs-cpu', 'gpujs-webasm', 'wasm'])('passes on %s', async (name) => {
    const report = await runSelftest(name, 'main');
    expect(report.unavailable).toBeUndefined();
    expect(report.results.filter((r) => !r.ok).map((r) => `${r.kernel}: ${r.name}`)).toEqual([]);
    expect(report.passed).toBe(kernelCases().length);
  });

  // The browser runs webgpu through tensor-core's async kernel set (test/e2e.test.ts);
  // here the same set runs on the gpu.js modes Node has.
  test.each(['cpu', 'webasm'] as const)(
    'passes on the async kernel set in %s mode',
    async (mode) => {
      const kernels = await createGpuJsAsyncKernels(mode);
      try {
        const results = await runCases(kernels);
        expect(results.filter((r) => !r.ok).map((r) => `${r.kernel}: ${r.name}`)).toEqual([]);
        expect(results).toHaveLength(kernelCases().length);
      } finally {
        kernels.dispose();
      }
    },
  );

  test('catches a wrong kernel and a throwing one, naming them', async () => {
    const js = createJsBackend();
    const broken: Backend = {
      ...js,
      name: 'broken',
      // One value off by 0.01, far outside the tolerance.
      softmax: (a, rows, cols, log) => {
        const out = js.softmax(hostValues(a), rows, cols, log);
        out[cols] += 0.01;
        return out;
      },
      rope: () => {
        throw new Error('rope exploded');
      },
    };
    registerBackend('broken-for-test', () => broken);
    const report = await runSelftest('broken-for-test', 'main');
    const failed = report.results.filter((r) => !r.ok);
    expect(failed.map((r) => r.kernel)).toEqual(['softmax', 'softmax', 'rope', 'rope', 'rope']);
    expect(failed[0]!.mismatches).toBe(1);
    expect(failed[0]!.maxAbsErr).toBeCloseTo(0.01, 5);
    expect(failed[2]!.error).toBe('rope exploded');
    expect(report.ok).toBe(false);
  });

  test('reports a backend that cannot be created instead of throwing', async () => {
    // Node has no WebGPU: the async kernel set says so.
    const report = await runSelftest('webgpu', 'main');
    expect(report.async).toBe(true);
    expect(report.unavailable).toMatch(/webgpu.*(navigator\.gpu is missing|no GPU device)/);
    expect(report.results).toEqual([]);
  });
});
