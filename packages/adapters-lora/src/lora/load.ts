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
import { rankAndAlpha } from './config';
import { inject, type LoraModel } from './model';
import { fromPeftConfig } from './peft-file';

export type { AdapterLoadOptions as LoadOptions } from '@t2/tensor-core';

const KEY = /^(.*)\.(lora_A|lora_B)\.weight$/;

/**
 * Adds the adapter held in PEFT's in-memory form (`adapter_config.json` contents and the
 * safetensors tensors) to `model`. Every file key must land on a wrapped layer with the
 * same shape, and every wrapped layer must find both of its keys. A PiSSA adapter
 * (`init_lora_weights: "pissa"`) factorises the model's weights again, as PEFT does, so the
 * base keeps the residual, then takes A and B from the file.
 */
export function injectFromPeft(
  model: Module,
  peftConfig: unknown,
  tensors: Map<string, Tensor>,
  opts: AdapterLoadOptions = {},
): LoraModel {
  const source = opts.source ?? 'adapter';
  const config = fromPeftConfig(peftConfig, opts.configSource ?? source);
  const byPath = new Map<string, { A?: [string, Tensor]; B?: [string, Tensor] }>();
  for (const [key, t] of tensors) {
    const m = KEY.exec(withoutPeftPrefix(key));
    if (!m)
      throw new InputError(
        `${source}: tensor '${key}' is not a LoRA weight (expected keys ending in '.lora_A.weight' or '.lora_B.weight')`,
      );
    const entry = byPath.get(m[1]!) ?? {};
    entry[m[2] === 'lora_A' ? 'A' : 'B'] = [key, t];
    byPath.set(m[1]!, entry);
  }
  // Check every shape before touching the model, so a mismatch leaves it as it was.
  for (const [path, entry] of byPath) {
    const key = (entry.A ?? entry.B)![0];
    const { inFeatures, outFeatures } = linearFeaturesAt(model, path, key, source);
    const { r } = rankAndAlpha(config, path);
    for (const [which, want] of [
      ['A', [r, inFeatures]],
      ['B', [outFeatures, r]],
    ] as const) {
      const got = entry[which];
      if (!got) throw new InputError(`${source}: module '${path}' has no lora_${which}.weight`);
      if (!shapesEqual(got[1].shape, want)) {
        throw new InputError(
          `${source}: module '${path}' (weight ${formatShape([outFeatures, inFeatures])}, r = ${r}) needs lora_${which} of shape ${formatShape(want)}, but '${got[0]}' has shape ${formatShape(got[1].shape)}`,
        );
      }
    }
  }
  const adapterName = opts.adapterName ?? 'default';
  // A private generator: loading must not advance the global one.
  const handle = inject(model, config, { adapterName, rng: new Rng(0) });
  checkFileCoversTargets(handle, adapterName, byPath.keys(), source, {
    missing: 'LoRA weights',
    extra: 'weights',
  });
  for (const path of handle.targets(adapterName)) {
    const layer = handle.layer(path);
    const entry = byPath.get(path)!;
    layer.loraAWeight(adapterName).data.set(entry.A![1].data);
    layer.loraBWeight(adapterName).data.set(entry.B![1].data);
  }
  return handle;
}

/**
 * Reads a PEFT LoRA adapter folder (`adapter_config.json`, `adapter_model.safetensors`)
 * and adds it to `model` as adapter `adapterName` (active, trainable, base frozen).
 */
export async function load(
  dir: string,
  model: Module,
  opts: Omit<AdapterLoadOptions, 'source'> = {},
): Promise<LoraModel> {
  const folder = await readAdapterFolder(dir);
  return injectFromPeft(model, folder.config, folder.tensors, {
    ...opts,
    source: folder.weightsFile,
    configSource: folder.configFile,
  });
}
