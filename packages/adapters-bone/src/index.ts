// @t2/adapters-bone: Bone and BAT block-affine adapters (PEFT's BoneConfig / MiSS),
// with PEFT-compatible adapter folders. Importing it registers the method 'bone' (and its
// variant 'bat') with @t2/tuners.

import { registerAdapterMethod } from '@t2/tuners';
import { boneMethod } from './bone/method';

registerAdapterMethod(boneMethod);

export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  findTargetModules,
  OUTPUT_HEAD,
  type TargetModules,
  type TargetSelection,
} from '@t2/tuners';
export { batDelta, batWeight, boneUpdate } from './bone/block-math';
export {
  type BoneConfig,
  type BoneConfigInput,
  type BoneInitWeights,
  type BoneVariant,
  boneConfig,
} from './bone/config';
export { BoneLinear, boneBlockShape } from './bone/layer';
export { injectFromPeft, type LoadOptions, load } from './bone/load';
export { boneMethod } from './bone/method';
export {
  BoneModel,
  boneModelOf,
  type InjectOptions,
  inject,
  type PeftAdapter,
  type SaveOptions,
  type TrainableSummary,
} from './bone/model';
export { type BonePeftType, fromPeftConfig, peftKey, toPeftConfig } from './bone/peft-file';
