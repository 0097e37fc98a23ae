import { add, Module, RMSNorm, type Tensor } from '@t2/tensor-core';
import { type ForwardContext, type LayerInit, LlamaAttention } from './attention';
import type { LlamaConfig } from './config';
import { LlamaMLP } from './mlp';

type Norm = Module & { forward(x: Tensor): Tensor };

/** Pre-norm block: x + attn(norm(x)), then h + mlp(norm(h)). */
export class LlamaDecoderLayer extends Module {
  self_attn: LlamaAttention;
  mlp: LlamaMLP;
  input_layernorm: Norm;
  post_attention_layernorm: Norm;

  constructor(config: LlamaConfig, layerIndex: number, init: LayerInit = {}) {
    super();
    this.self_attn = this.registerModule('self_attn', new LlamaAttention(config, layerIndex, init));
    this.mlp = this.registerModule('mlp', new LlamaMLP(config, init));
    this.input_layernorm = this.registerModule(
      'input_layernorm',
      new RMSNorm(config.hiddenSize, config.rmsNormEps),
    );
    this.post_attention_layernorm = this.registerModule(
      'post_attention_layernorm',
      new RMSNorm(config.hiddenSize, config.rmsNormEps),
    );
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const h = add(x, this.self_attn.forward(this.input_layernorm.forward(x), ctx));
    return add(h, this.mlp.forward(this.post_attention_layernorm.forward(h)));
  }

  protected override onChildReplaced(name: string, replacement: Module): void {
    if (name === 'self_attn') this.self_attn = replacement as LlamaAttention;
    else if (name === 'mlp') this.mlp = replacement as LlamaMLP;
    else if (name === 'input_layernorm' || name === 'post_attention_layernorm')
      this[name] = replacement as Norm;
  }
}
