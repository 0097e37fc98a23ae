import { type SafetensorsDtype, saveSafetensorsFolder, writeFileAtomic } from '@t2/tensor-core';
import { toHfConfig } from '../model/config';
import type { LlamaForCausalLM } from '../model/llama-model';
import { CheckpointError, expectedTensorShapes } from './weights';

export interface SaveHfFolderOptions {
  /** Stored dtype of the weights (F32 by default, which reloads bit-identically). */
  dtype?: SafetensorsDtype;
  /** Split the weights into shards of at most this many bytes (with an index). */
  maxShardBytes?: number;
  /** A folder whose tokenizer files (and generation_config.json) are copied along. */
  copyTokenizerFrom?: string;
}

const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'generation_config.json',
];

const TORCH_DTYPE: Record<SafetensorsDtype, string> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
};

/**
 * Writes a Hugging Face folder (Node): config.json and model.safetensors (or shards),
 * every file atomically. The parameters must be exactly the base model's: merge and
 * remove adapters first.
 */
export async function saveHfFolder(
  model: LlamaForCausalLM,
  dir: string,
  opts: SaveHfFolderOptions = {},
): Promise<void> {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const state = model.stateDict();
  const expected = expectedTensorShapes(model.config);
  const extra = [...state.keys()].filter((k) => !expected.has(k));
  const missing = [...expected.keys()].filter((k) => !state.has(k));
  if (extra.length || missing.length) {
    throw new CheckpointError(
      `saveHfFolder(${dir}): the model's parameters are not a plain ${model.config.modelType} model` +
        `${extra.length ? `; extra: ${extra.slice(0, 5).join(', ')}` : ''}` +
        `${missing.length ? `; missing: ${missing.slice(0, 5).join(', ')}` : ''} (merge and remove adapters before saving)`,
    );
  }
  const dtype = opts.dtype ?? 'F32';
  const config = { ...toHfConfig(model.config), torch_dtype: TORCH_DTYPE[dtype] };
  await fs.mkdir(dir, { recursive: true });
  await saveSafetensorsFolder(dir, state, { dtype, maxShardBytes: opts.maxShardBytes });
  await writeFileAtomic(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  if (opts.copyTokenizerFrom && path.resolve(opts.copyTokenizerFrom) !== path.resolve(dir)) {
    for (const name of TOKENIZER_FILES) {
      let data: Uint8Array;
      try {
        data = await fs.readFile(path.join(opts.copyTokenizerFrom, name));
      } catch {
        continue;
      }
      await writeFileAtomic(path.join(dir, name), data);
    }
  }
}
