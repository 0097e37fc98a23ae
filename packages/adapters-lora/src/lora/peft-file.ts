import type { TargetModules } from '@t2/tensor-core';
import { isPissa, type LoraConfig, type LoraInit, loraConfig } from './config';

/** PEFT prefixes every key with the wrapper's path to the base model. */
export const PEFT_KEY_PREFIX = 'base_model.model.';

/** `base_model.model.<path>.lora_A.weight` / `.lora_B.weight`. */
export function peftKey(path: string, which: 'lora_A' | 'lora_B'): string {
  return `${PEFT_KEY_PREFIX}${path}.${which}.weight`;
}

/**
 * `adapter_config.json` for `config`, with the fields every PEFT release since DoRA (0.9)
 * reads; `'all-linear'` is written as the names it expanded to, like PEFT.
 */
export function toPeftConfig(
  config: LoraConfig,
  targets: readonly string[],
): Record<string, unknown> {
  const targetModules =
    config.targetModules === 'all-linear'
      ? [...new Set(targets.map((t) => t.split('.').pop()!))].sort()
      : typeof config.targetModules === 'string'
        ? config.targetModules
        : [...config.targetModules];
  return {
    alpha_pattern: { ...config.alphaPattern },
    auto_mapping: null,
    base_model_name_or_path: config.baseModelNameOrPath,
    bias: 'none',
    exclude_modules: listOrNull(config.excludeModules),
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: config.initLoraWeights,
    layers_pattern: listOrNull(config.layersPattern),
    layers_to_transform:
      config.layersToTransform == null
        ? null
        : typeof config.layersToTransform === 'number'
          ? config.layersToTransform
          : [...config.layersToTransform],
    lora_alpha: config.loraAlpha,
    lora_dropout: config.loraDropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: config.r,
    rank_pattern: { ...config.rankPattern },
    revision: null,
    target_modules: targetModules,
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: config.useRslora,
  };
}

function listOrNull(v: TargetModules | null | undefined): string | string[] | null {
  if (v == null) return null;
  return typeof v === 'string' ? v : [...v];
}

/** Reads a PEFT LoRA `adapter_config.json`; `file` names it in errors. */
export function fromPeftConfig(json: unknown, file: string): LoraConfig {
  if (!json || typeof json !== 'object') throw new Error(`${file}: not a JSON object`);
  const j = json as Record<string, unknown>;
  if (j.peft_type !== 'LORA') {
    throw new Error(
      `${file}: peft_type ${JSON.stringify(j.peft_type)} is not a LoRA adapter (expected "LORA")`,
    );
  }
  const unsupported = (field: string, why: string) => {
    throw new Error(`${file}: ${field} is not supported (${why})`);
  };
  if (j.use_dora === true) unsupported('use_dora: true', 'DoRA');
  if (j.fan_in_fan_out === true) unsupported('fan_in_fan_out: true', 'Conv1D layers');
  if (j.bias != null && j.bias !== 'none')
    unsupported(`bias ${JSON.stringify(j.bias)}`, 'only "none"');
  if (j.lora_bias === true) unsupported('lora_bias: true', 'only bias-free lora_B');
  if (Array.isArray(j.modules_to_save) && j.modules_to_save.length)
    unsupported('modules_to_save', 'adapters only');
  if (j.layer_replication != null) unsupported('layer_replication', 'no layer copies');
  const init = j.init_lora_weights ?? true;
  const loadable =
    init === true ||
    init === false ||
    init === 'gaussian' ||
    (typeof init === 'string' && isPissa(init as LoraInit));
  // Other initialisations (olora, loftq, corda, eva...) rewrite the base weights in ways t2 does not reproduce.
  if (!loadable)
    unsupported(
      `init_lora_weights ${JSON.stringify(init)}`,
      "t2 reproduces true, false, 'gaussian', 'pissa'",
    );
  if (j.target_modules == null) throw new Error(`${file}: target_modules is missing`);
  return loraConfig({
    r: j.r as number,
    loraAlpha: (j.lora_alpha as number | undefined) ?? 8,
    loraDropout: (j.lora_dropout as number | undefined) ?? 0,
    targetModules: j.target_modules as TargetModules,
    initLoraWeights: init as LoraInit,
    useRslora: j.use_rslora === true,
    excludeModules: (j.exclude_modules as TargetModules | null) ?? null,
    layersToTransform: (j.layers_to_transform as number | number[] | null) ?? null,
    layersPattern: (j.layers_pattern as string | string[] | null) ?? null,
    rankPattern: (j.rank_pattern as Record<string, number> | null) ?? {},
    alphaPattern: (j.alpha_pattern as Record<string, number> | null) ?? {},
    baseModelNameOrPath: (j.base_model_name_or_path as string | null) ?? null,
  });
}
