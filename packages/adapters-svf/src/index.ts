export { composeWeight, composeWeightFromMask, maskFromZ, maskValues } from './compose';
export {
  matchesTarget,
  type ResolvedSvfConfig,
  resolveSvfConfig,
  SVF_DEFAULT_TARGETS,
  type SvfConfig,
} from './config';
export {
  expertMasks,
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
export { inject, type SvfInjectStats, SvfModel } from './model';
