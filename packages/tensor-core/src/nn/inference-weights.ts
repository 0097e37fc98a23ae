import type { Tensor } from '../tensor/tensor';
import { Linear } from './layers';

/**
 * A layer that, outside autograd, computes exactly `x Wᵀ + b` for some W and b (a
 * wrapped layer with its current settings, say), and can hand them over so that a fused
 * inference path can run it like a Linear without calling `forward`.
 */
export interface InferenceWeights {
  /** W and b now; null while the layer is not a fixed linear map (e.g. dropout in training). */
  inferenceWeights(): { weight: Tensor; bias: Tensor | null } | null;
}

/**
 * W and b of a plain Linear or of a layer implementing `InferenceWeights`; null for
 * anything else (including subclasses of Linear, whose forward may differ) and for a
 * layer that cannot give them now.
 */
export function linearWeightsOf(m: unknown): { weight: Tensor; bias: Tensor | null } | null {
  if (m instanceof Linear && m.constructor === Linear) return { weight: m.weight, bias: m.bias };
  const candidate = m as Partial<InferenceWeights> | null;
  if (candidate && typeof candidate.inferenceWeights === 'function') {
    return candidate.inferenceWeights();
  }
  return null;
}
