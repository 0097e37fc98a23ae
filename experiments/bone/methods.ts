import * as bone from '@t2/adapters-bone';
import * as lora from '@t2/adapters-lora';
import type { LlamaForCausalLM } from '@t2/llama';
import { Rng, type Tensor } from '@t2/tensor-core';

export const METHODS = ['bone', 'bat', 'lora', 'pissa', 'full'] as const;
export type Method = (typeof METHODS)[number];

/** Ranks chosen so every adapter trains about the same number of parameters. */
export interface Ranks {
  bone: number;
  bat: number;
  lora: number;
  pissa: number;
}

export interface PreparedMethod {
  method: Method;
  /** Adapter rank (null for full fine-tuning). */
  rank: number | null;
  params: [string, Tensor][];
  trainableParameters: number;
}

/**
 * Installs `method` on a freshly loaded model over every Linear but the output head
 * (`'all-linear'`), or unfreezes the whole model for full fine-tuning. Each adapter starts
 * as the identity on the base model: Bone/BAT blocks and LoRA's B are zero, PiSSA moves
 * its top-r part out of the frozen residual.
 */
export function prepareMethod(
  model: LlamaForCausalLM,
  method: Method,
  ranks: Ranks,
  seed: number,
): PreparedMethod {
  let params: [string, Tensor][];
  let rank: number | null = null;
  if (method === 'full') {
    model.requiresGrad(true);
    params = model.namedParameters();
  } else if (method === 'bone' || method === 'bat') {
    rank = ranks[method];
    const handle = bone.inject(model, {
      r: rank,
      targetModules: 'all-linear',
      initWeights: method === 'bat' ? 'bat' : true,
    });
    params = handle.namedAdapterParameters();
  } else {
    rank = ranks[method];
    // loraAlpha = r (scale 1), PEFT's convention for PiSSA; the lr sweep absorbs the scale.
    const handle = lora.inject(
      model,
      {
        r: rank,
        loraAlpha: rank,
        targetModules: 'all-linear',
        initLoraWeights: method === 'pissa' ? 'pissa' : true,
      },
      { rng: new Rng(seed) },
    );
    params = handle.namedAdapterParameters();
  }
  const trainableParameters = params.reduce((n, [, p]) => n + p.size, 0);
  return { method, rank, params, trainableParameters };
}
