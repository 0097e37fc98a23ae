import type { LlamaForCausalLM, TextTokenizer } from '@t2/llama';
import { greedyAnswers } from '@t2/rl-reinforce';
import { families, sampleTask, type TaskFamily } from '@t2/tasks';

export interface FamilyAccuracy {
  family: string;
  category: string;
  heldOut: boolean;
  accuracy: number;
  n: number;
}

/** Test-split accuracy of the model on every task family, held-out ones included. */
export function familyAccuracies(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  opts: { n: number; seed: number; families?: readonly TaskFamily[] },
): FamilyAccuracy[] {
  model.eval();
  return (opts.families ?? families).map((f) => {
    const samples = sampleTask(f, { n: opts.n, seed: opts.seed, split: 'test' });
    const answers = greedyAnswers(
      model,
      tokenizer,
      samples.map((s) => s.prompt),
      { maxNewTokens: 16, batch: 32 },
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
