import {
  type Backend,
  createJsBackend,
  type DeviceData,
  type HostBackend,
  type KernelData,
} from '@t2/tensor-core';

/**
 * A backend that behaves like a GPU one for the code above the kernels: every result is
 * device data, readable only by this backend's kernels, and the host gets values only
 * through `read()` — which it counts. The arithmetic is the js backend's, so results
 * must equal the js backend's bit for bit. Tests use it to show that ops, autograd and
 * models keep intermediates "on the device" until the end of a pass.
 */
export interface FakeDeviceBackend extends Backend {
  /** read() calls so far (GPU readbacks). */
  readonly readbacks: number;
  /** Host arrays handed to kernels so far (GPU uploads). */
  readonly uploads: number;
  /** Device data made and not yet released. */
  readonly live: number;
}

class FakeDeviceData implements DeviceData {
  released = false;
  constructor(
    readonly owner: object,
    private readonly values: Float32Array,
    private readonly counts: { readbacks: number; live: number },
  ) {
    counts.live++;
  }
  get length(): number {
    return this.values.length;
  }
  /** The values as the device's own kernels read them (no readback). */
  get deviceValues(): Float32Array {
    if (this.released) throw new Error('fake device data used after release');
    return this.values;
  }
  read(): Float32Array {
    this.counts.readbacks++;
    return Float32Array.from(this.deviceValues);
  }
  release(): void {
    if (this.released) return;
    this.released = true;
    this.counts.live--;
  }
}

export function createFakeDeviceBackend(): FakeDeviceBackend {
  const js: HostBackend = createJsBackend();
  const counts = { readbacks: 0, uploads: 0, live: 0 };
  const backend: Record<string, unknown> = {
    name: 'fake-device',
    holds: (d: DeviceData) => d instanceof FakeDeviceData && d.owner === backend && !d.released,
    get readbacks() {
      return counts.readbacks;
    },
    get uploads() {
      return counts.uploads;
    },
    get live() {
      return counts.live;
    },
  };
  const unwrap = (a: unknown): unknown => {
    if (a instanceof FakeDeviceData) {
      if (a.owner !== backend) throw new Error('fake device: another backend’s device data');
      return a.deviceValues;
    }
    if (a instanceof Float32Array) counts.uploads++;
    return a;
  };
  const wrap = (r: unknown): KernelData | KernelData[] => {
    if (r instanceof Float32Array) return new FakeDeviceData(backend, r, counts);
    return (r as Float32Array[]).map((x) => new FakeDeviceData(backend, x, counts));
  };
  for (const [name, fn] of Object.entries(js)) {
    if (typeof fn !== 'function') continue;
    backend[name] = (...args: unknown[]) =>
      wrap(
        (fn as (...a: unknown[]) => unknown)(
          ...args.map((a) => (Array.isArray(a) ? a.map(unwrap) : unwrap(a))),
        ),
      );
  }
  return backend as unknown as FakeDeviceBackend;
}
