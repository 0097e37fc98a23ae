import type { Backend, DeviceData } from '../backend';
import { createJsBackend } from '../js/index';
import { GpuJsContext, type GpuJsMode, type GpuJsSyncMode, gpuJsBackendName } from './context';
import { GpuJsDeviceData } from './device-data';
import { backendResult, GPU_JS_PLANS, type PlannedKernel } from './plans';
import { runPlan } from './run-plan';

export interface GpuJsBackendOptions {
  /** Keep intermediate results on the device (`pipeline: true`); default: GL modes only. */
  pipelineIntermediates?: boolean;
  /**
   * Keep each op's results on the device as DeviceData, read back only when the host
   * asks (`tensor.data`); default: in GL modes whenever intermediates are pipelined.
   */
  residentResults?: boolean;
}

/** A Backend with the gpu.js context it runs on, for diagnostics and tests. */
export interface GpuJsBackend extends Backend {
  readonly mode: GpuJsMode;
  readonly context: GpuJsContext;
  dispose(): void;
}

/** Host values of every device-data argument (arrays of them too), for the js kernels. */
function hostArgs(args: unknown[]): unknown[] {
  return args.map((a) => {
    if (a instanceof GpuJsDeviceData) return a.read();
    if (Array.isArray(a) && a.some((x) => x instanceof GpuJsDeviceData))
      return a.map((x) => (x instanceof GpuJsDeviceData ? x.read() : x));
    return a;
  });
}

/**
 * A backend whose arithmetic runs in gpu.js kernels in `mode` (see GPU_JS_PLANS); any
 * call a gpu.js kernel cannot index exactly uses the js backend, on read-back values.
 * In GL modes results stay on the device (see GpuJsBackendOptions.residentResults).
 */
export function createGpuJsBackend(mode: GpuJsMode, opts: GpuJsBackendOptions = {}): GpuJsBackend {
  const ctx = new GpuJsContext(mode, opts);
  const js = createJsBackend();
  const backend: Record<string, unknown> = {
    // webgpu has no t2 backend name (its kernels are asynchronous) but can still be built here
    name: mode === 'webgpu' ? mode : gpuJsBackendName(mode as GpuJsSyncMode),
    mode,
    context: ctx,
    holds: (d: DeviceData) => ctx.holds(d),
    dispose: () => ctx.destroy(),
  };
  for (const [name, fn] of Object.entries(js)) {
    if (typeof fn === 'function')
      backend[name] = (...args: unknown[]) =>
        (fn as (...a: unknown[]) => unknown)(...hostArgs(args));
  }
  for (const name of Object.keys(GPU_JS_PLANS) as PlannedKernel[]) {
    const plan = GPU_JS_PLANS[name] as (
      ...args: unknown[]
    ) => ReturnType<(typeof GPU_JS_PLANS)[PlannedKernel]>;
    const fallback = backend[name] as (...args: unknown[]) => unknown;
    backend[name] = (...args: unknown[]) => {
      const p = plan(...args);
      return p ? backendResult(runPlan(ctx, p)) : fallback(...args);
    };
  }
  return backend as unknown as GpuJsBackend;
}
