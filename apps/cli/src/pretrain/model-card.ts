import type { LlamaConfig } from '@t2/llama';
import type { FamilyAccuracy } from './base-eval';

export interface ModelCardInput {
  name: string;
  command: string;
  config: LlamaConfig;
  parameters: number;
  corpus: { problems: number; classification: number; sequences: number; seqLength: number };
  training: {
    steps: number;
    batch: number;
    lr: number;
    seed: number;
    finalLoss: number;
    evalLoss: number | null;
    wallSeconds: number;
    tokensPerSecond: number;
    backend: string;
  };
  accuracy: FamilyAccuracy[];
  date: string;
}

/** The model card (README.md) of a model made by `t2 pretrain`: what it is and how to remake it. */
export function modelCard(c: ModelCardInput): string {
  const rows = c.accuracy
    .map(
      (a) =>
        `| ${a.family} | ${a.category} | ${a.heldOut ? 'yes' : 'no'} | ${(100 * a.accuracy).toFixed(1)}% | ${a.n} |`,
    )
    .join('\n');
  return `# ${c.name}

A ${(c.parameters / 1e6).toFixed(2)}M-parameter LLaMA-architecture model pretrained by t2's own code
on the @t2/tasks mixture, with a character-level tokenizer. It is the base model that
Transformer²'s SVF experts adapt; it is deliberately small and imperfect, so experts have
room to help. License: MIT (generated data, t2 code).

## Recipe

\`\`\`sh
${c.command}
\`\`\`

- Architecture: hidden ${c.config.hiddenSize}, ${c.config.numHiddenLayers} layers, ${c.config.numAttentionHeads} heads (${c.config.numKeyValueHeads} key/value heads), MLP ${c.config.intermediateSize}, vocab ${c.config.vocabSize}, RoPE θ ${c.config.ropeTheta}, tied embeddings.
- Data: ${c.corpus.problems.toLocaleString('en-US')} train-split problems of the expert domains (arith, string, logic) written as \`prompt answer\\n\`, plus ${c.corpus.classification.toLocaleString('en-US')} classification prompts answered with their category, packed into ${c.corpus.sequences.toLocaleString('en-US')} sequences of ${c.corpus.seqLength} tokens. The held-out families (count, sort) are not in the data.
- Training: ${c.training.steps} steps of batch ${c.training.batch}, AdamW lr ${c.training.lr} with warm-up and cosine decay, seed ${c.training.seed}, on the \`${c.training.backend}\` backend: ${c.training.wallSeconds.toFixed(0)} s at ${Math.round(c.training.tokensPerSecond)} tokens/s. Final train loss ${c.training.finalLoss.toFixed(4)}${c.training.evalLoss !== null ? `, held-out loss ${c.training.evalLoss.toFixed(4)}` : ''} (nats per token).

## Accuracy (greedy, test split)

| family | category | held out | accuracy | n |
|---|---|---|---|---|
${rows}

Made on ${c.date}.
`;
}
