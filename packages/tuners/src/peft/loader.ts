import { InputError, type Module, Rng, type Tensor } from '@t2/tensor-core';
import type { AdapterLayer } from '../base/adapter-linear';
import { AdapterModel } from '../base/adapter-model';
import { type AdapterMethod, adapterMethodForPeftType, adapterMethods } from '../registry/registry';
import { readAdapterFolder } from './folder';
import {
  type AdapterLoadOptions,
  checkFileCoversTargets,
  linearFeaturesAt,
  withoutPeftPrefix,
} from './load-checks';

// One loader for every method's PEFT folders: find the method by peft_type, check every
// tensor against the model, then inject and copy. The method says only what is its own
// (config fields, tensor names, shapes) through its `files`.

// biome-ignore lint/suspicious/noExplicitAny: a loaded adapter's config type is the method's
export type LoadedAdapter = AdapterModel<any, unknown, AdapterLayer>;

/** The registered method whose folders have this config's `peft_type`; `file` names it. */
export function methodOfPeftConfig(json: unknown, file: string): AdapterMethod<unknown> {
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new InputError(`${file}: not a JSON object`);
  const type = (json as { peft_type?: unknown }).peft_type;
  const method = typeof type === 'string' ? adapterMethodForPeftType(type) : undefined;
  if (method) return method;
  const known = adapterMethods().flatMap((m) => m.peftTypes);
  throw new InputError(
    `${file}: peft_type ${JSON.stringify(type)} is not a known adapter method (known: ${known.join(', ') || 'none registered'})`,
  );
}

/**
 * Adds the adapter held in PEFT's in-memory form (`adapter_config.json` contents and the
 * safetensors tensors) to `model`, with `method` (default: the one registered for its
 * peft_type). Every file key must land on a wrapped layer with the right shapes, and
 * every wrapped layer must find its keys; a mismatch leaves the model as it was.
 */
export function injectFromPeft(
  model: Module,
  peftConfig: unknown,
  tensors: Map<string, Tensor>,
  opts: AdapterLoadOptions & { method?: AdapterMethod<unknown> } = {},
): LoadedAdapter {
  const source = opts.source ?? 'adapter';
  const configSource = opts.configSource ?? source;
  const method = opts.method ?? methodOfPeftConfig(peftConfig, configSource);
  const files = method.files;
  if (!files) throw new Error(`${method.name}: this method has no PEFT adapter folders`);
  const config = files.readConfig(peftConfig as Record<string, unknown>, configSource);
  const peftType = (peftConfig as { peft_type: string }).peft_type;
  const byPath = tensorsByLayer(
    tensors,
    files.tensorNames(peftType),
    files.tensorNoun(peftType),
    source,
  );
  // Check every shape before touching the model, so a mismatch leaves it as it was.
  for (const [path, parts] of byPath) {
    const [key] = parts.values().next().value!;
    const features = linearFeaturesAt(model, path, key, source);
    for (const name of files.tensorNames(peftType))
      if (!parts.has(name)) throw new InputError(`${source}: module '${path}' has no ${name}`);
    files.checkShapes(config, path, features, parts, source);
  }
  const adapterName = opts.adapterName ?? 'default';
  // A private generator: loading must not advance the global one (random starts draw).
  const handle = method.inject(model, config, { adapterName, rng: new Rng(0) });
  // PEFT folders load synchronously (also in a browser), onto AdapterModel layers.
  if (!(handle instanceof AdapterModel))
    throw new Error(`${method.name}: inject must return an AdapterModel to load PEFT files`);
  const loaded = handle as LoadedAdapter;
  checkFileCoversTargets(loaded, adapterName, byPath.keys(), source, files.coverage(peftType));
  const names = files.tensorNames(peftType);
  for (const path of loaded.targets(adapterName)) {
    const parts = byPath.get(path)!;
    loaded
      .layer(path)
      .adapterParameters(adapterName)
      .forEach(([, t], i) => {
        t.data.set(parts.get(names[i]!)![1].data);
      });
  }
  return loaded;
}

/** File tensors grouped by layer path, then by name relative to the layer. */
function tensorsByLayer(
  tensors: Map<string, Tensor>,
  names: readonly string[],
  noun: string,
  source: string,
): Map<string, Map<string, readonly [string, Tensor]>> {
  const byPath = new Map<string, Map<string, readonly [string, Tensor]>>();
  for (const [key, t] of tensors) {
    const bare = withoutPeftPrefix(key);
    const name = names.find((n) => bare.endsWith(`.${n}`));
    if (name === undefined)
      throw new InputError(
        `${source}: tensor '${key}' is not a ${noun} (expected keys ending in ${names.map((n) => `'.${n}'`).join(' or ')})`,
      );
    const path = bare.slice(0, -name.length - 1);
    const parts = byPath.get(path) ?? new Map();
    parts.set(name, [key, t]);
    byPath.set(path, parts);
  }
  return byPath;
}

/**
 * Reads a PEFT adapter folder (`adapter_config.json`, `adapter_model.safetensors`) and
 * adds it to `model` as adapter `adapterName` (active, trainable, base frozen), with the
 * method registered for its peft_type (or `opts.method`).
 */
export async function loadAdapter(
  dir: string,
  model: Module,
  opts: Omit<AdapterLoadOptions, 'source' | 'configSource'> & {
    method?: AdapterMethod<unknown>;
  } = {},
): Promise<LoadedAdapter> {
  const folder = await readAdapterFolder(dir);
  return injectFromPeft(model, folder.config, folder.tensors, {
    ...opts,
    source: folder.weightsFile,
    configSource: folder.configFile,
  });
}
