import { flatten, type GpuJsContext, type KernelArg, view } from './context';
import { type KernelPlan, StepOutput } from './plan';

/** What a plan's launches have produced so far, and what later launches read. */
class PlanState {
  /** Per launch: what a later launch passes as the argument. */
  private readonly reads: KernelArg[] = [];
  /** Per launch: the read-back values, for outputs that were read back. */
  private readonly values: (Float32Array | undefined)[] = [];
  /** Launches whose output stays on the device. */
  private readonly onDevice: boolean[];
  /** WebGPU buffer handles made by this plan, released when it ends. */
  private readonly handles: { delete(): void }[] = [];

  constructor(
    private readonly ctx: GpuJsContext,
    private readonly plan: KernelPlan,
  ) {
    const returned = new Set(plan.results.map((r) => r.step));
    this.onDevice = plan.launches.map((_, i) => ctx.pipelineIntermediates && !returned.has(i));
  }

  /**
   * Calls launch `i`'s kernel and returns what gpu.js returns (in webgpu mode a Promise).
   * A kernel reading a device result is compiled apart from the same source reading
   * arrays: gpu.js cannot hand a texture to a kernel built for arrays (nor, in WebGPU,
   * an array to one built for a buffer), and the row statistics serve softmax (arrays)
   * and attention (device scores) alike.
   */
  launch(i: number): unknown {
    const launch = this.plan.launches[i]!;
    const device: number[] = [];
    const args = launch.args.map((a, j) => {
      if (!(a instanceof StepOutput)) return a;
      if (this.onDevice[a.step]) device.push(j);
      return this.reads[a.step]!;
    });
    let key = launch.key;
    if (this.onDevice[i]) key += '|out:device';
    if (device.length > 0) key += `|in:device:${device.join(',')}`;
    const kernel = this.ctx.kernel(key, launch.source, { pipeline: this.onDevice[i] });
    return kernel.call(launch.output, args);
  }

  /** Records what launch `i` returned. */
  finish(i: number, result: unknown): void {
    const { output } = this.plan.launches[i]!;
    if (this.onDevice[i]) {
      this.reads[i] = result as KernelArg;
      const handle = result as { type?: string; delete?: () => void };
      if (handle.type === 'WebGPUBuffer' && handle.delete) this.handles.push(handle as never);
      return;
    }
    let total = 1;
    for (const d of output) total *= d;
    const flat = flatten(result, total);
    this.values[i] = flat;
    const [x = 1, y = 1, z = 1] = output;
    this.reads[i] = view(flat, x, y, z);
  }

  results(): Float32Array[] {
    return this.plan.results.map((r) => this.values[r.step]!);
  }

  /**
   * Drops this plan's references to WebGPU output buffers. Each kernel keeps its own
   * buffer for its next call; a handle still held would keep a buffer the kernel has
   * outgrown alive.
   */
  release(): void {
    for (const h of this.handles) h.delete();
  }
}

/** Runs a plan's launches in order and returns its results (the Backend path). */
export function runPlan(ctx: GpuJsContext, plan: KernelPlan): Float32Array[] {
  const state = new PlanState(ctx, plan);
  for (let i = 0; i < plan.launches.length; i++) state.finish(i, state.launch(i));
  return state.results();
}

/**
 * Runs a plan awaiting each launch: gpu.js WebGPU kernels build asynchronously and
 * return Promises (of a buffer handle when pipelined, else of the read-back values).
 * Launches are issued in order, so a pipelined handle is only read by later launches.
 */
export async function runPlanAsync(ctx: GpuJsContext, plan: KernelPlan): Promise<Float32Array[]> {
  const state = new PlanState(ctx, plan);
  try {
    for (let i = 0; i < plan.launches.length; i++) state.finish(i, await state.launch(i));
    return state.results();
  } finally {
    state.release();
  }
}
