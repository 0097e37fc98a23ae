import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { GPU, type IKernelRunShortcut, Input } from 'gpu.js';
import type * as t from '../src/index';
import { hostValues } from '../src/kernels/backend';

/** C (m×n) = A (m×k) · B (k×n), all row-major float32. */
export type MatmulFn = (
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
) => Float32Array;

/** The textbook cache-friendly loop order: C[i,:] += A[i,p] · B[p,:]. */
export const plainJsIkj: MatmulFn = (a, b, m, k, n) => {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      const bRow = p * n;
      const cRow = i * n;
      for (let j = 0; j < n; j++) c[cRow + j]! += aip * b[bRow + j]!;
    }
  }
  return c;
};

/** The README's gpu.js matmul in webasm mode: one thread per output cell, nothing else. */
export function gpuJsNaiveWebasm(): MatmulFn {
  const gpu = new GPU({ mode: 'webasm' });
  const kernel: IKernelRunShortcut = gpu.createKernel(
    `function naiveMatmul(a, b, k) {
      let sum = 0;
      for (let i = 0; i < k; i++) {
        sum += a[this.thread.y][i] * b[i][this.thread.x];
      }
      return sum;
    }`,
    { output: [1, 1], dynamicOutput: true, dynamicArguments: true },
  );
  kernel.setLoopMaxIterations(2 ** 30);
  return (a, b, m, k, n) => {
    kernel.setOutput([n, m]);
    const rows = (kernel as unknown as (...args: unknown[]) => Float32Array[])(
      new Input(a as unknown as number[], [k, m]),
      new Input(b as unknown as number[], [n, k]),
      k,
    );
    // webasm's rows are views of one buffer.
    return new Float32Array(rows[0]!.buffer, 0, m * n);
  };
}

/**
 * tf.matMul on @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD), counting the upload of
 * both operands and the readback, as the other implementations do. The .wasm binaries
 * load from the installed package, so this works offline.
 */
export async function tfjsWasm(): Promise<{ matmul: MatmulFn; simd: boolean; threads: boolean }> {
  const require = createRequire(import.meta.url);
  setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  await tf.setBackend('wasm');
  await tf.ready();
  const matmul: MatmulFn = (a, b, m, k, n) => {
    const c = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])));
    const out = c.dataSync() as Float32Array;
    c.dispose();
    return out;
  };
  return {
    matmul,
    simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
  };
}

/** A backend's matmul kernel on plain [m, k] × [k, n] operands. */
export function backendMatmul(b: t.Backend): MatmulFn {
  return (a, bb, m, k, n) =>
    hostValues(
      b.matmul(a, bb, {
        batch: 1,
        m,
        k,
        n,
        transA: false,
        transB: false,
        aBatchStride: 0,
        bBatchStride: 0,
      }),
    );
}
