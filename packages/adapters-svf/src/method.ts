import type { AdapterMethod } from '@t2/tuners';
import type { SvfConfig } from './config';
import { SvfLinear } from './layer';
import { inject, svfModelOf } from './model';

/**
 * SVF as the tuners registry sees it. Its adapters are expert files, not PEFT folders
 * (`files: null`); `save(dir)` writes `dir/expert.safetensors`. SVF has no rank: it
 * scales every singular value, so `r` and `alpha` are not used.
 */
export const svfMethod: AdapterMethod<SvfConfig> = {
  name: 'svf',
  label: 'SVF',
  summary: 'SVF singular-value experts (t2 expert files)',
  peftTypes: [],
  config: (o) => ({
    targetModules: o.targetModules,
    baseModelName: o.baseModelNameOrPath ?? undefined,
  }),
  layer: SvfLinear,
  inject: (model, config) => inject(model, config),
  handleOf: svfModelOf,
  files: null,
};
