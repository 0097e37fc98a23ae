import { add, type InferenceWeights, Module, matmul, type Tensor } from '@t2/tensor-core';

/**
 * A Linear layer that computes with a fixed, already composed weight W': what the runtime
 * swaps in for an SVF layer, so that switching back to a cached mixture costs no
 * recomposition. Like the SVF layer it stands in for, it registers the base `weight` and
 * `bias` under their own names (frozen), so the model's state dict stays the base model's.
 */
export class ComposedLinear extends Module implements InferenceWeights {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(
    base: { weight: Tensor; bias: Tensor | null },
    /** W' (the base weight itself for the base model). */
    readonly composed: Tensor,
    /** Module path of the layer it stands in for, for messages. */
    readonly path: string,
  ) {
    super();
    if (base.weight.ndim !== 2)
      throw new Error(
        `ComposedLinear '${path}': weight must be 2-D, got [${base.weight.shape.join(', ')}]`,
      );
    if (composed.shape.join(',') !== base.weight.shape.join(',')) {
      throw new Error(
        `ComposedLinear '${path}': composed weight [${composed.shape.join(', ')}] differs from the base weight [${base.weight.shape.join(', ')}]`,
      );
    }
    [this.outFeatures, this.inFeatures] = base.weight.shape as [number, number];
    this.weight = this.registerParameter('weight', base.weight, false);
    this.bias = base.bias ? this.registerParameter('bias', base.bias, false) : null;
  }

  /** W' and b, so that fused decoding runs this layer like a Linear. */
  inferenceWeights(): { weight: Tensor; bias: Tensor | null } {
    return { weight: this.composed, bias: this.bias };
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(
        `ComposedLinear '${this.path}' (${this.inFeatures}→${this.outFeatures}): input [${x.shape.join(', ')}] has the wrong last axis`,
      );
    }
    const y = matmul(x, this.composed, { transB: true });
    return this.bias ? add(y, this.bias) : y;
  }
}
