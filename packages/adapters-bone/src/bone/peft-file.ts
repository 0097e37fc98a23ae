import type { TargetModules } from '@t2/tensor-core';
import { type BoneConfig, boneConfig } from './config';

/** PEFT prefixes every key with the wrapper's path to the base model. */
export const PEFT_KEY_PREFIX = 'base_model.model.';

/** The two names of the method: Bone, and MiSS in newer PEFT (same math, `.miss_block` keys). */
export type BonePeftType = 'BONE' | 'MISS';

export function blockKeySuffix(peftType: BonePeftType): string {
  return peftType === 'MISS' ? 'miss_block' : 'bone_block';
}

/** `base_model.model.<path>.bone_block`, PEFT's key for one layer's block. */
export function peftKey(path: string, peftType: BonePeftType = 'BONE'): string {
  return `${PEFT_KEY_PREFIX}${path}.${blockKeySuffix(peftType)}`;
}

/** `adapter_config.json` for `config`; `'all-linear'` is written as the names it expanded to, like PEFT. */
export function toPeftConfig(
  config: BoneConfig,
  targets: readonly string[],
): Record<string, unknown> {
  const targetModules =
    config.targetModules === 'all-linear'
      ? [...new Set(targets.map((t) => t.split('.').pop()!))].sort()
      : typeof config.targetModules === 'string'
        ? config.targetModules
        : [...config.targetModules];
  return {
    auto_mapping: null,
    base_model_name_or_path: config.baseModelNameOrPath,
    bias: 'none',
    exclude_modules: listOrNull(config.excludeModules),
    inference_mode: true,
    init_weights: config.initWeights,
    layers_pattern: listOrNull(config.layersPattern),
    layers_to_transform:
      config.layersToTransform == null ? null : listOrNumber(config.layersToTransform),
    modules_to_save: null,
    peft_type: 'BONE',
    r: config.r,
    revision: null,
    target_modules: targetModules,
    task_type: 'CAUSAL_LM',
  };
}

function listOrNull(v: TargetModules | null | undefined): string | string[] | null {
  if (v == null) return null;
  return typeof v === 'string' ? v : [...v];
}

function listOrNumber(v: number | readonly number[]): number | number[] {
  return typeof v === 'number' ? v : [...v];
}

/** Reads a PEFT `adapter_config.json` (BONE or MISS) into a config; `file` names it in errors. */
export function fromPeftConfig(
  json: unknown,
  file: string,
): { config: BoneConfig; peftType: BonePeftType } {
  if (!json || typeof json !== 'object') throw new Error(`${file}: not a JSON object`);
  const j = json as Record<string, unknown>;
  const peftType = j.peft_type;
  if (peftType !== 'BONE' && peftType !== 'MISS') {
    throw new Error(
      `${file}: peft_type ${JSON.stringify(peftType)} is not a Bone adapter (expected "BONE" or "MISS")`,
    );
  }
  const init = j.init_weights ?? true;
  if (init === 'mini')
    throw new Error(`${file}: MiSS init_weights "mini" is not supported (only true and "bat")`);
  if (init !== true && init !== false && init !== 'bat') {
    throw new Error(
      `${file}: init_weights ${JSON.stringify(init)} is not one of true, false, "bat"`,
    );
  }
  if (j.bias !== undefined && j.bias !== null && j.bias !== 'none') {
    throw new Error(`${file}: bias ${JSON.stringify(j.bias)} is not supported (only "none")`);
  }
  if (Array.isArray(j.modules_to_save) && j.modules_to_save.length > 0) {
    throw new Error(`${file}: modules_to_save (${j.modules_to_save.join(', ')}) is not supported`);
  }
  if (j.target_modules == null) throw new Error(`${file}: target_modules is missing`);
  const config = boneConfig({
    r: j.r as number,
    targetModules: j.target_modules as TargetModules,
    initWeights: init,
    excludeModules: (j.exclude_modules as TargetModules | null) ?? null,
    layersToTransform: (j.layers_to_transform as number | number[] | null) ?? null,
    layersPattern: (j.layers_pattern as string | string[] | null) ?? null,
    baseModelNameOrPath: (j.base_model_name_or_path as string | null) ?? null,
  });
  return { config, peftType };
}
