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
  let st: import('node:fs').Stats;
  try {
    st = await fs.stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      code === 'ENOENT'
        ? `${path}: not found (expected a Hugging Face folder or a llama2.c .bin)`
        : code === 'ENOTDIR'
          ? `${path}: a part of this path is a file, not a folder`
          : `${path}: cannot read (${code ?? (err as Error).message})`,
    );
  }
  if (st.isDirectory()) return loadHfFolder(path, opts);
  if (!st.isFile()) {
    throw new CheckpointError(
      `${path}: not a regular file or folder (a device, pipe or socket); expected a Hugging Face folder or a llama2.c .bin`,
    );
  }
  const { model, config } = await loadLlama2cFile(path);
  return { model, config: config as LlamaConfig, source: path };
}
