import { div, fromArray, matmul, mul, sigmoid, sum, type Tensor } from '@t2/tensor-core';
import type { SvfFactors } from './factors';

/** The expert mask of the reference implementation: `m = sigmoid(z) · maxMult`. */
export function maskFromZ(z: Tensor, maxMult: number): Tensor {
  const m = sigmoid(z);
  return maxMult === 1 ? m : mul(m, maxMult);
}

/** The same mask on plain numbers (for cache keys and mixing, outside autograd). */
export function maskValues(z: ArrayLike<number>, maxMult: number): Float32Array {
  const m = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) m[i] = maxMult / (1 + Math.exp(-z[i]!));
  return m;
}

/**
 * `W' = U diag(σ ⊙ m) Vᵀ · (Σσ / Σ(σ ⊙ m))`, through recorded ops so that a mask that
 * depends on a trainable `z` receives its gradient. The sum ratio keeps the scale of W.
 */
export function composeWeight(factors: SvfFactors, mask: Tensor): Tensor {
  const { U, V } = factors;
  return matmul(mul(U, scaledValues(factors, mask)), V, { transB: true });
}

/** σ ⊙ m · Σσ/Σ(σ⊙m): the diagonal of W' between U and Vᵀ. */
function scaledValues(factors: SvfFactors, mask: Tensor): Tensor {
  const s = factors.singularValues;
  if (mask.ndim !== 1 || mask.size !== s.size) {
    throw new Error(
      `svf: mask has shape [${mask.shape.join(', ')}], the weight has ${s.size} singular values`,
    );
  }
  const masked = mul(s, mask);
  return mul(masked, div(sum(s), sum(masked)));
}

/**
 * `x W'ᵀ` as `((x V) ⊙ scaled) Uᵀ`, without forming W': while z trains, W' would be formed
 * (out·in·k multiply-adds) and differentiated (another full out × in gradient) on every
 * forward; applied through its factors, a batch of T tokens costs T·k·(in + out) each way.
 * Same value as `matmul(x, composeWeight(…), { transB: true })` up to float rounding.
 */
export function applyComposed(x: Tensor, factors: SvfFactors, mask: Tensor): Tensor {
  const { U, V } = factors;
  return matmul(mul(matmul(x, V), scaledValues(factors, mask)), U, { transB: true });
}

/** `composeWeight` for a fixed mask given as numbers. */
export function composeWeightFromMask(factors: SvfFactors, mask: ArrayLike<number>): Tensor {
  return composeWeight(factors, fromArray(mask, [mask.length]));
}
