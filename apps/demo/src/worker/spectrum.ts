import { expertMasks, type SvfExpert, type SvfModel } from '@t2/adapters-svf';
import type { LlamaForCausalLM } from '@t2/llama';
import { singularValues } from '@t2/svd';
import { Linear } from '@t2/tensor-core';
import type { Spectrum } from '../protocol';

/** Module paths of the model's Linear layers (the output head excluded). */
export function linearPaths(model: LlamaForCausalLM): string[] {
  return model
    .namedModules()
    .filter(([path, m]) => m instanceof Linear && path !== 'lm_head')
    .map(([path]) => path);
}

/**
 * σ of one weight and the mask each expert puts on it. With SVF layers in place the
 * factors are the ones the experts were trained against; other weights are decomposed here.
 */
export function spectrum(
  weight: string,
  model: LlamaForCausalLM,
  svf: SvfModel | null,
  experts: readonly { name: string; label: string; expert: SvfExpert }[],
): Spectrum {
  const layer = svf?.layers.get(weight);
  let sigma: number[];
  let shape: [number, number];
  if (layer) {
    sigma = Array.from(layer.factors.singularValues.data);
    shape = [layer.outFeatures, layer.inFeatures];
  } else {
    let m: unknown;
    try {
      m = model.getSubmodule(weight);
    } catch {
      throw new Error(`spectrum: the model has no layer '${weight}'`);
    }
    if (!(m instanceof Linear)) throw new Error(`spectrum: '${weight}' is not a Linear layer`);
    sigma = Array.from(singularValues(m.weight, { name: `${weight}.weight` }));
    shape = [m.weight.shape[0]!, m.weight.shape[1]!];
  }
  const masks = experts
    .filter((e) => e.expert.z.has(weight))
    .map((e) => ({
      expert: e.name,
      label: e.label,
      values: Array.from(expertMasks(e.expert).get(weight)!),
    }));
  return {
    weight,
    shape,
    singularValues: sigma,
    masks,
    maxMult: experts[0]?.expert.maxMult ?? 1,
  };
}
