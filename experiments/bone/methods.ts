import '@t2/adapters-bone';
import '@t2/adapters-lora';
import type { LlamaForCausalLM } from '@t2/llama';
import { Rng, type Tensor } from '@t2/tensor-core';
import { adapterMethod } from '@t2/tuners';

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
  } else {
    rank = ranks[method];
    // The registry knows each name (bat and pissa are variants of bone and lora). LoRA's
    // alpha = r (scale 1), PEFT's convention for PiSSA; the lr sweep absorbs the scale.
    const m = adapterMethod(method)!;
    const config = m.config({ variant: method, r: rank, alpha: rank, targetModules: 'all-linear' });
    const handle = m.inject(model, config, { rng: new Rng(seed) });
    if (handle instanceof Promise) throw new Error(`${method}: inject must be synchronous`);
    params = handle.namedAdapterParameters();
  }
  const trainableParameters = params.reduce((n, [, p]) => n + p.size, 0);
  return { method, rank, params, trainableParameters };
}
