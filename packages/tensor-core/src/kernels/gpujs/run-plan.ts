import type { KernelData } from '../backend';
import { type GpuJsContext, type KernelArg, view } from './context';
import { type DeviceHandle, DeviceView, GpuJsDeviceData } from './device-data';
import { flatten } from './flatten';
import { type KernelPlan, StepOutput } from './plan';

/**
 * The same GL texture read under other [x, y, z] extents, without a copy: texels hold
 * the values in flat row-major order whatever the extents, and gpu.js indexes a texture
 * argument by the `dimensions` it carries (x + X·(y + Y·z)). The object is gpu.js's
 * own texture class, sharing the texture (reference-counted) until it is deleted.
 */
function reshaped(texture: DeviceHandle, dims: readonly [number, number, number]): DeviceHandle {
  const Texture = texture.constructor as new (settings: object) => DeviceHandle;
  return new Texture({ ...texture, dimensions: [...dims] });
}

/** A gpu.js GL texture: sharing (clone) and copying its GL texture (cloneTexture). */
interface GLTextureHandle extends DeviceHandle {
  clone(): GLTextureHandle;
  cloneTexture(): void;
}

/**
 * A texture holding a copy of `texture`'s values, owned by the caller: a clone shares
 * the GL texture, then cloneTexture gives the clone a copy of its own (copyTexSubImage2D),
 * leaving the kernel's texture to the kernel.
 */
function ownCopy(texture: GLTextureHandle): GLTextureHandle {
  const mine = texture.clone();
  mine.cloneTexture();
  return mine;
}

/** What a plan's launches have produced so far, and what later launches read. */
class PlanState {
  /** Per launch: what a later launch passes as the argument. */
  private readonly reads: KernelArg[] = [];
  /** Per launch: the read-back values, for outputs that were read back. */
  private readonly values: (Float32Array | undefined)[] = [];
  /** Launches whose output stays on the device. */
  private readonly onDevice: boolean[];
  private readonly returned: Set<number>;
  /** Device handles this plan made and does not return, released when it ends. */
  private readonly handles: { delete(): void }[] = [];
  /** Launches so far per kernel key, to compile repeats apart (see launch). */
  private readonly uses = new Map<string, number>();

  constructor(
    private readonly ctx: GpuJsContext,
    private readonly plan: KernelPlan,
  ) {
    this.returned = new Set(plan.results.map((r) => r.step));
    this.onDevice = plan.launches.map(
      (_, i) => ctx.pipelineIntermediates && (ctx.residentResults || !this.returned.has(i)),
    );
  }

  /**
   * Calls launch `i`'s kernel and returns what gpu.js returns (in webgpu mode a Promise).
   * A kernel reading a device result is compiled apart from the same source reading
   * arrays, and per rank of that result: gpu.js cannot hand a texture to a kernel built
   * for arrays (nor, in WebGPU, an array to one built for a buffer), nor a 2-D texture
   * to one built for a 1-D texture.
   */
  launch(i: number): unknown {
    const launch = this.plan.launches[i]!;
    const device: string[] = [];
    const args = launch.args.map((a, j) => {
      if (a instanceof StepOutput) {
        if (this.onDevice[a.step]) device.push(`${j}r${a.output.length}`);
        return this.reads[a.step]!;
      }
      if (a instanceof GpuJsDeviceData || a instanceof DeviceView) {
        const { arg, rank } = this.deviceArg(a);
        device.push(`${j}r${rank}`);
        return arg;
      }
      if (typeof a !== 'number') this.ctx.stats.uploads++;
      return a;
    });
    let key = launch.key;
    if (this.onDevice[i]) key += '|out:device';
    if (device.length > 0) key += `|in:device:${device.join(',')}`;
    // A kernel renders each call into its own texture, resized (freed) when the output
    // size changes: a second launch of one compiled kernel in a plan would overwrite or
    // free the first's output while later launches still read it (a chained concat).
    const repeat = this.uses.get(key) ?? 0;
    this.uses.set(key, repeat + 1);
    if (repeat > 0) key += `#${repeat}`;
    const kernel = this.ctx.kernel(key, launch.source, { pipeline: this.onDevice[i] });
    return kernel.call(launch.output, args);
  }

  /** The texture of device data, under the extents a DeviceView reads it by. */
  private deviceArg(a: GpuJsDeviceData | DeviceView): { arg: DeviceHandle; rank: number } {
    const data = a instanceof DeviceView ? a.data : a;
    if (!this.ctx.holds(data))
      throw new Error('gpu.js: a kernel was handed device data of another context or released');
    const own = data.texture;
    const rank = own.output.length;
    if (a instanceof GpuJsDeviceData || a.readableAsIs()) return { arg: own, rank };
    const other = reshaped(own, a.dims);
    this.ctx.stats.reshapes++;
    this.handles.push(other);
    return { arg: other, rank };
  }

  /** Records what launch `i` returned. */
  finish(i: number, result: unknown): void {
    const { output } = this.plan.launches[i]!;
    if (this.onDevice[i]) {
      if (this.returned.has(i) && this.ctx.residentResults) {
        // The kernel renders into the same texture on its next call, so a result that
        // outlives this plan is copied (on the GPU) into a texture of its own.
        this.reads[i] = ownCopy(result as GLTextureHandle);
        return;
      }
      this.reads[i] = result as KernelArg;
      const handle = result as { type?: string; delete?: () => void };
      // WebGPU output buffers of this plan are released when it ends.
      if (handle.type === 'WebGPUBuffer' && handle.delete) this.handles.push(handle as never);
      return;
    }
    let total = 1;
    for (const d of output) total *= d;
    const flat = flatten(result, total);
    if (this.ctx.onGpu) this.ctx.stats.readbacks++;
    this.values[i] = flat;
    const [x = 1, y = 1, z = 1] = output;
    this.reads[i] = view(flat, x, y, z) as KernelArg;
  }

  /** The returned outputs: host arrays, or DeviceData owning their textures. */
  results(): KernelData[] {
    return this.plan.results.map((r) => {
      const host = this.values[r.step];
      if (host) return host;
      let total = 1;
      for (const d of r.output) total *= d;
      return this.ctx.deviceData(this.reads[r.step], total);
    });
  }

  /**
   * Drops this plan's own device handles (WebGPU output buffers, reshaped textures). Each
   * kernel keeps its own buffer for its next call; a handle still held would keep a buffer
   * it has outgrown alive.
   */
  release(): void {
    for (const h of this.handles) h.delete();
  }
}

/** Runs a plan's launches in order and returns its results (the Backend path). */
export function runPlan(ctx: GpuJsContext, plan: KernelPlan): KernelData[] {
  const state = new PlanState(ctx, plan);
  try {
    for (let i = 0; i < plan.launches.length; i++) state.finish(i, state.launch(i));
    return state.results();
  } finally {
    state.release();
  }
}

/**
 * Runs a plan awaiting each launch: gpu.js WebGPU kernels build asynchronously and
 * return Promises (of a buffer handle when pipelined, else of the read-back values).
 * Launches are issued in order, so a pipelined handle is only read by later launches.
 * Results are host arrays (resident results are for the synchronous Backend).
 */
export async function runPlanAsync(ctx: GpuJsContext, plan: KernelPlan): Promise<Float32Array[]> {
  const state = new PlanState(ctx, plan);
  try {
    for (let i = 0; i < plan.launches.length; i++) state.finish(i, await state.launch(i));
    return state.results() as Float32Array[];
  } finally {
    state.release();
  }
}
