import {
  type AdapterLoadOptions,
  checkFileCoversTargets,
  formatShape,
  InputError,
  linearFeaturesAt,
  type Module,
  Rng,
  readAdapterFolder,
  shapesEqual,
  type Tensor,
  withoutPeftPrefix,
} from '@t2/tensor-core';
import { variantOf } from './config';
import { boneBlockShape } from './layer';
import { type BoneModel, inject } from './model';
import { blockKeySuffix, fromPeftConfig } from './peft-file';

export type { AdapterLoadOptions as LoadOptions } from '@t2/tensor-core';

/**
 * Adds the adapter held in PEFT's in-memory form (`adapter_config.json` contents and the
 * safetensors tensors) to `model`. Every file key must land on a wrapped layer with the
 * same shape, and every wrapped layer must find its key.
 */
export function injectFromPeft(
  model: Module,
  peftConfig: unknown,
  tensors: Map<string, Tensor>,
  opts: AdapterLoadOptions = {},
): BoneModel {
  const source = opts.source ?? 'adapter';
  const { config, peftType } = fromPeftConfig(peftConfig, opts.configSource ?? source);
  const suffix = `.${blockKeySuffix(peftType)}`;
  const byPath = new Map<string, [string, Tensor]>();
  for (const [key, t] of tensors) {
    if (!key.endsWith(suffix)) {
      throw new InputError(
        `${source}: tensor '${key}' is not a ${peftType} block (expected keys ending in '${suffix}')`,
      );
    }
    byPath.set(withoutPeftPrefix(key).slice(0, -suffix.length), [key, t]);
  }
  // Check every shape before touching the model, so a mismatch leaves it as it was.
  for (const [path, [key, t]] of byPath) {
    const { inFeatures, outFeatures } = linearFeaturesAt(model, path, key, source);
    const want = boneBlockShape(variantOf(config.initWeights), config.r, outFeatures);
    const tiles =
      config.initWeights !== 'bat' || (outFeatures % config.r === 0 && inFeatures % config.r === 0);
    if (!tiles || !shapesEqual(t.shape, want)) {
      throw new InputError(
        `${source}: module '${path}' (weight ${formatShape([outFeatures, inFeatures])}) needs a block of shape ${tiles ? formatShape(want) : `tiling it by ${config.r}×${config.r}`}, but '${key}' has shape ${formatShape(t.shape)}`,
      );
    }
  }
  const adapterName = opts.adapterName ?? 'default';
  // A private generator: loading must not advance the global one (init_weights false draws).
  const handle = inject(model, config, { adapterName, rng: new Rng(0) });
  checkFileCoversTargets(handle, adapterName, byPath.keys(), source, {
    missing: suffix.slice(1),
    extra: 'blocks',
  });
  for (const [path, block] of handle.blocksOf(adapterName))
    block.data.set(byPath.get(path)![1].data);
  return handle;
}

/**
 * Reads a PEFT Bone/MiSS adapter folder (`adapter_config.json`, `adapter_model.safetensors`)
 * and adds it to `model` as adapter `adapterName` (active, trainable, base frozen).
 */
export async function load(
  dir: string,
  model: Module,
  opts: Omit<AdapterLoadOptions, 'source'> = {},
): Promise<BoneModel> {
  const folder = await readAdapterFolder(dir);
  return injectFromPeft(model, folder.config, folder.tensors, {
    ...opts,
    source: folder.weightsFile,
    configSource: folder.configFile,
  });
}
