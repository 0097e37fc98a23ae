import type { Tensor } from '../tensor/tensor';
import { writeFileAtomic } from './atomic';
import { dtypeSizes } from './dtypes';
import { SafetensorsError } from './errors';
import {
  type ReadTensorsOptions,
  readSafetensorsFile,
  readSafetensorsHeader,
  writeSafetensorsFile,
} from './file';
import { compareNames } from './header';
import { nodeModules } from './node';
import {
  dtypeFor,
  entriesOf,
  type SafetensorsFile,
  type SerializeOptions,
  type TensorDict,
} from './safetensors';
import { readTextFileChecked } from './text-file';

// Hugging Face file names.
export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
const SHARD_PATTERN = /^model-\d{5}-of-\d{5}\.safetensors$/;

export function shardName(i: number, count: number): string {
  return `model-${String(i + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`;
}

/**
 * Whether something is at `file` (of any kind): a folder, device or pipe under a weight
 * file's name is then refused by the reader with what it is, not taken for "no file".
 */
async function exists(file: string): Promise<boolean> {
  const { fs } = await nodeModules();
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Loads a Hugging Face weights folder: `model.safetensors`, or else
 * `model.safetensors.index.json` and the shards its `weight_map` names (the order
 * transformers looks for them). Every tensor of the index must be in its shard, and every
 * tensor of a shard in the index.
 */
export async function loadSafetensorsFolder(
  dir: string,
  opts: LoadFolderOptions = {},
): Promise<SafetensorsFile> {
  const { path } = await nodeModules();
  const single = path.join(dir, SINGLE_FILE);
  if (await exists(single)) {
    if (opts.check) {
      const header = await readSafetensorsHeader(single);
      const info = new Map<string, FolderTensorInfo>();
      for (const e of header.entries)
        info.set(e.name, { dtype: e.dtype, shape: e.shape, file: single });
      opts.check(info);
    }
    return readSafetensorsFile(single, opts);
  }
  const indexFile = path.join(dir, INDEX_FILE);
  if (!(await exists(indexFile))) {
    throw new SafetensorsError(`no ${SINGLE_FILE} or ${INDEX_FILE} in this folder`, { file: dir });
  }

  const weightMap = parseIndex((await readTextFileChecked(indexFile))!, indexFile);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of weightMap) {
    if (shard !== path.basename(shard) || shard === '.' || shard === '..') {
      throw new SafetensorsError(
        `weight_map names shard '${shard}', which is not a file in this folder`,
        {
          file: indexFile,
          tensor: name,
        },
      );
    }
    let list = byShard.get(shard);
    if (!list) byShard.set(shard, (list = []));
    list.push(name);
  }
  for (const [shard, names] of byShard) {
    if (!(await exists(path.join(dir, shard)))) {
      throw new SafetensorsError(
        `shard '${shard}' is missing (it holds ${names.length} tensors of the index)`,
        {
          file: indexFile,
          tensor: names[0],
        },
      );
    }
  }

  // Every shard's header is checked (against the index, then by the caller) before any
  // tensor data is read.
  const info = new Map<string, FolderTensorInfo>();
  for (const [shard, names] of byShard) {
    const shardFile = path.join(dir, shard);
    const header = await readSafetensorsHeader(shardFile);
    const inShard = new Set(header.entries.map((e) => e.name));
    for (const name of names) {
      if (!inShard.has(name)) {
        throw new SafetensorsError(`is listed in ${INDEX_FILE} but not in this shard`, {
          file: shardFile,
          tensor: name,
        });
      }
    }
    for (const e of header.entries) {
      if (weightMap.get(e.name) !== shard) {
        const listed = weightMap.get(e.name);
        throw new SafetensorsError(
          listed === undefined
            ? `is in this shard but not in ${INDEX_FILE}`
            : `is in this shard but ${INDEX_FILE} puts it in '${listed}'`,
          { file: shardFile, tensor: e.name },
        );
      }
      info.set(e.name, { dtype: e.dtype, shape: e.shape, file: shardFile });
    }
  }
  opts.check?.(info);

  const loaded = new Map<string, Tensor>();
  const dtypes = new Map<string, string>();
  const metadata: Record<string, string> = {};
  for (const [shard] of byShard) {
    const shardFile = path.join(dir, shard);
    const part = await readSafetensorsFile(shardFile, opts);
    for (const [name, t] of part.tensors) {
      loaded.set(name, t);
      dtypes.set(name, part.dtypes.get(name)!);
    }
    Object.assign(metadata, part.metadata);
  }
  // Index order, so a sharded folder yields the same order whatever the shard layout.
  const tensors = new Map<string, Tensor>();
  for (const name of weightMap.keys()) tensors.set(name, loaded.get(name)!);
  return { tensors, metadata, dtypes };
}

