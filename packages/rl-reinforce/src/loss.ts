import { completionLogits, type LlamaForCausalLM, type ScoreItem } from '@t2/llama';
import {
  add,
  crossEntropy,
  exp,
  fromArray,
  logSoftmax,
  mul,
  noGrad,
  sub,
  sum,
  type Tensor,
} from '@t2/tensor-core';

export interface PolicyLossOptions {
  /** Per-sample weights of −Σ log p (the shaped rewards), one per item. */
  rewards: ArrayLike<number>;
  /** Weight of KL(p_base ‖ p) summed over each answer's tokens. */
  klCoeff: number;
  /** Runs `fn` on the base model (adapters disabled); required when klCoeff > 0. */
  withBase?: <T>(fn: () => T) => T;
}

export interface PolicyLoss {
  /** mean_b [ −(Σ_t log p(a_t)) · r_b + klCoeff · KL_b ], differentiable. */
  loss: Tensor;
  /** Σ_t log p(a_t | prompt, a_<t) per sample. */
  logProbs: Float64Array;
  /** KL(p_base ‖ p) summed over each sample's answer tokens (zeros when not computed). */
  kl: Float64Array;
}

/**
 * The REINFORCE loss of the Transformer² reference: per sample
 * `−(Σ_t log p(a_t | prompt, a_<t)) · r`, plus `klCoeff · Σ_t KL(p_base,t ‖ p_t)` over the
 * answer tokens, averaged over the batch. Only answer positions reach the LM head. The KL
 * runs from the base model to the adapted one, as the reference's
 * `F.kl_div(log_probs, ref_log_probs, log_target=True)` computes it: Σ p_base (log p_base − log p).
 */
export function policyLoss(
  model: LlamaForCausalLM,
  items: readonly ScoreItem[],
  opts: PolicyLossOptions,
): PolicyLoss {
  const B = items.length;
  if (opts.rewards.length !== B)
    throw new Error(`policyLoss: ${opts.rewards.length} rewards for ${B} samples`);
  if (items.every((it) => it.completion.length === 0))
    throw new Error('policyLoss: every answer is empty');
  const { logits, targets, itemOfRow } = completionLogits(model, items);
  const tokenNll = crossEntropy(logits, targets, { reduction: 'none' }); // [tokens]
  // Each token carries its sample's reward / B, so Σ over tokens is the batch mean of Σ_t.
  const weights = Float32Array.from(itemOfRow, (i) => opts.rewards[i]! / B);
  let loss = sum(mul(tokenNll, fromArray(weights)));
  const logProbs = new Float64Array(B);
  itemOfRow.forEach((i, r) => {
    logProbs[i]! -= tokenNll.data[r]!;
  });
  const kl = new Float64Array(B);
  if (opts.klCoeff > 0) {
    if (!opts.withBase)
      throw new Error('policyLoss: klCoeff > 0 needs withBase for the base-model pass');
    const baseLogp = noGrad(() =>
      opts.withBase!(() => logSoftmax(completionLogits(model, items).logits)),
    );
    const logp = logSoftmax(logits);
    const tokenKl = sum(mul(exp(baseLogp), sub(baseLogp, logp)), -1); // [tokens]
    itemOfRow.forEach((i, r) => {
      kl[i]! += tokenKl.data[r]!;
    });
    loss = add(loss, mul(sum(tokenKl), opts.klCoeff / B));
  }
  return { loss, logProbs, kl };
}
