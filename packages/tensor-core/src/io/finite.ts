import { bf16DataOf } from '../tensor/bf16-data';
import type { Tensor } from '../tensor/tensor';
import { SafetensorsError } from './errors';
import { bf16ToF32 } from './float16';

let enabled = true;

/**
 * Turns the non-finite scan of loaded weights and tensor files on or off (on by
 * default; a command-line `--skip-finite-check` turns it off for speed).
 */
export function setFiniteChecks(on: boolean): void {
  enabled = on;
}

export function finiteChecksEnabled(): boolean {
  return enabled;
}

/** Index of the first NaN or ±Infinity in `data`, or −1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    // x − x is 0 for every finite x and NaN for NaN and ±Infinity.
    if (x - x !== 0) return i;
  }
  return -1;
}

/** Index of the first NaN or ±Infinity among bfloat16 bits (exponent all ones), or −1. */
export function firstNonFiniteBf16(bits: Uint16Array): number {
  let i = 0;
  if (bits.byteOffset % 4 === 0) {
    // Two values per 32-bit word: x has a zero half exactly where a value's exponent is all
    // ones, and (x − 0x00010001) & ~x & 0x80008000 flags zero halves (the bits x can hold
    // are 0x7f80 per half, so no borrow crosses into a nonzero half).
    // Int32 throughout: a Uint32Array's words ≥ 2^31 would be doubles, three times slower.
    const words = new Int32Array(bits.buffer, bits.byteOffset, bits.length >> 1);
    const signs = 0x80008000 | 0;
    let w = 0;
    for (; w < words.length; w++) {
      const x = (words[w]! & 0x7f807f80) ^ 0x7f807f80;
      if (((x - 0x00010001) & ~x & signs) !== 0) break;
    }
    // The flagged word (or the odd last value) is resolved value by value below.
    i = 2 * w;
  }
  for (; i < bits.length; i++) if ((bits[i]! & 0x7f80) === 0x7f80) return i;
  return -1;
}

/**
 * Refuses tensors holding NaN or ±Infinity, naming the file, the tensor and the first bad
 * element: a NaN weight would otherwise give wrong (or silently NaN) results far from its
 * cause. `fileOf` names the file of each tensor (sharded checkpoints).
 */
export function assertFinite(
  tensors: Iterable<[string, Tensor]>,
  fileOf: string | ((name: string) => string),
): void {
  if (!enabled) return;
  for (const [name, t] of tensors) {
    // Bits kept as bfloat16 are scanned as they are (reading t.data would widen them).
    const bits = bf16DataOf(t)?.where.bits();
    const i = bits ? firstNonFiniteBf16(bits) : firstNonFinite(t.data);
    if (i < 0) continue;
    const file = typeof fileOf === 'string' ? fileOf : fileOf(name);
    const at = unravel(i, t.shape);
    const value = bits ? bf16ToF32(bits[i]!) : t.data[i];
    throw new SafetensorsError(
      `holds ${value} at [${at.join(', ')}]; weights must be finite (the file is corrupt or comes from a run that diverged; --skip-finite-check skips this scan)`,
      { file, tensor: name },
    );
  }
}

function unravel(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(0);
  let rest = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    out[d] = n > 0 ? rest % n : 0;
    rest = n > 0 ? Math.floor(rest / n) : 0;
  }
  return out;
}
