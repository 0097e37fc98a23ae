import type { Backend } from '../backend';
import { createJsBackend } from '../js/index';
import { GpuJsContext, type GpuJsMode } from './context';
import { backendResult, GPU_JS_PLANS, type PlannedKernel } from './plans';
import { runPlan } from './run-plan';

export interface GpuJsBackendOptions {
  /** Keep intermediate results on the device (`pipeline: true`); default: GL modes only. */
  pipelineIntermediates?: boolean;
}

/** A Backend with the gpu.js context it runs on, for diagnostics and tests. */
export interface GpuJsBackend extends Backend {
  readonly mode: GpuJsMode;
  readonly context: GpuJsContext;
}

/**
 * A backend whose arithmetic runs in gpu.js kernels in `mode` (see GPU_JS_PLANS); the
 * data-movement kernels and any call a gpu.js kernel cannot index exactly use the js
 * backend.
 */
export function createGpuJsBackend(mode: GpuJsMode, opts: GpuJsBackendOptions = {}): GpuJsBackend {
  const ctx = new GpuJsContext(mode, opts);
  const js = createJsBackend();
  const backend: Record<string, unknown> = {
    ...js,
    name: mode,
    mode,
    context: ctx,
    dispose: () => ctx.destroy(),
  };
  for (const name of Object.keys(GPU_JS_PLANS) as PlannedKernel[]) {
    const plan = GPU_JS_PLANS[name] as (
      ...args: unknown[]
    ) => ReturnType<(typeof GPU_JS_PLANS)[PlannedKernel]>;
    const fallback = js[name] as (...args: unknown[]) => unknown;
    backend[name] = (...args: unknown[]) => {
      const p = plan(...args);
      return p ? backendResult(runPlan(ctx, p)) : fallback(...args);
    };
  }
  return backend as unknown as GpuJsBackend;
}
