import { Linear, Module, mul, silu, type Tensor } from '@t2/tensor-core';
import type { LayerInit, Projection } from './attention';
import type { LlamaConfig } from './config';

/** SwiGLU feed-forward: down(silu(gate(x)) ⊙ up(x)). */
export class LlamaMLP extends Module {
  gate_proj: Projection;
  up_proj: Projection;
  down_proj: Projection;

  constructor(config: LlamaConfig, init: LayerInit = {}) {
    super();
    const { hiddenSize, intermediateSize, mlpBias: bias } = config;
    const rng = init.rng;
    this.gate_proj = this.registerModule(
      'gate_proj',
      new Linear(hiddenSize, intermediateSize, { bias, rng }),
    );
    this.up_proj = this.registerModule(
      'up_proj',
      new Linear(hiddenSize, intermediateSize, { bias, rng }),
    );
    this.down_proj = this.registerModule(
      'down_proj',
      new Linear(intermediateSize, hiddenSize, { bias, rng }),
    );
  }

  forward(x: Tensor): Tensor {
    return this.down_proj.forward(mul(silu(this.gate_proj.forward(x)), this.up_proj.forward(x)));
  }

  protected override onChildReplaced(name: string, replacement: Module): void {
    if (name === 'gate_proj' || name === 'up_proj' || name === 'down_proj')
      this[name] = replacement as Projection;
  }
}
