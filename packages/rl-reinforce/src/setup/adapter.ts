import * as lora from '@t2/adapters-lora';
import * as svf from '@t2/adapters-svf';
import type { LlamaForCausalLM } from '@t2/llama';
import { Rng, type Tensor } from '@t2/tensor-core';
import { joinPath } from './join-path';

/** What REINFORCE can train: an SVF expert, or a LoRA adapter (the paper's baseline). */
export const RL_METHODS = ['svf', 'lora'] as const;
export type RlMethod = (typeof RL_METHODS)[number];

/** The adapter being trained: its parameters, the KL switch, and how to write the result. */
export interface RlAdapter {
  params: [string, Tensor][];
  setEnabled(flag: boolean): void;
  /** Writes the adapter as it is now into `out`; returns the path written. */
  save(out: string): Promise<string>;
  /** SVF: how many weights' SVD factors came from the cache and how many were computed. */
  svd?: { cached: number; decomposed: number; cacheDir: string };
}

export interface RlAdapterOptions {
  /** Layer names to adapt; default the MLP projections (SVF's default, and LoRA's here so the two compare like for like). */
  targets?: readonly string[];
  seed: number;
  /** LoRA rank and alpha. */
  r: number;
  alpha: number;
  /** SVD factor cache of SVF. */
  cacheDir?: string;
  /** Recorded in the files as the base model. */
  baseModel: string;
  /** The expert's task label (SVF). */
  label: string;
}

/**
 * Installs the method's adapter on the model for REINFORCE. SVF writes
 * `<out>/expert.safetensors`, LoRA a PEFT folder `<out>/lora`.
 */
export async function prepareRlAdapter(
  model: LlamaForCausalLM,
  method: RlMethod,
  opts: RlAdapterOptions,
): Promise<RlAdapter> {
  const targets = [...(opts.targets ?? svf.MLP_TARGETS)];
  if (method === 'svf') {
    const h = await svf.inject(model, {
      targetModules: targets,
      seed: opts.seed,
      cacheDir: opts.cacheDir,
      baseModelName: opts.baseModel,
    });
    return {
      params: h.namedAdapterParameters(),
      setEnabled: (flag) => (flag ? h.enable() : h.disable()),
      save: async (out) => {
        const path = joinPath(out, svf.SVF_EXPERT_FILE);
        await svf.saveExpert(path, h.expert({ task: opts.label }), {}, h);
        return path;
      },
      ...(opts.cacheDir !== undefined && { svd: { ...h.stats, cacheDir: opts.cacheDir } }),
    };
  }
  const h = lora.inject(
    model,
    {
      r: opts.r,
      loraAlpha: opts.alpha,
      targetModules: targets,
      baseModelNameOrPath: opts.baseModel,
    },
    { rng: new Rng(opts.seed) },
  );
  return {
    params: h.namedAdapterParameters(),
    setEnabled: (flag) => (flag ? h.enable() : h.disable()),
    save: async (out) => {
      const dir = joinPath(out, 'lora');
      await h.save(dir);
      return dir;
    },
  };
}
