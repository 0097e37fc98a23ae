import {
  createGpuJsAsyncKernels,
  createGpuJsBackend,
  createJsBackend,
  type GpuJsAsyncKernels,
  type GpuJsBackend,
  type GpuJsMode,
  gpuJsModeOf,
  hostValues,
  loadBackend,
} from '@t2/tensor-core';
import { type KernelsUnderTest, kernelCases } from './cases';
import { type ResidencyReport, runResidencyCheck } from './residency';

export interface CaseResult {
  kernel: string;
  name: string;
  ok: boolean;
  /** Largest |got − expected| over the outputs (NaN when shapes differ or it threw). */
  maxAbsErr: number;
  /** Elements outside atol + rtol·|expected|. */
  mismatches: number;
  ms: number;
  error?: string;
  /** The top of the error's stack, to find the failing kernel stage. */
  stack?: string;
}

export interface SelftestReport {
  backend: string;
  variant: 'page' | 'defaults';
  /** gpu.js GL modes and webgpu: whether intermediate results stayed on the GPU. */
  pipelined?: boolean;
  /** Whether the kernels returned Promises (gpu.js WebGPU) rather than arrays. */
  async: boolean;
  /** Where it ran: the model worker or the page's main thread. */
  thread: 'worker' | 'main';
  /** Set when the backend could not be created; then no case ran. */
  unavailable?: string;
  ok: boolean;
  passed: number;
  failed: number;
  results: CaseResult[];
  /** gpu.js kernels compiled and the gpu.js modes that actually ran them. */
  compiled?: { key: string; modes: string[] }[];
  /** A small LLaMA's training step on a synchronous gpu.js backend (see residency.ts). */
  residency?: ResidencyReport;
  ms: number;
}

function compare(
  got: Float32Array[],
  want: Float32Array[],
  atol: number,
  rtol: number,
): Pick<CaseResult, 'maxAbsErr' | 'mismatches' | 'error' | 'stack'> {
  if (got.length !== want.length) {
    return {
      maxAbsErr: Number.NaN,
      mismatches: 1,
      error: `${got.length} outputs, expected ${want.length}`,
    };
  }
  let maxAbsErr = 0;
  let mismatches = 0;
  for (let o = 0; o < want.length; o++) {
    const g = got[o]!;
    const w = want[o]!;
    if (g.length !== w.length) {
      return {
        maxAbsErr: Number.NaN,
        mismatches: 1,
        error: `output ${o} has ${g.length} values, expected ${w.length}`,
      };
    }
    for (let i = 0; i < w.length; i++) {
      const gi = g[i]!;
      const wi = w[i]!;
      if (Number.isNaN(wi) && Number.isNaN(gi)) continue;
      const err = Math.abs(gi - wi);
      if (!(err <= atol + rtol * Math.abs(wi))) mismatches++;
      if (!(err <= maxAbsErr)) maxAbsErr = err;
    }
  }
  return { maxAbsErr, mismatches };
}

const now = () => performance.now();

/**
 * Backends whose kernels only run asynchronously, tested through tensor-core's async
 * kernel set instead of the (refusing) Backend of the same name.
 */
const ASYNC_MODES: readonly GpuJsMode[] = ['webgpu'];

/** The page's async kernel sets, made once per thread like loadBackend's backends. */
const asyncKernels = new Map<GpuJsMode, Promise<GpuJsAsyncKernels>>();

function pageAsyncKernels(mode: GpuJsMode): Promise<GpuJsAsyncKernels> {
  let k = asyncKernels.get(mode);
  if (!k) {
    k = createGpuJsAsyncKernels(mode);
    asyncKernels.set(mode, k);
    // A set that could not be made is not cached: the next run says why again.
    k.catch(() => asyncKernels.delete(mode));
  }
  return k;
}

