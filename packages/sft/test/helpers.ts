import * as t from '@t2/tensor-core';
import type { CausalLM, SftTokenizer } from '../src/index';

/** Characters as tokens; id 0 pads, 1 is BOS, 2 is EOS. */
export function charTokenizer(alphabet: string): SftTokenizer & { decode(ids: number[]): string } {
  const chars = [...alphabet];
  return {
    bosTokenId: 1,
    eosTokenId: 2,
    padTokenId: 0,
    encode(text, opts = {}) {
      const ids = [...text].map((c) => {
        const i = chars.indexOf(c);
        if (i < 0) throw new Error(`unknown char ${c}`);
        return i + 3;
      });
      return opts.addSpecialTokens === false ? ids : [1, ...ids];
    },
    decode: (ids) => ids.map((i) => (i >= 3 ? chars[i - 3] : '')).join(''),
    applyChatTemplate(messages, opts = {}) {
      const body = messages.map((m) => `${m.role[0]}:${m.content};`).join('');
      return opts.addGenerationPrompt ? `${body}a:` : body;
    },
  };
}

/** A small causal LM: embeddings, one causal attention layer, a head. */
export class TinyLM extends t.Module implements CausalLM {
  embed: t.Embedding;
  qkv: t.Linear;
  head: t.Linear;
  constructor(
    vocab: number,
    readonly dim: number,
    seed = 0,
  ) {
    super();
    const rng = new t.Rng(seed);
    this.embed = this.registerModule('embed', new t.Embedding(vocab, dim, { rng, std: 0.3 }));
    this.qkv = this.registerModule('qkv', new t.Linear(dim, 3 * dim, { bias: false, rng }));
    this.head = this.registerModule('head', new t.Linear(dim, vocab, { rng }));
  }
  forward(
    ids: readonly (readonly number[])[],
    opts: { attentionMask?: readonly (readonly number[])[] } = {},
  ): t.Tensor {
    const b = ids.length;
    const s = ids[0]!.length;
    const h = this.embed.forward(ids.flat(), [b, s]);
    const [q, k, v] = t
      .split(this.qkv.forward(h), 3, -1)
      .map((p) => t.reshape(p, [b, 1, s, this.dim]));
    const mask = opts.attentionMask
      ? t.fromArray(
          opts.attentionMask.flat().map((m) => (m ? 0 : -1e9)),
          [b, 1, 1, s],
        )
      : undefined;
    const a = t.scaledDotProductAttention(t.rope(q!), t.rope(k!), v!, { causal: true, mask });
    return this.head.forward(t.add(h, t.reshape(a, [b, s, this.dim])));
  }
}
