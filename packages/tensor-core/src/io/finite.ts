import type { Tensor } from '../tensor/tensor';
import { SafetensorsError } from './errors';

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
    const i = firstNonFinite(t.data);
    if (i < 0) continue;
    const file = typeof fileOf === 'string' ? fileOf : fileOf(name);
    const at = unravel(i, t.shape);
    throw new SafetensorsError(
      `holds ${t.data[i]} at [${at.join(', ')}]; weights must be finite (the file is corrupt or comes from a run that diverged; --skip-finite-check skips this scan)`,
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
