import type { ModelSourceSpec } from '../protocol';

/** Read access to a Hugging Face folder, over HTTP or from dropped files. */
export interface ModelSource {
  readonly name: string;
  /** The file's bytes, or null when the folder has no such file. */
  read(path: string): Promise<Uint8Array | null>;
  /** Expert files (`experts/*.safetensors`), sorted by name. */
  experts(): Promise<string[]>;
}

export async function readText(src: ModelSource, path: string): Promise<string | null> {
  const bytes = await src.read(path);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

export async function readJson(src: ModelSource, path: string): Promise<unknown> {
  const text = await readText(src, path);
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${src.name}/${path}: invalid JSON (${(err as Error).message})`);
  }
}

/** A folder served over HTTP; `experts/index.json` lists its experts (`{ "experts": [...] }`). */
function urlSource(base: string, name: string): ModelSource {
  const root = base.endsWith('/') ? base : `${base}/`;
  const read = async (path: string): Promise<Uint8Array | null> => {
    const res = await fetch(new URL(path, root));
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`${name}/${path}: HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  return {
    name,
    read,
    async experts() {
      const bytes = await read('experts/index.json');
      if (bytes === null) return [];
      let listed: unknown;
      try {
        listed = JSON.parse(new TextDecoder().decode(bytes));
      } catch (err) {
        throw new Error(`${name}/experts/index.json: invalid JSON (${(err as Error).message})`);
      }
      const files = (listed as { experts?: unknown }).experts;
      if (!Array.isArray(files) || !files.every((f) => typeof f === 'string')) {
        throw new Error(
          `${name}/experts/index.json: expected { "experts": ["name.safetensors", …] }`,
        );
      }
      return files.filter((f) => f.endsWith('.safetensors')).sort();
    },
  };
}

/**
 * Dropped files keyed by their path inside the dropped folder. A drop of the folder
 * itself gives paths like `t2-tiny/config.json`; the common top folder is stripped.
 */
function filesSource(name: string, files: { path: string; file: File }[]): ModelSource {
  const byPath = new Map<string, File>();
  const tops = new Set(files.map((f) => f.path.split('/')[0]));
  const strip = tops.size === 1 && files.every((f) => f.path.includes('/'));
  for (const { path, file } of files) {
    byPath.set(strip ? path.slice(path.indexOf('/') + 1) : path, file);
  }
  return {
    name,
    async read(path) {
      const file = byPath.get(path);
      return file ? new Uint8Array(await file.arrayBuffer()) : null;
    },
    async experts() {
      return [...byPath.keys()]
        .filter((p) => /^experts\/[^/]+\.safetensors$/.test(p))
        .map((p) => p.slice('experts/'.length))
        .sort();
    },
  };
}

export function openSource(spec: ModelSourceSpec): ModelSource {
  return spec.kind === 'url' ? urlSource(spec.base, spec.name) : filesSource(spec.name, spec.files);
}
