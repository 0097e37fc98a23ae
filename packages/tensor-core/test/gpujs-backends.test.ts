import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  availableBackends,
  type Backend,
  chooseAutoBackend,
  createJsBackend,
  GPU_JS_MODES,
  type GpuJsMode,
  type GpuJsSyncMode,
  getBackend,
  gpuJsBackendName,
  gpuJsModeOf,
  gpuJsModeSupported,
  gpuJsUnsupportedReason,
  hostValues,
  measureBackends,
  registeredBackends,
  setBackend,
} from '../src/index';
import { testBackends } from './backends';

describe('gpu.js backend registration', () => {
  afterAll(async () => {
    await setBackend('js');
  });

  const SYNC_MODES = GPU_JS_MODES.filter((m): m is GpuJsSyncMode => m !== 'webgpu');

  it('registers every gpu.js mode with synchronous kernels on import, as gpujs-<mode>', () => {
    expect(registeredBackends()).toEqual(
      expect.arrayContaining(['js', ...SYNC_MODES.map(gpuJsBackendName)]),
    );
    // No backend is registered that cannot run: WebGPU's kernels are asynchronous.
    expect(registeredBackends()).not.toContain('webgpu');
    expect(registeredBackends().filter((n) => GPU_JS_MODES.includes(n as GpuJsMode))).toEqual([]);
  });

  it('accepts the old bare mode names for one release, with a warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const b = await setBackend('cpu');
      expect(b.name).toBe('gpujs-cpu');
      expect(warn.mock.calls.join(' ')).toMatch(/'cpu' is now called 'gpujs-cpu'/);
    } finally {
      warn.mockRestore();
      await setBackend('js');
    }
  });

  it('lists js and every supported mode that passes its smoke test', async () => {
    const names = await availableBackends();
    expect(names[0]).toBe('js');
    // gpu.js's cpu mode is plain JavaScript: it works everywhere.
    expect(names).toContain('gpujs-cpu');
    const gpuJs = names.filter((n) => gpuJsModeOf(n) !== null);
    expect(gpuJs).toEqual(SYNC_MODES.filter((m) => gpuJsModeSupported(m)).map(gpuJsBackendName));
    // Backends registered elsewhere (none of them 'auto') are listed when they work.
    for (const n of names) expect(registeredBackends()).toContain(n);
  });

  it('refuses unavailable modes with the reason', async () => {
    await expect(setBackend('webgpu')).rejects.toThrow(/webgpu.*asynchronous/);
    for (const mode of SYNC_MODES.filter((m) => !gpuJsModeSupported(m))) {
      await expect(setBackend(gpuJsBackendName(mode))).rejects.toThrow(
        gpuJsUnsupportedReason(mode)!,
      );
    }
  });

  it('the test harness runs every available backend unless T2_TEST_BACKENDS says otherwise', async () => {
    if (process.env.T2_TEST_BACKENDS) return;
    const names = await availableBackends();
    expect(testBackends()).toEqual(
      ['js', 'gpujs-cpu', 'gpujs-webasm', 'wasm'].filter((n) => names.includes(n)),
    );
  });

  it('auto measures the available backends and activates the fastest correct one', async () => {
    const { choice, measurements } = await chooseAutoBackend();
    const names = await availableBackends();
    expect(measurements.map((m) => m.backend)).toEqual(names);
    for (const m of measurements) expect(m.excluded ?? '').not.toMatch(/disagrees/);
    const timed = measurements.filter((m) => m.ms !== null);
    expect(timed.length).toBeGreaterThan(0);
    expect(choice).toBe(timed.reduce((a, b) => (b.ms! < a.ms! ? b : a)).backend);
    const active = await setBackend('auto');
    expect(active.name).toBe(choice);
    expect(getBackend()).toBe(active);
    // The decision is cached: asking again gives the same answer without re-measuring.
    expect(await chooseAutoBackend()).toEqual({ choice, measurements });
  });

  it('auto excludes a backend whose results are wrong', () => {
    const js = createJsBackend();
    const broken: Backend = {
      ...js,
      name: 'broken',
      matmul: (a, b, p) => js.matmul(hostValues(a), hostValues(b), p).map((x) => x * 1.01),
    };
    const [good, bad] = measureBackends([
      { name: 'js', backend: js },
      { name: 'broken', backend: broken },
    ]);
    expect(good!.ms).not.toBeNull();
    expect(bad!.ms).toBeNull();
    expect(bad!.excluded).toMatch(/matmul.*disagrees/);
  });
});
