import type { Backend, DeviceData, KernelData } from '../kernels/backend';
import { bufferPool } from '../kernels/buffer-pool';
import { assertValidShape, formatShape, type Shape, sizeOf } from './shape';

// Device memory of storage nobody disposed (tensors outside a tidy), and of a backend's
// saved state, is freed once its owner is garbage-collected; the GC cannot see GPU memory.
const deviceFinalizer = new FinalizationRegistry<DeviceData>((d) => d.release());

/**
 * Shared, reference-counted float32 data; views (reshape) share one. The values live on
 * the host, or as device data on the backend that computed them until the host reads
 * them: then they are read back once and the device copy is freed, so that writes
 * through `data` (optimizers) cannot leave a stale device copy behind.
 */
export class Storage {
  refs = 1;
  private host: Float32Array | null;
  private device: DeviceData | null;
  private disposed = false;
  readonly length: number;

  constructor(values: KernelData) {
    if (values instanceof Float32Array) {
      this.host = values;
      this.device = null;
    } else {
      this.host = null;
      this.device = values;
      deviceFinalizer.register(this, values, this);
    }
    this.length = values.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The device data, while the values are still only on the device. */
  get deviceData(): DeviceData | null {
    return this.device;
  }

  /** The values on the host, read back from the device the first time. */
  get data(): Float32Array | null {
    if (this.disposed) return null;
    if (!this.host && this.device) {
      this.host = this.device.read();
      this.dropDevice();
    }
    return this.host;
  }

  private dropDevice(): void {
    if (!this.device) return;
    deviceFinalizer.unregister(this);
    this.device.release();
    this.device = null;
  }

  release(): void {
    if (--this.refs === 0 && !this.disposed) {
      this.disposed = true;
      if (this.host) bufferPool.release(this.host);
      this.host = null;
      this.dropDevice();
    }
  }
}

/**
 * Frees `data` (a backend's saved state, such as attention's) once `owner` is
 * garbage-collected, when it is device data; host arrays need nothing.
 */
export function releaseWhenCollected(owner: object, data: KernelData): void {
  if (!(data instanceof Float32Array)) deviceFinalizer.register(owner, data);
}

/** How a tensor was computed: its inputs and the rule giving their gradients. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Gradients for each input (null where an input needs none), given the output's gradient. */
  readonly backward: (grad: Tensor) => (Tensor | null)[];
}

type Scope = Tensor[];

// Set by autograd/backward.ts; kept as a hook so this file does not import the ops.
let backwardImpl: ((root: Tensor, grad?: Tensor) => void) | null = null;
export function setBackwardImpl(fn: (root: Tensor, grad?: Tensor) => void): void {
  backwardImpl = fn;
}
const scopes: Scope[] = [];

let nextId = 0;

/** A dense float32 tensor, row-major. */
export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  requiresGrad = false;
  grad: Tensor | null = null;
  gradNode: GradNode | null = null;
  /** Set by nn.Module for trainable weights. */
  isParameter = false;
  name: string | undefined;
  private storage: Storage;
  private released = false;

  /** Host values, a backend's device data (see DeviceData), or another tensor's storage. */
  constructor(data: KernelData | Storage, shape: Shape) {
    assertValidShape(shape);
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.storage = data instanceof Storage ? data : new Storage(data);
    const len = this.storage.isDisposed ? undefined : this.storage.length;
    if (len !== this.size) {
      throw new Error(
        `Tensor: ${len} values do not fill shape ${formatShape(shape)} (${this.size})`,
      );
    }
    scopes[scopes.length - 1]?.push(this);
  }

  /**
   * The values, row-major, on the host (read back from the device if a GPU backend
   * computed them). Writing to them bypasses autograd (used by optimizers).
   */
  get data(): Float32Array {
    const d = this.released ? null : this.storage.data;
    if (!d) throw new Error(`Tensor ${this.describe()} was disposed`);
    return d;
  }

  /**
   * The values as `backend`'s kernels should read them: the device data when the
   * backend holds it (no readback), the host values otherwise.
   */
  kernelData(backend: Backend): KernelData {
    if (this.released || this.storage.isDisposed)
      throw new Error(`Tensor ${this.describe()} was disposed`);
    const device = this.storage.deviceData;
    if (device && backend.holds?.(device)) return device;
    return this.data;
  }

  /** The device data while the values are still only there (see `Storage`), else null. */
  get deviceData(): DeviceData | null {
    return this.released ? null : this.storage.deviceData;
  }

  /** Whether the values are still only on a device (not yet read back). */
  get onDevice(): boolean {
    return !this.released && this.storage.deviceData !== null;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.released || this.storage.isDisposed;
  }

  /** A tensor of another shape over the same values (no copy). */
  view(shape: Shape): Tensor {
    this.storage.refs++;
    return new Tensor(this.storage, shape);
  }

  item(): number {
    if (this.size !== 1)
      throw new Error(`item(): tensor ${this.describe()} has ${this.size} values`);
    return this.data[0]!;
  }

  /** Nested JS arrays, for printing and tests. */
  toArray(): unknown {
    const data = this.data;
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return data[offset];
      const out: unknown[] = [];
      const stride = sizeOf(this.shape.slice(dim + 1));
      for (let i = 0; i < this.shape[dim]!; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** A tensor with the same values that autograd treats as a constant. */
  detach(): Tensor {
    return this.view(this.shape);
  }

  /** Reverse-mode differentiation from this tensor (a scalar unless `grad` is given). */
  backward(grad?: Tensor): void {
    if (!backwardImpl) throw new Error('backward(): autograd is not loaded');
    backwardImpl(this, grad);
  }

  /** Marks this tensor as a leaf whose gradient `backward()` accumulates in `.grad`. */
  requireGrad(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }

  /** Returns the data to the buffer pool; using the tensor afterwards throws. */
  dispose(): void {
    if (!this.released) {
      this.released = true;
      this.storage.release();
    }
    this.grad?.dispose();
    this.grad = null;
    this.gradNode = null;
  }

  describe(): string {
    return `${this.name ? `'${this.name}' ` : ''}${formatShape(this.shape)}`;
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)})`;
  }
}

/**
 * Runs `fn` and disposes every tensor created inside it except the ones it returns
 * (a tensor, or an array/object of tensors), in the spirit of tfjs's `tidy`.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const keep = new Set<Tensor>();
  collectTensors(result, keep);
  for (const t of scope) {
    if (keep.has(t)) {
      scopes[scopes.length - 1]?.push(t);
    } else if (!t.isParameter) {
      t.dispose();
    }
  }
  return result;
}

/** Keeps a tensor alive past the enclosing `tidy`. */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of scopes) {
    const i = scope.indexOf(t);
    if (i >= 0) scope.splice(i, 1);
  }
  return t;
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, into);
  else if (value && typeof value === 'object' && !(value instanceof Promise)) {
    for (const v of Object.values(value)) collectTensors(v, into);
  }
}
