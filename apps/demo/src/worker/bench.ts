/**
 * Benchmarks inside the browser, run by scripts/bench-browser.ts through
 * `window.t2demo.bench()`: matrix-product throughput of tensor-core's wasm backend (the
 * issue's "browser WebAssembly path"), on one thread and on as many as the page allows,
 * and a training step on gpu.js WebGL2 with results kept on the GPU or read back.
 */
import {
  bufferPool,
  createGpuJsBackend,
  createWasmBackend,
  type MatmulParams,
  wasmThreadsSupported,
} from '@t2/tensor-core';
import { tinyModel, trainStep } from '../selftest/residency';

export interface BrowserBenchRow {
  shape: string;
  threads: number;
  gflops: number;
}

export const BENCH_SHAPES: readonly [number, number, number][] = [
  [512, 512, 512],
  [256, 64, 172],
];

function filled(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (((i * 2654435761 + seed) >>> 0) % 1000) / 1000 - 0.5;
  return out;
}

/** Milliseconds per call of `fn`: the best of `repeats` runs of `seconds` / repeats each. */
function bestMsPerCall(fn: () => void, seconds: number, repeats: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < repeats; r++) {
    let calls = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < (seconds * 1000) / repeats) {
      fn();
      calls++;
    }
    best = Math.min(best, (performance.now() - t0) / calls);
  }
  return best;
}

/** Best of `repeats` timed runs of at least `seconds` / repeats each, after a warm-up. */
export async function benchWasmMatmul(seconds = 3, repeats = 3): Promise<BrowserBenchRow[]> {
  const cores = Math.min(8, navigator.hardwareConcurrency || 1);
  const threadCounts = wasmThreadsSupported() && cores > 1 ? [1, cores] : [1];
  const rows: BrowserBenchRow[] = [];
  for (const threads of threadCounts) {
    const backend = await createWasmBackend({ threads });
    try {
      for (const [m, k, n] of BENCH_SHAPES) {
        const a = filled(m * k, 1);
        const b = filled(k * n, 2);
        const p: MatmulParams = {
          batch: 1,
          m,
          k,
          n,
          transA: false,
          transB: false,
          aBatchStride: 0,
          bBatchStride: 0,
        };
        // Outputs go back to the pool, as tensors' buffers do in real use; otherwise the
        // loop measures the garbage collector's work on fresh 176 KB arrays.
        const call = () => bufferPool.release(backend.matmul(a, b, p));
        for (let i = 0; i < 5; i++) call();
        const best = bestMsPerCall(call, seconds, repeats);
        rows.push({ shape: `${m}x${k}x${n}`, threads, gflops: (2 * m * k * n) / best / 1e6 });
      }
    } finally {
      backend.dispose();
    }
  }
  return rows;
}

export interface GlTrainingBenchRow {
  /** `resident`: op results stay in textures; `readback`: every op's result is read back. */
  variant: 'resident' | 'readback';
  msPerStep: number;
  readbacksPerStep: number;
}

/**
 * A small LLaMA's training step (forward, loss, backward, gradients read) on gpu.js
 * WebGL2 with op results kept on the GPU, against the same backend reading every op's
 * result back (tensor-core's behaviour before results stayed on the device). The first
 * step warms up and counts the readbacks; then the best of `repeats` timed runs.
 */
export function benchGlTraining(seconds = 3, repeats = 3): GlTrainingBenchRow[] {
  const rows: GlTrainingBenchRow[] = [];
  for (const variant of ['readback', 'resident'] as const) {
    const backend = createGpuJsBackend('webgl2', { residentResults: variant === 'resident' });
    const model = tinyModel();
    try {
      const before = backend.context.stats.readbacks;
      trainStep(model, backend);
      const readbacks = backend.context.stats.readbacks - before;
      const best = bestMsPerCall(() => trainStep(model, backend), seconds, repeats);
      rows.push({ variant, msPerStep: best, readbacksPerStep: readbacks });
    } finally {
      backend.dispose();
    }
  }
  return rows;
}
