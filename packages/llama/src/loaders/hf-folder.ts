import {
  arrayBf16Home,
  assertFinite,
  type Backend,
  type Bf16Home,
  loadSafetensorsFolder,
  readTextFileChecked,
  type Tensor,
  useDefaultBackend,
  WasmMemoryError,
} from '@t2/tensor-core';
import { type LlamaConfig, type ParseConfigOptions, parseHfConfig } from '../model/config';
import type { LlamaForCausalLM } from '../model/llama-model';
import { loadTokenizerFolder, type TextTokenizer } from '../tokenizer/tokenizer';
import { CheckpointError, checkCheckpointLayout, modelFromTensors } from './weights';

export interface LoadedModel {
  model: LlamaForCausalLM;
  config: LlamaConfig;
  /** Present when the folder has a tokenizer.json. */
  tokenizer?: TextTokenizer;
  /** Where the model was read from. */
  source: string;
}

export interface HfTensorsInput {
  /** The parsed config.json. */
  config: unknown;
  tensors: Map<string, Tensor>;
  dtypes?: Map<string, string>;
  /** The parsed generation_config.json, whose eos_token_id list is added to the config's. */
  generationConfig?: unknown;
  fileName?: string;
  configOptions?: ParseConfigOptions;
}

/** A model from an already parsed config.json and safetensors tensors (browser-safe). */
export function modelFromHfTensors(input: HfTensorsInput): {
  model: LlamaForCausalLM;
  config: LlamaConfig;
} {
  const config = parseHfConfig(input.config, input.configOptions);
  addGenerationEos(config, input.generationConfig);
  const model = modelFromTensors(config, input.tensors, {
    fileName: input.fileName,
    dtypes: input.dtypes,
  });
  return { model, config };
}

function addGenerationEos(config: LlamaConfig, generationConfig: unknown): void {
  const eos = (generationConfig as { eos_token_id?: unknown } | undefined)?.eos_token_id;
  const ids = Array.isArray(eos) ? eos : eos === undefined || eos === null ? [] : [eos];
  for (const id of ids) {
    if (Number.isInteger(id) && id >= 0 && !config.eosTokenIds.includes(id))
      config.eosTokenIds.push(id);
  }
}

export interface LoadHfFolderOptions {
  /** Accept config keys t2 does not know. */
  allowUnknownConfigKeys?: boolean;
  /** Skip the tokenizer even when the folder has one. */
  skipTokenizer?: boolean;
  /**
   * Keep BF16 weights as stored (half the memory of float32, in the backend's memory where
   * its decode kernels read them in place); each is widened to float32 the first time an op
   * reads it, which gives the values float32 loading gives. Default true; false widens all at load.
   */
  keepBf16?: boolean;
}

/**
 * Loads a Hugging Face model folder (Node): config.json, model.safetensors or a sharded
 * index (F32, F16 or BF16), and tokenizer.json / tokenizer_config.json when present; a
 * tokenizer that does not fit the model's embedding is refused (`checkTokenizerFits`).
 * Selects the fastest backend (`useDefaultBackend`) unless one was chosen with `setBackend`.
 */
export async function loadHfFolder(
  dir: string,
  opts: LoadHfFolderOptions = {},
): Promise<LoadedModel> {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const configFile = path.join(dir, 'config.json');
  const configJson = await readJson(fs, configFile);
  if (configJson === undefined) throw new CheckpointError(`${dir}: no config.json in this folder`);
  const generationConfig = await readJson(fs, path.join(dir, 'generation_config.json'));
  const config = parseHfConfig(configJson, {
    fileName: configFile,
    allowUnknownKeys: opts.allowUnknownConfigKeys,
  });
  addGenerationEos(config, generationConfig);

  const fileOf = await shardLocator(fs, path, dir);
  // The backend first: BF16 weights are read straight into its memory.
  const backend = await useDefaultBackend();
  const keepBf16 = opts.keepBf16 ?? true;
  // Names, shapes and dtypes are checked against the config from the headers alone, before
  // any tensor data is read.
  const { tensors, dtypes } = await loadSafetensorsFolder(dir, {
    check: (info) =>
      checkCheckpointLayout(config, info, { fileName: fileOf(''), fileOf, configFile }),
    keepBf16,
    bf16Home: keepBf16 ? backendBf16Home(backend) : undefined,
  });
  assertFinite(tensors, fileOf);
  const model = modelFromTensors(config, tensors, { fileName: fileOf(''), fileOf, dtypes });
  const tokenizer = opts.skipTokenizer ? undefined : await loadTokenizerFolder(dir);
  if (tokenizer) {
    checkTokenizerFits(
      tokenizer.idLimit,
      model.model.embed_tokens.weight.shape[0]!,
      path.join(dir, 'tokenizer.json'),
      fileOf('model.embed_tokens.weight'),
    );
  }
  return { model, config, tokenizer: tokenizer ?? undefined, source: dir };
}

