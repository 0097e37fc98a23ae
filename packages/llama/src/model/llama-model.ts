import {
  Embedding,
  fromArray,
  Linear,
  Module,
  ModuleList,
  matmul,
  narrow,
  RMSNorm,
  type Rng,
  type Tensor,
} from '@t2/tensor-core';
import type { ForwardContext, LayerInit, Projection } from './attention';
import type { LlamaConfig } from './config';
import { LlamaDecoderLayer } from './decoder-layer';
import { KVCache } from './kv-cache';
import { type Positions, rotaryForConfig } from './rotary';

export interface ForwardOptions {
  /**
   * 1 for a real token, 0 for padding, per row. Without a cache it covers the whole
   * input; with a cache it covers only the new tokens (the cache remembers the rest).
   */
  attentionMask?: readonly (readonly number[])[];
  /** Decoding state: keys and values of earlier tokens, extended by this call. */
  cache?: KVCache;
  /** Compute logits for the last position only ([batch, 1, vocab]), as decoding needs. */
  lastOnly?: boolean;
}

export interface ModelInit {
  /** Generator for random initial weights. */
  rng?: Rng;
  /**
   * Called with each embedding, layer and norm right after it is built, so a loader can
   * swap checkpoint tensors in one layer at a time instead of holding two copies.
   */
  adopt?: (module: Module, prefix: string) => void;
}

/** The decoder stack: embed_tokens → layers → norm (Hugging Face's `LlamaModel`). */
export class LlamaModel extends Module {
  embed_tokens: Embedding;
  layers: ModuleList<LlamaDecoderLayer>;
  norm: Module & { forward(x: Tensor): Tensor };

  constructor(config: LlamaConfig, init: ModelInit = {}) {
    super();
    const layerInit: LayerInit = { rng: init.rng };
    this.embed_tokens = this.registerModule(
      'embed_tokens',
      new Embedding(config.vocabSize, config.hiddenSize, { rng: init.rng, std: 0.02 }),
    );
    init.adopt?.(this.embed_tokens, 'model.embed_tokens.');
    this.layers = this.registerModule('layers', new ModuleList<LlamaDecoderLayer>());
    for (let i = 0; i < config.numHiddenLayers; i++) {
      const layer = new LlamaDecoderLayer(config, i, layerInit);
      init.adopt?.(layer, `model.layers.${i}.`);
      this.layers.push(layer);
    }
    this.norm = this.registerModule('norm', new RMSNorm(config.hiddenSize, config.rmsNormEps));
    init.adopt?.(this.norm, 'model.norm.');
  }

  /** Final-norm hidden states [batch, seq, hidden] of embedded tokens. */
  forward(x: Tensor, ctx: ForwardContext): Tensor {
    let h = x;
    for (const layer of this.layers) h = layer.forward(h, ctx);
    return this.norm.forward(h);
  }

  protected override onChildReplaced(name: string, replacement: Module): void {
    if (name === 'embed_tokens') this.embed_tokens = replacement as Embedding;
    else if (name === 'norm') this.norm = replacement as Module & { forward(x: Tensor): Tensor };
    else if (name === 'layers') this.layers = replacement as ModuleList<LlamaDecoderLayer>;
  }
}

/**
 * A LLaMA-family causal language model with Hugging Face module names
 * (`model.layers.3.self_attn.q_proj`), so state dicts and adapter targets match the
 * checkpoints. `lm_head` is null when the head is tied to the embeddings.
 */
export class LlamaForCausalLM extends Module {
  readonly model: LlamaModel;
  lm_head: Projection | null;
  /** Rotary inverse frequencies, computed once. */
  readonly invFreq: Float32Array;

  constructor(
    readonly config: LlamaConfig,
    init: ModelInit = {},
  ) {
    super();
    this.invFreq = rotaryForConfig(config);
    this.model = this.registerModule('model', new LlamaModel(config, init));
    if (config.tieWordEmbeddings) {
      this.lm_head = null;
    } else {
      const head = new Linear(config.hiddenSize, config.vocabSize, { bias: false, rng: init.rng });
      init.adopt?.(head, 'lm_head.');
      this.lm_head = this.registerModule('lm_head', head);
    }
  }

  /** Logits [batch, seq, vocab] (or [batch, 1, vocab] with lastOnly) for token ids [batch][seq]. */
  forward(inputIds: readonly (readonly number[])[], opts: ForwardOptions = {}): Tensor {
    const hidden = this.hiddenStates(inputIds, opts);
    const seq = hidden.shape[1]!;
    return this.logitsFromHidden(opts.lastOnly && seq > 1 ? narrow(hidden, 1, seq - 1, 1) : hidden);
  }

