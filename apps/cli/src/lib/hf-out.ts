import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type LlamaForCausalLM, saveHfFolder } from '@t2/llama';
import { writeFileAtomic } from '@t2/tensor-core';

export interface CompleteFolderOptions {
  /** The `--model` the weights came from: its tokenizer and generation config are copied. */
  source: string;
  /** How the weights were made, one sentence for the README ("Bone adapter out/bone merged into …"). */
  madeBy: string;
  /** The command line that made the folder, shown in the README. */
  command: string;
}

/**
 * Writes a complete Hugging Face folder: config.json and the weights, the base model's
 * tokenizer files (tokenizer.json, tokenizer_config.json, special_tokens_map.json, the chat
 * template) and generation_config.json when it has them, and a README.md saying what it is.
 * `t2 generate`/`t2 eval` and `transformers` load it like the base model.
 */
export async function saveCompleteFolder(
  model: LlamaForCausalLM,
  out: string,
  opts: CompleteFolderOptions,
): Promise<void> {
  const sourceIsFolder = isFolder(opts.source);
  await saveHfFolder(model, out, sourceIsFolder ? { copyTokenizerFrom: opts.source } : {});
  const tokenizerNote = sourceIsFolder
    ? `The tokenizer files are ${opts.source}'s.`
    : `${opts.source} is a llama2.c checkpoint without a tokenizer: add tokenizer.json to use text prompts.`;
  const readme = [
    `# ${basename(out)}`,
    '',
    `${opts.madeBy}`,
    '',
    `- base model: \`${opts.source}\``,
    `- architecture: ${model.config.modelType}, ${model.numParameters().toLocaleString('en-US')} parameters, ${model.config.numHiddenLayers} layers, vocabulary ${model.config.vocabSize}`,
    `- made with: \`${opts.command}\``,
    '',
    `A plain Hugging Face folder (config.json, model.safetensors). ${tokenizerNote}`,
    '',
    '```sh',
    `npx t2 generate --model ${out} --prompt "12+35="`,
    '```',
    '',
    'In Python: `AutoModelForCausalLM.from_pretrained(path)` and `AutoTokenizer.from_pretrained(path)`.',
    '',
  ].join('\n');
  await writeFileAtomic(join(out, 'README.md'), readme);
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