/**
 * Where BF16 weights go: the backend's own memory when it offers one (its decode kernels
 * then read them in place: one copy), an ordinary array once that memory is full or
 * elsewhere (the fused decoder then copies them, and says so if they do not fit).
 */
function backendBf16Home(backend: Backend): ((count: number) => Bf16Home) | undefined {
  if (!backend.bf16Home) return undefined;
  let full = false;
  return (count) => {
    if (!full) {
      try {
        return backend.bf16Home!(count);
      } catch (err) {
        if (!(err instanceof WasmMemoryError)) throw err;
        full = true;
      }
    }
    return arrayBf16Home(new Uint16Array(count));
  };
}

/**
 * Embedding rows a model may have beyond its tokenizer's ids: checkpoints pad the
 * embedding for alignment (Qwen2.5: 151,665 ids, 151,936 rows; Phi-2: 50,295 and 51,200;
 * DeepSeek-V2: 100,015 and 102,400), never by more than this.
 */
export function tokenizerPaddingAllowed(rows: number): number {
  return Math.max(4096, Math.floor(rows / 16));
}

/**
 * Refuses a tokenizer that does not belong to the model's embedding: one with ids the
 * embedding has no row for (they would index past it), or one that covers far fewer rows
 * than the embedding pads for (the model's other ids would decode to nothing).
 */
export function checkTokenizerFits(
  idLimit: number,
  rows: number,
  tokenizerFile: string,
  modelFile: string,
): void {
  const n = (v: number) => v.toLocaleString('en-US');
  if (idLimit > rows) {
    throw new CheckpointError(
      `${tokenizerFile}: the tokenizer has ${n(idLimit)} token ids but the model's embedding in ${modelFile} has ${n(rows)} rows: ids ≥ ${rows} have no embedding (is it this model's tokenizer?)`,
    );
  }
  if (rows - idLimit > tokenizerPaddingAllowed(rows)) {
    throw new CheckpointError(
      `${tokenizerFile}: the tokenizer has ${n(idLimit)} token ids but the model's embedding in ${modelFile} has ${n(rows)} rows: the model's ids ≥ ${idLimit} would decode to nothing (is it this model's tokenizer?)`,
    );
  }
}

type Fs = typeof import('node:fs/promises');
type Path = typeof import('node:path');

/** Which weight file holds a tensor, so errors name the shard. */
async function shardLocator(fs: Fs, path: Path, dir: string): Promise<(tensor: string) => string> {
  const single = path.join(dir, 'model.safetensors');
  const index = await readJson(fs, path.join(dir, 'model.safetensors.index.json')).catch(
    () => undefined,
  );
  const hasSingle = await fs.stat(single).then(
    (s) => s.isFile(),
    () => false,
  );
  const weightMap = (index as { weight_map?: Record<string, string> } | undefined)?.weight_map;
  if (hasSingle || !weightMap) return () => single;
  return (tensor) => {
    const shard = weightMap[tensor];
    return shard ? path.join(dir, shard) : path.join(dir, 'model.safetensors.index.json');
  };
}

/** Parsed JSON, or undefined when the file does not exist. */
export async function readJson(_fs: Fs, file: string): Promise<unknown> {
  // Regular files of sane size only: config.json -> /dev/zero would otherwise hang.
  const text = await readTextFileChecked(file, { optional: true });
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`${file}: invalid JSON (${(err as Error).message})`);
  }
}
