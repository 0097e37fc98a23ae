import { InputError } from '@t2/tensor-core';
import { PEFT_KEY_PREFIX, peftConfigJson, readPeftConfig } from '@t2/tuners';
import { isPissa, type LoraConfig, type LoraInit, loraConfig } from './config';

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
  return peftConfigJson('LORA', config, targets, {
    alpha_pattern: { ...config.alphaPattern },
    fan_in_fan_out: false,
    init_lora_weights: config.initLoraWeights,
    lora_alpha: config.loraAlpha,
    lora_dropout: config.loraDropout,
    r: config.r,
    rank_pattern: { ...config.rankPattern },
    use_dora: false,
    use_rslora: config.useRslora,
  });
}

/** Reads a PEFT LoRA `adapter_config.json`; `file` names it in errors. */
export function fromPeftConfig(json: unknown, file: string): LoraConfig {
  const { json: j, selection } = readPeftConfig(json, file, 'LoRA', ['LORA']);
  const unsupported = (field: string, why: string) => {
    throw new InputError(`${file}: ${field} is not supported (${why})`);
  };
  if (j.use_dora === true) unsupported('use_dora: true', 'DoRA');
  if (j.fan_in_fan_out === true) unsupported('fan_in_fan_out: true', 'Conv1D layers');
  if (j.lora_bias === true) unsupported('lora_bias: true', 'only bias-free lora_B');
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
  return loraConfig({
    ...selection,
    r: j.r as number,
    loraAlpha: (j.lora_alpha as number | undefined) ?? 8,
    loraDropout: (j.lora_dropout as number | undefined) ?? 0,
    initLoraWeights: init as LoraInit,
    useRslora: j.use_rslora === true,
    rankPattern: (j.rank_pattern as Record<string, number> | null) ?? {},
    alphaPattern: (j.alpha_pattern as Record<string, number> | null) ?? {},
  });
}
