import {
  assertFinite,
  InputError,
  readSafetensorsFile,
  readTextFileChecked,
  type Tensor,
  writeFileAtomic,
  writeSafetensorsFile,
} from '@t2/tensor-core';

// Node built-ins load on first use, so a browser bundle can import this module.
const nodeModules = async () => {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  return { fs, path };
};

// A PEFT adapter folder (adapter_config.json + adapter_model.safetensors), shared by every
// adapter method so their files look alike and move between t2 and Python.

/** File names of a PEFT adapter folder. */
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

export interface AdapterFolder {
  /** Parsed `adapter_config.json`. */
  config: unknown;
  tensors: Map<string, Tensor>;
  /** Paths of the two files, for error messages. */
  configFile: string;
  weightsFile: string;
}

/** Writes `adapter_model.safetensors` then `adapter_config.json`, each atomically. */
export async function writeAdapterFolder(
  dir: string,
  config: Record<string, unknown>,
  tensors: Map<string, Tensor>,
): Promise<void> {
  const { fs, path } = await nodeModules();
  await fs.mkdir(dir, { recursive: true });
  // PEFT writes this metadata; transformers' loaders check it.
  await writeSafetensorsFile(path.join(dir, ADAPTER_WEIGHTS_FILE), tensors, {
    metadata: { format: 'pt' },
  });
  await writeFileAtomic(
    path.join(dir, ADAPTER_CONFIG_FILE),
    `${JSON.stringify(config, null, 2)}\n`,
  );
}

export async function readAdapterFolder(dir: string): Promise<AdapterFolder> {
  const { fs, path } = await nodeModules();
  const configFile = path.join(dir, ADAPTER_CONFIG_FILE);
  const weightsFile = path.join(dir, ADAPTER_WEIGHTS_FILE);
  let text: string;
  const dirStat = await fs.stat(dir).catch(() => null);
  if (!dirStat) throw new InputError(`${dir}: no such adapter folder`);
  if (!dirStat.isDirectory())
    throw new InputError(
      `${dir}: is a file, expected a PEFT adapter folder (adapter_config.json, adapter_model.safetensors)`,
    );
  const read = await readTextFileChecked(configFile, { optional: true });
  if (read === null)
    throw new InputError(`${configFile}: missing (expected a PEFT adapter folder)`);
  text = read;
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${configFile}: invalid JSON (${(err as Error).message})`);
  }
  if (!config || typeof config !== 'object' || Array.isArray(config))
    throw new InputError(`${configFile}: expected a JSON object`);
  const { tensors } = await readSafetensorsFile(weightsFile);
  assertFinite(tensors, weightsFile);
  return { config, tensors, configFile, weightsFile };
}
