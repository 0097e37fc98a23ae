import type { Tensor } from '../tensor/tensor';
import { isGradEnabled } from './grad-mode';

/**
 * Attaches a gradient rule to `out` when any input needs a gradient. `backward`
 * receives the gradient of `out` and returns one gradient per input (null to skip).
 */
export function record(
  out: Tensor,
  op: string,
  inputs: readonly Tensor[],
  backward: (grad: Tensor) => (Tensor | null)[],
): Tensor {
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.gradNode = { op, inputs, backward };
  }
  return out;
}
