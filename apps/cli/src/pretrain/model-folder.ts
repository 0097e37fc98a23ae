import { mkdir, writeFile } from 'node:fs/promises';
import { type LlamaForCausalLM, saveHfFolder } from '@t2/llama';
import { writeFileAtomic } from '@t2/tensor-core';
import type { FamilyAccuracy } from './base-eval';
import { charTokenizerFiles } from './char-tokenizer';
import { type ModelCardInput, modelCard } from './model-card';

/**
 * Writes a pretrained model as a Hugging Face folder: weights, the character tokenizer,
 * eval.json (accuracies and losses) and the model card.
 */
export async function writePretrainedFolder(
  out: string,
  model: LlamaForCausalLM,
  card: ModelCardInput & { accuracy: FamilyAccuracy[] },
): Promise<void> {
  const { tokenizerJson, tokenizerConfig } = charTokenizerFiles();
  await mkdir(out, { recursive: true });
  await saveHfFolder(model, out);
  await writeFile(`${out}/tokenizer.json`, `${JSON.stringify(tokenizerJson, null, 2)}\n`);
  await writeFile(`${out}/tokenizer_config.json`, `${JSON.stringify(tokenizerConfig, null, 2)}\n`);
  const { finalLoss, evalLoss } = card.training;
  await writeFileAtomic(
    `${out}/eval.json`,
    `${JSON.stringify({ accuracy: card.accuracy, evalLoss, finalLoss }, null, 2)}\n`,
  );
  await writeFileAtomic(`${out}/README.md`, modelCard(card));
}
