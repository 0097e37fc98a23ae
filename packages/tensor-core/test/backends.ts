import { type GpuJsSyncMode, gpuJsModeOf, gpuJsModeSupported } from '../src/index';

/** The backends every op suite runs on when T2_TEST_BACKENDS does not say otherwise. */
const DEFAULT_TEST_BACKENDS = ['js', 'gpujs-cpu', 'gpujs-webasm', 'wasm'];

/**
 * Backends the op suites run on: js, t2's WebAssembly SIMD backend, and the gpu.js modes
 * that work in this process (`gpujs-cpu`, `gpujs-webasm` under Node). `T2_TEST_BACKENDS=js,wasm` overrides the list; a
 * name given there is used as is, so an unavailable one fails loudly.
 */
export function testBackends(): string[] {
  const env = process.env.T2_TEST_BACKENDS;
  if (env) {
    return env
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }
  return DEFAULT_TEST_BACKENDS.filter(
    (name) => name === 'js' || name === 'wasm' || gpuJsModeSupported(gpuJsModeOf(name)!),
  );
}

/** The gpu.js backends among `testBackends()`, by their gpu.js mode ('gpujs-cpu' → 'cpu'). */
export function testGpuJsModes(): GpuJsSyncMode[] {
  return testBackends()
    .map(gpuJsModeOf)
    .filter((m): m is GpuJsSyncMode => m !== null);
}
