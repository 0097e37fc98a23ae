import { generateBatch, type LlamaForCausalLM, type TextTokenizer } from '@t2/llama';
import type { Sample, TaskFamily } from '@t2/tasks';

/** Task answers are at most 5 characters; with the newline that ends them this leaves room. */
export const ANSWER_TOKENS = 8;

/** Greedy accuracy on validation problems, scored by the family's own reward. */
export function accuracy(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  family: TaskFamily,
  samples: readonly Sample[],
): number {
  if (samples.length === 0) return Number.NaN;
  model.eval();
  const results = generateBatch(
    model,
    samples.map((s) => tokenizer.encode(s.prompt)),
    { maxNewTokens: ANSWER_TOKENS, stopStrings: ['\n'], tokenizer },
  );
  let correct = 0;
  results.forEach((r, i) => {
    const s = samples[i]!;
    if (family.reward(s.prompt, r.text ?? '', s.answer) > 0) correct++;
  });
  return correct / samples.length;
}
