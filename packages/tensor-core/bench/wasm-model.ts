/**
 * A minimal LLaMA (llama2.c's stories260K shapes by default) built from tensor-core
 * ops, for the wasm benchmarks: RMSNorm, q/k/v/o projections, rotary embedding,
 * causal grouped-query attention, SwiGLU MLP, tied LM head, cross-entropy.
 */
import * as t from '../src/index';

export interface TinyLlamaConfig {
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  hidden: number;
  vocab: number;
}

export const STORIES_260K: TinyLlamaConfig = {
  dim: 64,
  layers: 5,
  heads: 8,
  kvHeads: 4,
  hidden: 172,
  vocab: 512,
};

/** Keys and values seen so far, per layer, for incremental decoding. */
export interface KvCache {
  k: (t.Tensor | null)[];
  v: (t.Tensor | null)[];
  length: number;
}

class Block extends t.Module {
  attnNorm: t.RMSNorm;
  wq: t.Linear;
  wk: t.Linear;
  wv: t.Linear;
  wo: t.Linear;
  ffnNorm: t.RMSNorm;
  w1: t.Linear;
  w2: t.Linear;
  w3: t.Linear;

  constructor(
    readonly c: TinyLlamaConfig,
    rng: t.Rng,
  ) {
    super();
    const hd = c.dim / c.heads;
    const lin = (i: number, o: number) => new t.Linear(i, o, { bias: false, rng });
    this.attnNorm = this.registerModule('attnNorm', new t.RMSNorm(c.dim, 1e-5));
    this.wq = this.registerModule('wq', lin(c.dim, c.heads * hd));
    this.wk = this.registerModule('wk', lin(c.dim, c.kvHeads * hd));
    this.wv = this.registerModule('wv', lin(c.dim, c.kvHeads * hd));
    this.wo = this.registerModule('wo', lin(c.heads * hd, c.dim));
    this.ffnNorm = this.registerModule('ffnNorm', new t.RMSNorm(c.dim, 1e-5));
    this.w1 = this.registerModule('w1', lin(c.dim, c.hidden));
    this.w2 = this.registerModule('w2', lin(c.hidden, c.dim));
    this.w3 = this.registerModule('w3', lin(c.dim, c.hidden));
  }

  forward(x: t.Tensor, offset: number, cache: KvCache | null, layer: number): t.Tensor {
    const [batch, seq] = x.shape as [number, number, number];
    const { heads, kvHeads, dim } = this.c;
    const hd = dim / heads;
    const split = (p: t.Tensor, h: number) => t.transpose(t.reshape(p, [batch, seq, h, hd]), 1, 2);
    const h = this.attnNorm.forward(x);
    const q = t.rope(split(this.wq.forward(h), heads), { offset });
    let k = t.rope(split(this.wk.forward(h), kvHeads), { offset });
    let v = split(this.wv.forward(h), kvHeads);
    if (cache) {
      const pk = cache.k[layer];
      const pv = cache.v[layer];
      if (pk && pv) {
        k = t.concat([pk, k], 2);
        v = t.concat([pv, v], 2);
        pk.dispose();
        pv.dispose();
      }
      cache.k[layer] = t.keep(k);
      cache.v[layer] = t.keep(v);
    }
    const a = t.scaledDotProductAttention(q, k, v, { causal: true });
    const merged = t.reshape(t.transpose(a, 1, 2), [batch, seq, dim]);
    const x2 = t.add(x, this.wo.forward(merged));
    const g = this.ffnNorm.forward(x2);
    const mlp = this.w2.forward(t.mul(t.silu(this.w1.forward(g)), this.w3.forward(g)));
    return t.add(x2, mlp);
  }
}

export class TinyLlama extends t.Module {
  embed: t.Embedding;
  blocks: t.ModuleList;
  norm: t.RMSNorm;

  constructor(
    readonly c: TinyLlamaConfig,
    rng: t.Rng,
  ) {
    super();
    this.embed = this.registerModule('embed', new t.Embedding(c.vocab, c.dim, { rng, std: 0.02 }));
    this.blocks = this.registerModule(
      'blocks',
      new t.ModuleList(Array.from({ length: c.layers }, () => new Block(c, rng))),
    );
    this.norm = this.registerModule('norm', new t.RMSNorm(c.dim, 1e-5));
  }

  /** Logits [batch, seq, vocab] for token ids [batch·seq]. */
  forward(ids: number[], batch: number, seq: number, cache: KvCache | null = null): t.Tensor {
    const offset = cache?.length ?? 0;
    let x = this.embed.forward(ids, [batch, seq]);
    let i = 0;
    for (const block of this.blocks) x = (block as Block).forward(x, offset, cache, i++);
    if (cache) cache.length += seq;
    // The LM head shares the embedding matrix, as in llama2.c's stories models.
    return t.matmul(this.norm.forward(x), this.embed.weight, { transB: true });
  }
}

/** One AdamW training step on next-token prediction; returns the loss. */
export function trainStep(
  model: TinyLlama,
  opt: t.Optimizer,
  ids: number[],
  targets: number[],
  batch: number,
  seq: number,
): number {
  return t.tidy(() => {
    opt.zeroGrad();
    const loss = t.crossEntropy(model.forward(ids, batch, seq), targets);
    loss.backward();
    opt.step();
    return loss.item();
  });
}

/** Greedy decoding of `count` tokens after `prompt`, with a KV cache. */
export function generate(model: TinyLlama, prompt: number[], count: number): number[] {
  const cache: KvCache = { k: [], v: [], length: 0 };
  const out: number[] = [];
  t.noGrad(() => {
    let input = prompt;
    for (let i = 0; i < count; i++) {
      const next = t.tidy(() => {
        const logits = model.forward(input, 1, input.length, cache);
        const last = t.narrow(logits, 1, input.length - 1, 1);
        return t.argmax(last, -1).data[0]!;
      });
      out.push(next);
      input = [next];
    }
  });
  for (const k of [...cache.k, ...cache.v]) k?.dispose();
  return out;
}