/** One tensor of a weights folder as its header describes it. */
export interface FolderTensorInfo {
  dtype: string;
  shape: number[];
  /** The file that holds it. */
  file: string;
}

export interface LoadFolderOptions extends ReadTensorsOptions {
  /**
   * Called with every tensor's name, dtype, shape and file, from the headers alone, before
   * any tensor data is read: a caller that throws here (a wrong name, shape or dtype) costs
   * no more than the headers.
   */
  check?: (tensors: Map<string, FolderTensorInfo>) => void;
}

function parseIndex(text: string, file: string): Map<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`is not valid JSON (${(e as Error).message})`, { file });
  }
  const wm = (raw as { weight_map?: unknown } | null)?.weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) {
    throw new SafetensorsError('has no weight_map object', { file });
  }
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(wm)) {
    if (typeof shard !== 'string') {
      throw new SafetensorsError(`weight_map value ${JSON.stringify(shard)} is not a file name`, {
        file,
        tensor: name,
      });
    }
    map.set(name, shard);
  }
  return map;
}

export interface SaveFolderOptions extends SerializeOptions {
  /** Largest data size of one file; above it the weights are split into HF-named shards. */
  maxShardBytes?: number;
}

/**
 * Writes a Hugging Face weights folder: `model.safetensors`, or shards
 * `model-0000i-of-0000N.safetensors` plus `model.safetensors.index.json` when the data exceeds
 * `maxShardBytes`. Metadata gets `format: "pt"` unless given, since transformers refuses
 * safetensors metadata without it. Each file is written atomically; weight files left from an
 * earlier save with another layout are removed afterwards, so they cannot shadow the new ones.
 */
export async function saveSafetensorsFolder(
  dir: string,
  tensors: TensorDict,
  opts: SaveFolderOptions = {},
): Promise<void> {
  const { fs, path } = await nodeModules();
  const { maxShardBytes, ...serializeOpts } = opts;
  if (maxShardBytes !== undefined && !(maxShardBytes > 0)) {
    throw new SafetensorsError(`maxShardBytes must be positive, got ${maxShardBytes}`, {
      file: dir,
    });
  }
  serializeOpts.metadata = { format: 'pt', ...opts.metadata };
  const entries = entriesOf(tensors);

  // Greedy in the order given, like huggingface_hub: a tensor larger than the limit gets a
  // shard of its own.
  const shards: [string, Tensor][][] = [];
  let current: [string, Tensor][] = [];
  let currentBytes = 0;
  let totalBytes = 0;
  for (const [name, t] of entries) {
    const bytes = t.size * dtypeSizes[dtypeFor(name, serializeOpts, dir)]!;
    totalBytes += bytes;
    if (maxShardBytes !== undefined && current.length > 0 && currentBytes + bytes > maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push([name, t]);
    currentBytes += bytes;
  }
  shards.push(current);

  await fs.mkdir(dir, { recursive: true });
  const written = new Set<string>();
  if (shards.length === 1) {
    await writeSafetensorsFile(path.join(dir, SINGLE_FILE), new Map(entries), serializeOpts);
    written.add(SINGLE_FILE);
  } else {
    const weightMap: [string, string][] = [];
    for (let i = 0; i < shards.length; i++) {
      const name = shardName(i, shards.length);
      await writeSafetensorsFile(path.join(dir, name), new Map(shards[i]), serializeOpts);
      written.add(name);
      for (const [tensorName] of shards[i]!) weightMap.push([tensorName, name]);
    }
    await writeFileAtomic(path.join(dir, INDEX_FILE), indexJson(totalBytes, weightMap));
    written.add(INDEX_FILE);
  }
  for (const f of await fs.readdir(dir)) {
    if ((f === SINGLE_FILE || f === INDEX_FILE || SHARD_PATTERN.test(f)) && !written.has(f)) {
      await fs.rm(path.join(dir, f), { force: true });
    }
  }
}

/** The index as huggingface_hub writes it: `json.dumps(index, indent=2, sort_keys=True)`. */
function indexJson(totalBytes: number, weightMap: [string, string][]): string {
  const sorted = [...weightMap].sort((a, b) => compareNames(a[0], b[0]));
  const lines = sorted.map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{\n  "metadata": {\n    "total_size": ${totalBytes}\n  },\n  "weight_map": {\n${lines.join(',\n')}\n  }\n}\n`;
}
