// @t2/adapters-svf: SVF layers, experts and mixing. Importing it registers the method
// 'svf' with @t2/tuners.

import { registerAdapterMethod } from '@t2/tuners';
import { svfMethod } from './method';

registerAdapterMethod(svfMethod);

export { composeWeight, composeWeightFromMask, maskFromZ, maskValues } from './compose';
export {
  MLP_TARGETS,
  matchesTarget,
  type ResolvedSvfConfig,
  resolveSvfConfig,
  SVF_DEFAULT_TARGETS,
  type SvfConfig,
} from './config';
export {
  expertMasks,
  MIXINGS,
  type Mixing,
  type MixOptions,
  type MixWeights,
  mix,
  type SvfExpert,
  type SvfExpertMeta,
  type SvfMasks,
} from './expert';
export {
  EXPERT_FORMAT,
  ExpertError,
  type LoadExpertOptions,
  loadExpert,
  parseExpert,
  saveExpert,
  serializeExpert,
} from './expert-file';
export { decomposeWeight, factorsFromArrays, type SvfFactors } from './factors';
export { baseFingerprint, type WeightLike, weightHash } from './hash';
export { SvfLinear, type SvfLinearOptions } from './layer';
export { svfMethod } from './method';
export { inject, SVF_EXPERT_FILE, type SvfInjectStats, SvfModel, svfModelOf } from './model';
