// @t2/adapters-lora: LoRA and PiSSA baselines with PEFT-compatible adapter folders.
// Importing it registers the method 'lora' (and its variant 'pissa') with @t2/tuners.

import { registerAdapterMethod } from '@t2/tuners';
import { loraMethod } from './lora/method';

registerAdapterMethod(loraMethod);

export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  findTargetModules,
  OUTPUT_HEAD,
  type TargetModules,
  type TargetSelection,
} from '@t2/tuners';
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
export { loraMethod } from './lora/method';
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
