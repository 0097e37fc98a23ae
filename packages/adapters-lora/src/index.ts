// @t2/adapters-lora: LoRA and PiSSA baselines with PEFT-compatible adapter folders.

export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  findTargetModules,
  OUTPUT_HEAD,
  type TargetModules,
  type TargetSelection,
} from '@t2/tensor-core';
export {
  isPissa,
  type LoraConfig,
  type LoraConfigInput,
  type LoraInit,
  loraConfig,
  rankAndAlpha,
  scalingOf,
} from './lora/config';
export { type LoraAdapterOptions, LoraLinear } from './lora/layer';
export { injectFromPeft, type LoadOptions, load } from './lora/load';
export {
  type InjectOptions,
  inject,
  LoraModel,
  loraModelOf,
  type PeftAdapter,
  type SaveOptions,
  type TrainableSummary,
} from './lora/model';
export { fromPeftConfig, peftKey, toPeftConfig } from './lora/peft-file';
