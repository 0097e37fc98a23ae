/**
 * gpu.js backends. Importing this module registers one backend per gpu.js mode with
 * synchronous kernels ('gpujs-cpu', 'gpujs-webasm', 'gpujs-headlessgl', 'gpujs-webgl2',
 * 'gpujs-webgl') and the measuring chooser behind `setBackend('auto')`. gpu.js's WebGPU
 * kernels are asynchronous, so WebGPU is not a backend; createGpuJsAsyncKernels('webgpu')
 * runs the same kernels awaited.
 */
import { type Backend, hostValues } from '../backend';
import {
  loadBackend,
  refuseBackend,
  registerBackend,
  registerBackendAlias,
  registeredBackends,
  setAutoChooser,
} from '../registry';
import { type AutoMeasurement, fastest, measureBackends } from './auto';
import { createGpuJsBackend } from './backend';
import {
  GPU_JS_MODES,
  gpuJsBackendName,
  gpuJsModeOf,
  gpuJsModeSupported,
  gpuJsUnsupportedReason,
} from './context';

export {
  type AsyncKernels,
  createGpuJsAsyncKernels,
  type GpuJsAsyncKernels,
  type GpuJsAsyncKernelsOptions,
} from './async-kernels';
export { type AutoMeasurement, measureBackends } from './auto';
export { createGpuJsBackend, type GpuJsBackend, type GpuJsBackendOptions } from './backend';
export {
  GPU_JS_MODES,
  type GpuJsBackendName,
  type GpuJsCalls,
  type GpuJsMode,
  type GpuJsSyncMode,
  gpuJsBackendName,
  gpuJsModeOf,
  gpuJsModeSupported,
  gpuJsUnsupportedReason,
} from './context';

for (const mode of GPU_JS_MODES) {
  if (mode === 'webgpu') {
    refuseBackend(mode, gpuJsUnsupportedReason(mode)!);
    continue;
  }
  registerBackend(gpuJsBackendName(mode), () => createGpuJsBackend(mode));
  // Before 0.1 the backends were named by the bare mode ('cpu' read like t2's plain JS).
  registerBackendAlias(mode, gpuJsBackendName(mode));
}

/** A 2×3 · 3×2 product every working backend must get right. */
function smokeTest(b: Backend): boolean {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]);
  const out = hostValues(
    b.matmul(a, a, {
      batch: 1,
      m: 2,
      k: 3,
      n: 2,
      transA: false,
      transB: true,
      aBatchStride: 0,
      bBatchStride: 0,
    }),
  );
  return [14, 32, 32, 77].every((v, i) => out[i] === v);
}

let available: Promise<string[]> | null = null;

/**
 * Backends that work in this environment, in registration order: 'js' always, every
 * gpu.js backend whose mode is supported here, and any other registered backend, each only if
 * it can be created and passes a smoke test. Computed once per process.
 */
export function availableBackends(): Promise<string[]> {
  available ??= (async () => {
    const names: string[] = [];
    for (const name of registeredBackends()) {
      const mode = gpuJsModeOf(name);
      if (mode && !gpuJsModeSupported(mode)) continue;
      try {
        if (smokeTest(await loadBackend(name))) names.push(name);
      } catch {
        // A backend whose context cannot be created is simply not available.
      }
    }
    return names;
  })();
  return available;
}

let autoDecision: Promise<{ choice: string; measurements: AutoMeasurement[] }> | null = null;

/**
 * What `setBackend('auto')` picks: every available backend is timed once on a
 * 256³ matmul and a 64×512 softmax, checked against the js backend, and the fastest
 * wins. The decision is cached for the process.
 */
export function chooseAutoBackend(): Promise<{ choice: string; measurements: AutoMeasurement[] }> {
  autoDecision ??= (async () => {
    const names = await availableBackends();
    const candidates = await Promise.all(
      names.map(async (name) => ({ name, backend: await loadBackend(name) })),
    );
    const measurements = measureBackends(candidates);
    return { choice: fastest(measurements), measurements };
  })();
  return autoDecision;
}

setAutoChooser(async () => (await chooseAutoBackend()).choice);
