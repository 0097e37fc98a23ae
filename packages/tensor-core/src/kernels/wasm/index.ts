/**
 * The WebAssembly SIMD backend: packed f32x4 matmul and fused attention, norm,
 * softmax, cross-entropy and elementwise kernels compiled from wasm/*.ts
 * (AssemblyScript), optionally split over worker threads sharing the memory. Kernels
 * it does not override (slice, pad, concat, gather, where, argmax, clamp) and tiny
 * inputs run the js backend's code.
 */
import type { HostBackend } from '../backend';
import { createJsBackend } from '../js/index';
import { registerBackend } from '../registry';
import { wasmAttention, wasmAttentionBackward } from './attention';
import { WasmBf16Home, wasmDecodeKernels } from './decode';
import { wasmBinary, wasmUnary } from './elementwise';
import { wasmMatmul } from './matmul';
import { wasmPermute, wasmReduce, wasmRope } from './movement';
import {
  wasmCrossEntropy,
  wasmCrossEntropyBackward,
  wasmRmsNorm,
  wasmRmsNormBackward,
  wasmSoftmax,
} from './rows';
import { WasmRuntime, type WasmRuntimeOptions } from './runtime';

export { PARALLEL_MIN_FLOPS } from './matmul';
export { WasmMemoryError, type WasmRuntimeOptions, wasmSimdSupported } from './runtime';
export { threadsSupported as wasmThreadsSupported } from './threads';

export interface WasmBackend extends HostBackend {
  /** Threads kernels are split over, the calling thread included. */
  readonly threads: number;
  /** Kernel chunks run by worker threads so far (0 without workers). */
  workerChunks(): number;
  /** Stops the worker threads; the backend keeps working on one thread. */
  dispose(): void;
}

const live = new Set<WasmRuntime>();

/** Creates a wasm backend (its own memory and, unless `threads: 1`, worker threads). */
export async function createWasmBackend(opts: WasmRuntimeOptions = {}): Promise<WasmBackend> {
  const rt = await WasmRuntime.create(opts);
  live.add(rt);
  return {
    ...createJsBackend(),
    name: 'wasm',
    get threads() {
      return rt.threads;
    },
    workerChunks: () => rt.pool?.workerChunks() ?? 0,
    binary: (op, a, aShape, b, bShape, outShape) =>
      wasmBinary(rt, op, a, aShape, b, bShape, outShape),
    unary: (op, a) => wasmUnary(rt, op, a),
    matmul: (a, b, p) => wasmMatmul(rt, a, b, p),
    softmax: (a, rows, cols, log) => wasmSoftmax(rt, a, rows, cols, log),
    reduce: (op, a, outer, len, inner) => wasmReduce(rt, op, a, outer, len, inner),
    permute: (a, shape, perm) => wasmPermute(rt, a, shape, perm),
    rope: (x, p) => wasmRope(rt, x, p),
    rmsNorm: (x, w, rows, cols, eps) => wasmRmsNorm(rt, x, w, rows, cols, eps),
    rmsNormBackward: (dy, x, w, rows, cols, eps) =>
      wasmRmsNormBackward(rt, dy, x, w, rows, cols, eps),
    attention: (q, k, v, mask, p) => wasmAttention(rt, q, k, v, mask, p),
    attentionBackward: (dOut, q, k, v, probs, p) =>
      wasmAttentionBackward(rt, dOut, q, k, v, probs, p),
    crossEntropy: (logits, targets, rows, cols, ignoreIndex) =>
      wasmCrossEntropy(rt, logits, targets, rows, cols, ignoreIndex),
    crossEntropyBackward: (logits, targets, rows, cols, ignoreIndex, rowGrad) =>
      wasmCrossEntropyBackward(rt, logits, targets, rows, cols, ignoreIndex, rowGrad),
    decodeKernels: () => wasmDecodeKernels(rt),
    bf16Home: (count) => WasmBf16Home.reserve(rt, count),
    dispose() {
      rt.dispose();
      live.delete(rt);
    },
  };
}

/** Stops the worker threads of every wasm backend created so far (they stay usable). */
export function disposeWasmBackend(): void {
  for (const rt of live) rt.dispose();
  live.clear();
}

registerBackend('wasm', () => createWasmBackend());
