import { GPU } from 'gpu.js';
import type { HostBackend } from '../backend';
import { createJsBackend } from '../js/index';
import { GpuJsContext, type GpuJsMode } from './context';
import { backendResult, GPU_JS_PLANS, type KernelName, type PlannedKernel } from './plans';
import { runPlanAsync } from './run-plan';

/** A Backend kernel on host arrays, as the asynchronous kernels take and return them. */
type HostKernel<K extends KernelName> = Extract<HostBackend[K], (...args: never[]) => unknown>;

/** Every Backend kernel, returning a Promise of what the Backend method returns on host arrays. */
export type AsyncKernels = {
  readonly [K in KernelName]: (
    ...args: Parameters<HostKernel<K>>
  ) => Promise<ReturnType<HostKernel<K>>>;
};

export interface GpuJsAsyncKernels extends AsyncKernels {
  readonly name: string;
  readonly mode: GpuJsMode;
  readonly context: GpuJsContext;
  dispose(): void;
}

export interface GpuJsAsyncKernelsOptions {
  /** Keep intermediate results on the device; default: GL modes and webgpu. */
  pipelineIntermediates?: boolean;
}

/**
 * The Backend kernels on gpu.js with every call returning a Promise: the way to run
 * gpu.js WebGPU, whose kernels build and read back asynchronously. The kernel sources
 * and launch plans are the Backend's (GPU_JS_PLANS); the data-movement kernels and calls
 * outside exact indexing use the js backend, as there. Other modes work too (their
 * kernels are synchronous underneath), which is how this is tested outside a browser.
 *
 * Calls run one at a time in call order: a compiled kernel is resized per call and
 * reuses its output buffer, so two plans must not interleave. An input must not change
 * until its call has resolved. Rejects when webgpu finds no GPU device here.
 */
export async function createGpuJsAsyncKernels(
  mode: GpuJsMode,
  opts: GpuJsAsyncKernelsOptions = {},
): Promise<GpuJsAsyncKernels> {
  const ctx = new GpuJsContext(mode, { ...opts, calls: 'async' });
  if (mode === 'webgpu' && !(await GPU.isWebGPUAvailable())) {
    ctx.destroy();
    throw new Error(
      "gpu.js backend 'webgpu' is unavailable: navigator.gpu offers no GPU device here",
    );
  }
  const js = createJsBackend();
  let last: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const run = last.then(work);
    last = run.catch(() => undefined);
    return run;
  };
  const kernels: Record<string, unknown> = {
    name: mode,
    mode,
    context: ctx,
    dispose: () => ctx.destroy(),
  };
  for (const [name, fn] of Object.entries(js)) {
    if (typeof fn === 'function') kernels[name] = async (...args: unknown[]) => fn(...args);
  }
  for (const name of Object.keys(GPU_JS_PLANS) as PlannedKernel[]) {
    const plan = GPU_JS_PLANS[name] as (
      ...args: unknown[]
    ) => ReturnType<(typeof GPU_JS_PLANS)[PlannedKernel]>;
    const fallback = js[name] as (...args: unknown[]) => unknown;
    kernels[name] = async (...args: unknown[]) => {
      const p = plan(...args);
      if (!p) return fallback(...args);
      return backendResult(await inTurn(() => runPlanAsync(ctx, p)));
    };
  }
  return kernels as unknown as GpuJsAsyncKernels;
}
