import type { LlamaConfig } from '../model/config';
import { type LoadedModel, type LoadHfFolderOptions, loadHfFolder } from './hf-folder';
import { loadLlama2cFile } from './llama2c';
import { CheckpointError } from './weights';

/**
 * Loads `path` (Node): a Hugging Face folder, or a llama2.c `.bin` checkpoint (which has
 * no tokenizer).
 */
export async function loadModel(
  path: string,
  opts: LoadHfFolderOptions = {},
): Promise<LoadedModel> {
  const fs = await import('node:fs/promises');
  let isDir: boolean;
  try {
    isDir = (await fs.stat(path)).isDirectory();
  } catch (err) {
    throw new CheckpointError(
      `${path}: not found (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  if (isDir) return loadHfFolder(path, opts);
  const { model, config } = await loadLlama2cFile(path);
  return { model, config: config as LlamaConfig, source: path };
}
