import { Module, type Tensor } from '@t2/tensor-core';

/**
 * Parameters keyed by adapter name, so a wrapped layer's state dict reads like PEFT's
 * (`q_proj.bone_block.default`).
 */
export class ParameterDict extends Module {
  constructor(entries: Iterable<[string, Tensor]> = []) {
    super();
    for (const [name, t] of entries) this.registerParameter(name, t, t.requiresGrad);
  }

  forward(): never {
    throw new Error('ParameterDict has no forward');
  }
}
