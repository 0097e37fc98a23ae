import { InputError } from '@t2/tensor-core';
import { PEFT_KEY_PREFIX, peftConfigJson, readPeftConfig } from '@t2/tuners';
import { type BoneConfig, boneConfig } from './config';

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
  return peftConfigJson('BONE', config, targets, { init_weights: config.initWeights, r: config.r });
}

/** Reads a PEFT `adapter_config.json` (BONE or MISS) into a config; `file` names it in errors. */
export function fromPeftConfig(
  json: unknown,
  file: string,
): { config: BoneConfig; peftType: BonePeftType } {
  const { json: j, peftType, selection } = readPeftConfig(json, file, 'Bone', ['BONE', 'MISS']);
  const init = j.init_weights ?? true;
  if (init === 'mini')
    throw new InputError(
      `${file}: MiSS init_weights "mini" is not supported (only true and "bat")`,
    );
  if (init !== true && init !== false && init !== 'bat') {
    throw new InputError(
      `${file}: init_weights ${JSON.stringify(init)} is not one of true, false, "bat"`,
    );
  }
  const config = boneConfig({ ...selection, r: j.r as number, initWeights: init });
  return { config, peftType: peftType as BonePeftType };
}
