import type { Module, Tensor } from '@t2/tensor-core';
import { type AdapterLoadOptions, injectFromPeft as inject, loadAdapter } from '@t2/tuners';
import { boneMethod } from './method';
import type { BoneModel } from './model';

export type { AdapterLoadOptions as LoadOptions } from '@t2/tuners';

// Bone's names for the generic PEFT loader of @t2/tuners, kept for existing callers.

/**
 * Adds the Bone/MiSS adapter held in PEFT's in-memory form (`adapter_config.json`
 * contents and the safetensors tensors) to `model`.
 */
export function injectFromPeft(
  model: Module,
  peftConfig: unknown,
  tensors: Map<string, Tensor>,
  opts: AdapterLoadOptions = {},
): BoneModel {
  return inject(model, peftConfig, tensors, { ...opts, method: boneMethod }) as BoneModel;
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
  return (await loadAdapter(dir, model, { ...opts, method: boneMethod })) as BoneModel;
}
