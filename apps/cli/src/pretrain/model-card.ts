import type { LlamaConfig } from '@t2/llama';
import type { FamilyAccuracy } from './base-eval';

export interface ModelCardInput {
  name: string;
  command: string;
  config: LlamaConfig;
  parameters: number;
  corpus: {
    problems: number;
    classification: number;
    heldOut: number;
    distractorRate: number;
    sequences: number;
    seqLength: number;
  };
  /** The model folder this run continued from (a second pretraining stage), if any. */
  init?: string;
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
${c.init ? `- Continued from: \`${c.init}\` (its weights and architecture; this run is a second pretraining stage).\n` : ''}- Data: ${c.corpus.problems.toLocaleString('en-US')} train-split problems of the expert domains (arith, string, logic) written as \`prompt answer\\n\`, ${c.corpus.heldOut.toLocaleString('en-US')} problems of the held-out families shout, big and end (skills of the domains asked with new keywords, answered in two domains' conventions at once), plus ${c.corpus.classification.toLocaleString('en-US')} classification prompts answered with their category, packed into ${c.corpus.sequences.toLocaleString('en-US')} sequences of ${c.corpus.seqLength} tokens. ${c.corpus.distractorRate > 0 ? `${Math.round(100 * c.corpus.distractorRate)}% of the answers are written in the family's competing convention (\`47.0\` for \`47\`, \`"cba"\` for \`cba\`, \`(T)\` for \`T\`), which the tasks' rewards refuse: the model hedges between two conventions, and an expert has one to pick. ` : ''}The held-out families count and sort are not in the data.
- Training: ${c.training.steps} steps of batch ${c.training.batch}, AdamW lr ${c.training.lr} with warm-up and cosine decay, seed ${c.training.seed}, on the \`${c.training.backend}\` backend: ${c.training.wallSeconds.toFixed(0)} s at ${Math.round(c.training.tokensPerSecond)} tokens/s. Final train loss ${c.training.finalLoss.toFixed(4)}${c.training.evalLoss !== null ? `, held-out loss ${c.training.evalLoss.toFixed(4)}` : ''} (nats per token).

## Accuracy (greedy, test split)

| family | category | held out | accuracy | n |
|---|---|---|---|---|
${rows}

Made on ${c.date}.
`;
}
