import {
  formatShape,
  type Module,
  Rng,
  readAdapterFolder,
  shapesEqual,
  type Tensor,
} from '@t2/tensor-core';
import { boneBlockShape } from './layer';
import { type BoneModel, inject } from './model';
import { blockKeySuffix, fromPeftConfig, PEFT_KEY_PREFIX } from './peft-file';

export interface LoadOptions {
  /** Name given to the loaded adapter (default 'default'). */
  adapterName?: string;
  /** Where the files came from, for error messages. */
  source?: string;
}

/**
 * Adds the adapter held in PEFT's in-memory form (`adapter_config.json` contents and the
 * safetensors tensors) to `model`. Every file key must land on a wrapped layer with the
 * same shape, and every wrapped layer must find its key.
 */
export function injectFromPeft(
  model: Module,
  peftConfig: unknown,
  tensors: Map<string, Tensor>,
  opts: LoadOptions = {},
): BoneModel {
  const source = opts.source ?? 'adapter';
  const { config, peftType } = fromPeftConfig(peftConfig, source);
  const suffix = `.${blockKeySuffix(peftType)}`;
  const byPath = new Map<string, [string, Tensor]>();
  for (const [key, t] of tensors) {
    if (!key.endsWith(suffix)) {
      throw new Error(
        `${source}: tensor '${key}' is not a ${peftType} block (expected keys ending in '${suffix}')`,
      );
    }
    const bare = key.startsWith(PEFT_KEY_PREFIX) ? key.slice(PEFT_KEY_PREFIX.length) : key;
    byPath.set(bare.slice(0, -suffix.length), [key, t]);
  }
  const adapterName = opts.adapterName ?? 'default';
  // Check every shape before touching the model, so a mismatch leaves it as it was.
  const missing: string[] = [];
  for (const [path, [key, t]] of byPath) {
    let m: Module;
    try {
      m = model.getSubmodule(path);
    } catch {
      throw new Error(
        `${source}: tensor '${key}' is for module '${path}', which the model does not have`,
      );
    }
    const base = (m as { baseLayer?: Module }).baseLayer ?? m;
    const { inFeatures, outFeatures } = base as { inFeatures?: number; outFeatures?: number };
    if (inFeatures === undefined || outFeatures === undefined) {
      throw new Error(
        `${source}: tensor '${key}' is for module '${path}', which is not a Linear layer`,
      );
    }
    const want = boneBlockShape(
      config.initWeights === 'bat' ? 'bat' : 'bone',
      config.r,
      outFeatures,
    );
    const tiles =
      config.initWeights !== 'bat' || (outFeatures % config.r === 0 && inFeatures % config.r === 0);
    if (!tiles || !shapesEqual(t.shape, want)) {
      throw new Error(
        `${source}: module '${path}' (weight ${formatShape([outFeatures, inFeatures])}) needs a block of shape ${tiles ? formatShape(want) : `tiling it by ${config.r}×${config.r}`}, but '${key}' has shape ${formatShape(t.shape)}`,
      );
    }
  }
  // A private generator: loading must not advance the global one (init_weights false draws).
  const handle = inject(model, config, { adapterName, rng: new Rng(0) });
  for (const [path, block] of handle.blocksOf(adapterName)) {
    const entry = byPath.get(path);
    if (!entry) missing.push(path);
    else block.data.set(entry[1].data);
  }
  if (missing.length) {
    handle.deleteAdapter(adapterName);
    throw new Error(
      `${source}: no ${suffix.slice(1)} for module(s) ${missing.join(', ')} selected by target_modules`,
    );
  }
  if (byPath.size !== handle.targets(adapterName).length) {
    const targets = new Set(handle.targets(adapterName));
    const extra = [...byPath.keys()].filter((p) => !targets.has(p));
    handle.deleteAdapter(adapterName);
    throw new Error(
      `${source}: blocks for ${extra.join(', ')} are not selected by the config's target_modules`,
    );
  }
  return handle;
}

/**
 * Reads a PEFT Bone/MiSS adapter folder (`adapter_config.json`, `adapter_model.safetensors`)
 * and adds it to `model` as adapter `adapterName` (active, trainable, base frozen).
 */
export async function load(
  dir: string,
  model: Module,
  opts: Omit<LoadOptions, 'source'> = {},
): Promise<BoneModel> {
  const folder = await readAdapterFolder(dir);
  return injectFromPeft(model, folder.config, folder.tensors, { ...opts, source: dir });
}
