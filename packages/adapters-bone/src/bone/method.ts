import { formatShape, InputError, shapesEqual } from '@t2/tensor-core';
import type { AdapterMethod } from '@t2/tuners';
import { type BoneConfig, boneConfig, variantOf } from './config';
import { BoneLinear, boneBlockShape } from './layer';
import { boneModelOf, inject } from './model';
import { type BonePeftType, blockKeySuffix, fromPeftConfig } from './peft-file';

/** Bone as the tuners registry sees it; `--method bat` trains its BAT variant. */
export const boneMethod: AdapterMethod<BoneConfig> = {
  name: 'bone',
  label: 'Bone',
  variants: ['bat'],
  variantLabels: { bat: 'BAT' },
  summary: 'Bone / BAT block-affine adapters (PEFT BONE, MISS)',
  peftTypes: ['BONE', 'MISS'],
  config: (o) =>
    boneConfig({
      r: o.r,
      targetModules: o.targetModules,
      initWeights: o.variant === 'bat' ? 'bat' : true,
      baseModelNameOrPath: o.baseModelNameOrPath ?? null,
    }),
  layer: BoneLinear,
  inject: (model, config, opts) => inject(model, config, opts),
  handleOf: boneModelOf,
  files: {
    readConfig: (json, file) => fromPeftConfig(json, file).config,
    tensorNames: (type) => [blockKeySuffix(type as BonePeftType)],
    tensorNoun: (type) => `${type} block`,
    coverage: (type) => ({ missing: blockKeySuffix(type as BonePeftType), extra: 'blocks' }),
    checkShapes(config, path, { inFeatures, outFeatures }, tensors, source) {
      const [key, t] = [...tensors.values()][0]!;
      const want = boneBlockShape(variantOf(config.initWeights), config.r, outFeatures);
      const tiles =
        config.initWeights !== 'bat' ||
        (outFeatures % config.r === 0 && inFeatures % config.r === 0);
      if (!tiles || !shapesEqual(t.shape, want)) {
        throw new InputError(
          `${source}: module '${path}' (weight ${formatShape([outFeatures, inFeatures])}) needs a block of shape ${tiles ? formatShape(want) : `tiling it by ${config.r}×${config.r}`}, but '${key}' has shape ${formatShape(t.shape)}`,
        );
      }
    },
  },
};
