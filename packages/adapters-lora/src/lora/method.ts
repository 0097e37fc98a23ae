import { formatShape, InputError, shapesEqual } from '@t2/tensor-core';
import type { AdapterMethod } from '@t2/tuners';
import { type LoraConfig, loraConfig, rankAndAlpha } from './config';
import { LoraLinear } from './layer';
import { inject, loraModelOf } from './model';
import { fromPeftConfig } from './peft-file';

/** LoRA as the tuners registry sees it; `--method pissa` starts it from W's top singular triplets. */
export const loraMethod: AdapterMethod<LoraConfig> = {
  name: 'lora',
  label: 'LoRA',
  variants: ['pissa'],
  variantLabels: { pissa: 'PiSSA' },
  summary: 'LoRA and PiSSA low-rank adapters (PEFT LORA)',
  peftTypes: ['LORA'],
  config: (o) =>
    loraConfig({
      r: o.r,
      loraAlpha: o.alpha ?? o.r,
      targetModules: o.targetModules,
      initLoraWeights: o.variant === 'pissa' ? 'pissa' : true,
      baseModelNameOrPath: o.baseModelNameOrPath ?? null,
    }),
  layer: LoraLinear,
  inject: (model, config, opts) => inject(model, config, opts),
  handleOf: loraModelOf,
  files: {
    readConfig: fromPeftConfig,
    tensorNames: () => ['lora_A.weight', 'lora_B.weight'],
    tensorNoun: () => 'LoRA weight',
    coverage: () => ({ missing: 'LoRA weights', extra: 'weights' }),
    checkShapes(config, path, { inFeatures, outFeatures }, tensors, source) {
      const { r } = rankAndAlpha(config, path);
      for (const [which, want] of [
        ['A', [r, inFeatures]],
        ['B', [outFeatures, r]],
      ] as const) {
        const [key, t] = tensors.get(`lora_${which}.weight`)!;
        if (!shapesEqual(t.shape, want)) {
          throw new InputError(
            `${source}: module '${path}' (weight ${formatShape([outFeatures, inFeatures])}, r = ${r}) needs lora_${which} of shape ${formatShape(want)}, but '${key}' has shape ${formatShape(t.shape)}`,
          );
        }
      }
    },
  },
};
