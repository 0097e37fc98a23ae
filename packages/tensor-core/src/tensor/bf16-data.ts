import { decodeBf16 } from '../io/float16';
import type { DeviceData } from '../kernels/backend';
import type { Bf16Home } from '../kernels/bf16-home';
import { Tensor } from './tensor';

export type { Bf16Home };

/** A home in an ordinary array. */
export function arrayBf16Home(bits: Uint16Array): Bf16Home {
  return { bits: () => bits, free: () => {} };
}

/**
 * A tensor's values kept as the bfloat16 bits a checkpoint stored: half the bytes of
 * float32. It is device data to the tensor's storage, so kernels that widen as they read
 * (the fused decoder's) use the bits as they are, while the first host read (`.data`, any
 * op) widens them once to float32 and frees the bits: what the tensor holds never changes,
 * since widening a bfloat16 is exact.
 */
export class Bf16Data implements DeviceData {
  private home: Bf16Home | null;

  constructor(
    home: Bf16Home,
    readonly length: number,
  ) {
    this.home = home;
  }

  /** Where the bits live; throws once released. */
  get where(): Bf16Home {
    if (!this.home) throw new Error('Bf16Data: used after release');
    return this.home;
  }

  read(): Float32Array {
    return this.widen(0, new Float32Array(this.length));
  }

  /** Values [start, start + out.length) widened to float32 into `out` (one embedding row, say). */
  widen(start: number, out: Float32Array): Float32Array {
    const bits = this.where.bits().subarray(start, start + out.length);
    decodeBf16(bits, new Uint32Array(out.buffer, out.byteOffset, bits.length));
    return out;
  }

  release(): void {
    this.home?.free();
    this.home = null;
  }
}

/** A tensor over bfloat16 bits (an array, adopted, or another home). */
export function bf16Tensor(bits: Uint16Array | Bf16Home, shape: readonly number[]): Tensor {
  const home = bits instanceof Uint16Array ? arrayBf16Home(bits) : bits;
  return new Tensor(new Bf16Data(home, home.bits().length), shape);
}

/** The bfloat16 bits `t` still holds (not yet widened by a host read), else null. */
export function bf16DataOf(t: Tensor): Bf16Data | null {
  const d = t.deviceData;
  return d instanceof Bf16Data ? d : null;
}
