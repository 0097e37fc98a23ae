import { crossEntropy, reshape, type Tensor } from '@t2/tensor-core';
import type { Batch, CausalLM } from '../types';

/** Summed next-token cross-entropy over a batch's target positions (divide by the token count). */
export function causalLmLossSum(model: CausalLM, batch: Batch): Tensor {
  const logits = model.forward(batch.inputIds, { attentionMask: batch.attentionMask });
  const vocab = logits.shape[logits.ndim - 1]!;
  return crossEntropy(reshape(logits, [-1, vocab]), batch.targets.flat(), { reduction: 'sum' });
}
