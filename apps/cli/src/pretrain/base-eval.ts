import { generateBatch, type LlamaForCausalLM, type TextTokenizer } from '@t2/llama';
import { families, sampleTask, type TaskFamily } from '@t2/tasks';
import { noGrad } from '@t2/tensor-core';

export interface FamilyAccuracy {
  family: string;
  category: string;
  heldOut: boolean;
  accuracy: number;
  n: number;
}

/** Greedy answers of the model for `prompts`, cut at the end of the answer line. */
export function greedyAnswers(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  prompts: readonly string[],
  maxNewTokens = 16,
  batchSize = 32,
): string[] {
  const out: string[] = [];
  model.eval();
  noGrad(() => {
    for (let i = 0; i < prompts.length; i += batchSize) {
      const ids = prompts.slice(i, i + batchSize).map((p) => tokenizer.encode(p));
      const res = generateBatch(model, ids, { maxNewTokens, tokenizer, stopStrings: ['\n'] });
      out.push(...res.map((r) => r.text ?? ''));
    }
  });
  return out;
}

/** Test-split accuracy of the model on every task family, held-out ones included. */
export function familyAccuracies(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  opts: { n: number; seed: number; families?: readonly TaskFamily[] },
): FamilyAccuracy[] {
  return (opts.families ?? families).map((f) => {
    const samples = sampleTask(f, { n: opts.n, seed: opts.seed, split: 'test' });
    const answers = greedyAnswers(
      model,
      tokenizer,
      samples.map((s) => s.prompt),
    );
    const correct = samples.filter((s, i) => f.reward(s.prompt, answers[i]!, s.answer) > 0).length;
    return {
      family: f.name,
      category: f.category,
      heldOut: f.heldOut,
      accuracy: correct / samples.length,
      n: samples.length,
    };
  });
}
