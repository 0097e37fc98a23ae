import {
  crossEntropy,
  fromArray,
  indexSelect,
  matmul,
  neg,
  noGrad,
  reshape,
  type Tensor,
  tidy,
} from '@t2/tensor-core';
import type { LlamaForCausalLM } from '../model/llama-model';

/** A prompt and the completion whose likelihood given the prompt is wanted. */
export interface ScoreItem {
  prompt: readonly number[];
  completion: readonly number[];
}

export interface CompletionLogits {
  /** Logits predicting each completion token, items one after another: [tokens, vocab]. */
  logits: Tensor;
  /** The completion token each row predicts. */
  targets: Int32Array;
  /** Which item each row belongs to. */
  itemOfRow: Int32Array;
}

/**
 * Teacher-forced logits at the completion positions only (the LM head runs on those rows
 * alone, which matters for large vocabularies). Items are right-padded into one batch;
 * differentiable when gradients are on.
 */
export function completionLogits(
  model: LlamaForCausalLM,
  items: readonly ScoreItem[],
): CompletionLogits {
  if (items.length === 0) throw new Error('completionLogits: no items');
  items.forEach((it, i) => {
    if (it.prompt.length === 0)
      throw new Error(`completionLogits: item ${i} has an empty prompt (start it with BOS)`);
  });
  // The last completion token is predicted, never fed.
  const inputs = items.map((it) => [...it.prompt, ...it.completion].slice(0, -1));
  const seq = Math.max(...inputs.map((r) => r.length));
  const ids = inputs.map((r) => [...r, ...new Array<number>(seq - r.length).fill(0)]);
  const mask = inputs.map((r) => ids[0]!.map((_, t) => (t < r.length ? 1 : 0)));
  const rowsIdx: number[] = [];
  const targets: number[] = [];
  const itemOfRow: number[] = [];
  items.forEach((it, i) => {
    it.completion.forEach((tok, j) => {
      rowsIdx.push(i * seq + it.prompt.length - 1 + j);
      targets.push(tok);
      itemOfRow.push(i);
    });
  });
  const anyPadding = inputs.some((r) => r.length < seq);
  const hidden = model.hiddenStates(ids, { attentionMask: anyPadding ? mask : undefined });
  const flat = reshape(hidden, [items.length * seq, hidden.shape[2]!]);
  const picked = indexSelect(flat, 0, rowsIdx);
  return {
    logits: model.logitsFromHidden(picked),
    targets: Int32Array.from(targets),
    itemOfRow: Int32Array.from(itemOfRow),
  };
}

/**
 * Σ_t log p(completion_t | prompt, completion_<t) per item, as a differentiable [items]
 * tensor (the REINFORCE objective). An empty completion scores 0.
 */
export function completionLogProbs(model: LlamaForCausalLM, items: readonly ScoreItem[]): Tensor {
  const totalTokens = items.reduce((s, it) => s + it.completion.length, 0);
  if (totalTokens === 0) return fromArray(new Float32Array(items.length), [items.length]);
  const { logits, targets, itemOfRow } = completionLogits(model, items);
  const tokenLogProbs = neg(crossEntropy(logits, targets, { reduction: 'none' }));
  // Sum per item as a product with a 0/1 membership matrix, which autograd already knows.
  const membership = new Float32Array(items.length * totalTokens);
  itemOfRow.forEach((item, r) => {
    membership[item * totalTokens + r] = 1;
  });
  return matmul(fromArray(membership, [items.length, totalTokens]), tokenLogProbs);
}

export interface CompletionScore {
  /** log p(completion | prompt), natural log. */
  logProb: number;
  /** log p of each completion token. */
  tokenLogProbs: number[];
}

/** Log-likelihoods of completions (no gradients), scored in batches of `batchSize` items. */
export function scoreCompletions(
  model: LlamaForCausalLM,
  items: readonly ScoreItem[],
  opts: { batchSize?: number } = {},
): CompletionScore[] {
  const batchSize = opts.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`scoreCompletions: batchSize must be ≥ 1, got ${batchSize}`);
  const out: CompletionScore[] = [];
  noGrad(() => {
    for (let start = 0; start < items.length; start += batchSize) {
      const chunk = items.slice(start, start + batchSize);
      if (chunk.every((it) => it.completion.length === 0)) {
        for (const _ of chunk) out.push({ logProb: 0, tokenLogProbs: [] });
        continue;
      }
      const values = tidy(() => {
        const { logits, targets } = completionLogits(model, chunk);
        return crossEntropy(logits, targets, { reduction: 'none' }).data.slice();
      });
      let r = 0;
      for (const it of chunk) {
        const tokenLogProbs = Array.from(values.subarray(r, r + it.completion.length), (v) => -v);
        r += it.completion.length;
        out.push({ logProb: tokenLogProbs.reduce((s, v) => s + v, 0), tokenLogProbs });
      }
    }
  });
  return out;
}