/** What the suite runs on: `name`'s backend, or its async kernel set for webgpu. */
async function kernelsUnderTest(
  name: string,
  variant: 'page' | 'defaults',
): Promise<{ kernels: KernelsUnderTest; name: string; dispose?: () => void }> {
  const gpuJs = gpuJsModeOf(name);
  if ((ASYNC_MODES as readonly string[]).includes(name)) {
    const mode = name as GpuJsMode;
    if (variant === 'page') {
      const kernels = await pageAsyncKernels(mode);
      return { kernels, name: kernels.name };
    }
    const kernels = await createGpuJsAsyncKernels(mode);
    return { kernels, name: kernels.name, dispose: () => kernels.dispose() };
  }
  if (variant === 'defaults' && gpuJs) {
    const backend = createGpuJsBackend(gpuJs);
    return { kernels: backend, name: backend.name, dispose: () => backend.dispose?.() };
  }
  const backend = await loadBackend(name);
  return { kernels: backend, name: backend.name };
}

/**
 * Runs the kernel cases (all, or those of the kernels in `only`) on `kernels` and on the
 * js backend and compares them. A case that throws or rejects fails with its message.
 */
export async function runCases(
  kernels: KernelsUnderTest,
  opts: { seed?: number; only?: readonly string[] } = {},
): Promise<CaseResult[]> {
  const reference = createJsBackend();
  const results: CaseResult[] = [];
  const cases = kernelCases(opts.seed ?? 1).filter(
    (c) => !opts.only || opts.only.includes(c.kernel),
  );
  for (const c of cases) {
    const start = now();
    let outcome: Pick<CaseResult, 'maxAbsErr' | 'mismatches' | 'error' | 'stack'>;
    try {
      const want = (await c.run(reference)).map(hostValues);
      const got = (await c.run(kernels)).map(hostValues);
      outcome = compare(got, want, c.atol ?? 1e-4, c.rtol ?? 1e-3);
    } catch (err) {
      const e = err as Error;
      outcome = {
        maxAbsErr: Number.NaN,
        mismatches: 1,
        error: e.message || String(err),
        stack: e.stack?.split('\n').slice(0, 8).join('\n'),
      };
    }
    results.push({
      kernel: c.kernel,
      name: c.name,
      ok: outcome.mismatches === 0 && !outcome.error,
      ...outcome,
      ms: now() - start,
    });
  }
  return results;
}

/**
 * Runs every Backend kernel of `name` on seeded random inputs and compares it with the
 * js backend. webgpu runs through tensor-core's async kernel set (gpu.js WebGPU kernels
 * return Promises). A kernel that throws or rejects fails its case with the error
 * message; a backend that cannot be created is reported as unavailable with the reason.
 */
export async function runSelftest(
  name: string,
  thread: 'worker' | 'main',
  opts: {
    seed?: number;
    only?: readonly string[];
    /**
     * `page`: the backend instance the page computes with. `defaults`: a fresh gpu.js
     * backend with tensor-core's default options (GL modes and webgpu keep intermediates
     * on the GPU).
     */
    variant?: 'page' | 'defaults';
  } = {},
): Promise<SelftestReport> {
  const t0 = now();
  const variant = opts.variant ?? 'page';
  const async = (ASYNC_MODES as readonly string[]).includes(name);
  let under: Awaited<ReturnType<typeof kernelsUnderTest>>;
  try {
    under = await kernelsUnderTest(name, variant);
  } catch (err) {
    return {
      backend: name,
      variant,
      async,
      thread,
      unavailable: (err as Error).message,
      ok: false,
      passed: 0,
      failed: 0,
      results: [],
      ms: now() - t0,
    };
  }
  const backend = under.kernels;
  const results = await runCases(backend, opts);
  const passed = results.filter((r) => r.ok).length;
  const context = (
    backend as {
      context?: {
        compiledKernels(): { key: string; modes: string[] }[];
        pipelineIntermediates: boolean;
      };
    }
  ).context;
  const residency = context && !async ? runResidencyCheck(backend as GpuJsBackend) : undefined;
  const compiled = context?.compiledKernels();
  under.dispose?.();
  return {
    backend: under.name,
    variant,
    async,
    ...(context && { pipelined: context.pipelineIntermediates }),
    thread,
    ok: passed === results.length && (residency?.ok ?? true),
    passed,
    failed: results.length - passed,
    results,
    compiled,
    residency,
    ms: now() - t0,
  };
}
