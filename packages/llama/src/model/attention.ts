import {
  Linear,
  Module,
  permute,
  type Rng,
  reshape,
  scaledDotProductAttention,
  type Tensor,
} from '@t2/tensor-core';
import type { LlamaConfig } from './config';
import type { KVCache } from './kv-cache';
import { applyRotary, type Positions } from './rotary';

/**
 * A layer mapping [..., in] to [..., out]: a Linear, or an adapter wrapping one
 * (installed with `setSubmodule`), which the forward pass calls the same way.
 */
export type Projection = Module & { forward(x: Tensor): Tensor };

/** What every layer of one forward pass shares. */
export interface ForwardContext {
  invFreq: Float32Array;
  positions: Positions;
  /** Additive mask [batch, 1, 1, keys] blocking padded keys; causality is applied by the kernel. */
  keyMask?: Tensor;
  cache?: KVCache;
}

export interface LayerInit {
  rng?: Rng;
}

/** Multi-head self-attention with grouped-query key/value heads and rotary positions. */
export class LlamaAttention extends Module {
  q_proj: Projection;
  k_proj: Projection;
  v_proj: Projection;
  o_proj: Projection;
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;

  constructor(
    config: LlamaConfig,
    readonly layerIndex: number,
    init: LayerInit = {},
  ) {
    super();
    const { hiddenSize, numAttentionHeads, numKeyValueHeads, headDim } = config;
    this.numHeads = numAttentionHeads;
    this.numKeyValueHeads = numKeyValueHeads;
    this.headDim = headDim;
    const rng = init.rng;
    this.q_proj = this.registerModule(
      'q_proj',
      new Linear(hiddenSize, numAttentionHeads * headDim, { bias: config.qkvBias, rng }),
    );
    this.k_proj = this.registerModule(
      'k_proj',
      new Linear(hiddenSize, numKeyValueHeads * headDim, { bias: config.qkvBias, rng }),
    );
    this.v_proj = this.registerModule(
      'v_proj',
      new Linear(hiddenSize, numKeyValueHeads * headDim, { bias: config.qkvBias, rng }),
    );
    this.o_proj = this.registerModule(
      'o_proj',
      new Linear(numAttentionHeads * headDim, hiddenSize, { bias: config.oBias, rng }),
    );
  }

  /** x [batch, seq, hidden] → [batch, seq, hidden]. */
  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const [batch, seq] = x.shape as [number, number, number];
    const q = applyRotary(
      this.splitHeads(this.q_proj.forward(x), batch, seq, this.numHeads),
      ctx.invFreq,
      ctx.positions,
    );
    let k = applyRotary(
      this.splitHeads(this.k_proj.forward(x), batch, seq, this.numKeyValueHeads),
      ctx.invFreq,
      ctx.positions,
    );
    let v = this.splitHeads(this.v_proj.forward(x), batch, seq, this.numKeyValueHeads);
    if (ctx.cache) [k, v] = ctx.cache.update(this.layerIndex, k, v);
    // causal with more keys than queries lets query t see every cached key up to its own.
    const attended = scaledDotProductAttention(q, k, v, { causal: true, mask: ctx.keyMask });
    return this.o_proj.forward(this.mergeHeads(attended, batch, seq));
  }

  /** [batch, seq, heads·dim] → [batch, heads, seq, dim]. */
  private splitHeads(t: Tensor, batch: number, seq: number, heads: number): Tensor {
    // With one token the two layouts hold the same values in the same order.
    if (seq === 1) return reshape(t, [batch, heads, 1, this.headDim]);
    return permute(reshape(t, [batch, seq, heads, this.headDim]), [0, 2, 1, 3]);
  }

  private mergeHeads(t: Tensor, batch: number, seq: number): Tensor {
    if (seq === 1) return reshape(t, [batch, 1, this.numHeads * this.headDim]);
    return reshape(permute(t, [0, 2, 1, 3]), [batch, seq, this.numHeads * this.headDim]);
  }

  protected override onChildReplaced(name: string, replacement: Module): void {
    if (name === 'q_proj' || name === 'k_proj' || name === 'v_proj' || name === 'o_proj') {
      this[name] = replacement as Projection;
    }
  }
}
