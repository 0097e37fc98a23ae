import type { DeviceData } from '../backend';
import { flatten } from './flatten';

/** A gpu.js device result: a GL texture (or WebGPU buffer) and its output extents. */
export interface DeviceHandle {
  readonly output: readonly number[];
  toArray(): unknown;
  delete(): void;
}

/** Device-side counters of a gpu.js context, for tests and diagnostics. */
export interface DeviceStats {
  /** Results copied from the GPU to the host (device data read, or a kernel returning an array). */
  readbacks: number;
  /** Host arrays handed to kernels (each is uploaded by gpu.js). */
  uploads: number;
  /** Device results handed to a kernel under other extents (no copy; see run-plan.ts). */
  reshapes: number;
}

/**
 * A kernel result kept on the device: a texture of its own (a GPU copy of what the
 * kernel rendered, see run-plan.ts, so the kernel's next call cannot overwrite it),
 * owned by this object until `release`.
 */
export class GpuJsDeviceData implements DeviceData {
  private handle: DeviceHandle | null;

  constructor(
    /** The context whose kernels made it (only they can read it), and its counters. */
    readonly owner: { readonly destroyed: boolean; readonly stats: DeviceStats },
    handle: DeviceHandle,
    readonly length: number,
  ) {
    this.handle = handle;
  }

  get released(): boolean {
    return this.handle === null;
  }

  /** The texture, for a kernel argument. */
  get texture(): DeviceHandle {
    if (!this.handle) throw new Error('gpu.js device data was used after it was released');
    return this.handle;
  }

  /** [x, y, z] as the shader indexes the texture (x fastest). */
  get dims(): [number, number, number] {
    const [x = 1, y = 1, z = 1] = this.texture.output;
    return [x, y, z];
  }

  read(): Float32Array {
    if (this.owner.destroyed)
      throw new Error(
        'gpu.js: the backend that computed this tensor was disposed; read tensors before disposing their backend',
      );
    const values = flatten(this.texture.toArray(), this.length);
    this.owner.stats.readbacks++;
    return values;
  }

  release(): void {
    this.handle?.delete();
    this.handle = null;
  }
}

/** Device data a kernel reads by [x, y, z] extents (the device form of `view`). */
export class DeviceView {
  constructor(
    readonly data: GpuJsDeviceData,
    readonly dims: readonly [number, number, number],
  ) {}

  /**
   * Whether the kernel can read the texture as it is: a 1-D read is the flat index
   * whatever the texture's extents; `a[y][x]` needs the same x extent, `a[z][y][x]`
   * the same x and y (gpu.js indexes x + X·(y + Y·z) with the texture's own X, Y).
   */
  readableAsIs(): boolean {
    const [x, y, z] = this.dims;
    if (y === 1 && z === 1) return true;
    const [tx, ty] = this.data.dims;
    return tx === x && (z === 1 || ty === y);
  }
}