  /** Final-norm hidden states [batch, seq, hidden]; `forward` applies the LM head to them. */
  hiddenStates(inputIds: readonly (readonly number[])[], opts: ForwardOptions = {}): Tensor {
    const { batch, seq, flat } = this.checkIds(inputIds);
    const mask = opts.attentionMask ? this.checkMask(opts.attentionMask, batch, seq) : null;
    const cache = opts.cache;
    if (cache && cache.numLayers !== this.config.numHiddenLayers) {
      throw new Error(
        `forward: the cache has ${cache.numLayers} layers, the model ${this.config.numHiddenLayers}`,
      );
    }
    const past = cache?.length ?? 0;
    if (past + seq > this.config.maxPositionEmbeddings) {
      throw new Error(
        `forward: ${past + seq} positions exceed max_position_embeddings ${this.config.maxPositionEmbeddings}`,
      );
    }
    const fullMask = cache ? cache.maskWith(mask, seq) : mask;
    const ctx: ForwardContext = {
      invFreq: this.invFreq,
      positions: positionsFor(batch, seq, mask, cache),
      keyMask: fullMask ? keyMaskTensor(fullMask) : undefined,
      cache,
    };
    const x = this.model.embed_tokens.forward(flat, [batch, seq]);
    const hidden = this.model.forward(x, ctx);
    cache?.commit(seq, mask);
    return hidden;
  }

  /** The LM head: tied embeddings or lm_head. */
  logitsFromHidden(hidden: Tensor): Tensor {
    if (this.lm_head) return this.lm_head.forward(hidden);
    return matmul(hidden, this.model.embed_tokens.weight, { transB: true });
  }

  createKVCache(batch = 1): KVCache {
    return new KVCache(this.config.numHiddenLayers, batch);
  }

  protected override onChildReplaced(name: string, replacement: Module): void {
    if (name === 'lm_head') this.lm_head = replacement as Projection;
    else if (name === 'model') throw new Error("LlamaForCausalLM: 'model' cannot be replaced");
  }

  private checkIds(ids: readonly (readonly number[])[]): {
    batch: number;
    seq: number;
    flat: Int32Array;
  } {
    const batch = ids.length;
    if (batch === 0) throw new Error('forward: no input rows');
    const seq = ids[0]!.length;
    if (seq === 0) throw new Error('forward: empty input row');
    const flat = new Int32Array(batch * seq);
    const vocab = this.config.vocabSize;
    for (let b = 0; b < batch; b++) {
      const row = ids[b]!;
      if (row.length !== seq)
        throw new Error(`forward: row ${b} has ${row.length} tokens, row 0 has ${seq} (pad them)`);
      for (let t = 0; t < seq; t++) {
        const id = row[t]!;
        if (!Number.isInteger(id) || id < 0 || id >= vocab) {
          throw new Error(
            `forward: token id ${id} at row ${b}, position ${t} is outside the vocabulary [0, ${vocab})`,
          );
        }
        flat[b * seq + t] = id;
      }
    }
    return { batch, seq, flat };
  }

  private checkMask(mask: readonly (readonly number[])[], batch: number, seq: number): number[][] {
    if (mask.length !== batch || mask.some((r) => r.length !== seq)) {
      throw new Error(`forward: attentionMask must be ${batch} rows of ${seq} entries`);
    }
    return mask.map((r) => r.map((m) => (m ? 1 : 0)));
  }
}

/** Positions count real tokens only, so left-padded rows start at 0 like unpadded ones. */
function positionsFor(
  batch: number,
  seq: number,
  mask: number[][] | null,
  cache?: KVCache,
): Positions {
  const start = cache?.nextPosition;
  const uniformStart = !start || start.every((p) => p === start[0]);
  const padded = mask?.some((r) => r.some((m) => !m)) ?? false;
  if (!padded && uniformStart) return { offset: start ? start[0]! : 0 };
  const perRow = new Int32Array(batch * seq);
  for (let b = 0; b < batch; b++) {
    let p = start ? start[b]! : 0;
    for (let t = 0; t < seq; t++) {
      // A padding entry takes the position of the next real token; it is never attended to.
      perRow[b * seq + t] = p;
      if (!mask || mask[b]![t]) p++;
    }
  }
  return { perRow };
}

/** Additive [batch, 1, 1, keys] mask: 0 for real tokens, −∞ for padding. */
function keyMaskTensor(rows: number[][]): Tensor | undefined {
  if (rows.every((r) => r.every((m) => m))) return undefined;
  const batch = rows.length;
  const keys = rows[0]!.length;
  const data = new Float32Array(batch * keys);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < keys; j++) data[b * keys + j] = rows[b]![j] ? 0 : Number.NEGATIVE_INFINITY;
  }
  return fromArray(data, [batch, 1, 1, keys]);
}

/** A fresh decoding cache for `batch` rows. */
export function createKVCache(model: LlamaForCausalLM, batch = 1): KVCache {
  return model.createKVCache(batch);
}
