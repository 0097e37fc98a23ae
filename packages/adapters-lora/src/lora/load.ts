import type { Module, Tensor } from '@t2/tensor-core';
import { type AdapterLoadOptions, injectFromPeft as inject, loadAdapter } from '@t2/tuners';
import { loraMethod } from './method';
import type { LoraModel } from './model';

export type { AdapterLoadOptions as LoadOptions } from '@t2/tuners';

// LoRA's names for the generic PEFT loader of @t2/tuners, kept for existing callers.

/**
 * Adds the LoRA adapter held in PEFT's in-memory form (`adapter_config.json` contents and
 * the safetensors tensors) to `model`. A PiSSA adapter (`init_lora_weights: "pissa"`)
 * factorises the model's weights again, as PEFT does, so the base keeps the residual,
 * then takes A and B from the file.
 */
export function injectFromPeft(
  model: Module,
  peftConfig: unknown,
  tensors: Map<string, Tensor>,
  opts: AdapterLoadOptions = {},
): LoraModel {
  return inject(model, peftConfig, tensors, { ...opts, method: loraMethod }) as LoraModel;
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
  return (await loadAdapter(dir, model, { ...opts, method: loraMethod })) as LoraModel;
}
