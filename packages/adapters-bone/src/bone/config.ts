import type { TargetModules } from '@t2/tuners';

/**
 * The two Bone variants, named like PEFT's `init_weights`: `true` is Bone (block `(r, out)`,
 * zeros), `'bat'` is the Block Affine Transformation (block `(out/r, r, r)`, zeros), and
 * `false` is Bone with a Kaiming-uniform block (PEFT's test-only random start).
 */
export type BoneInitWeights = boolean | 'bat';

export interface BoneConfig {
  /** Block width: the input is read in groups of `r` features. */
  r: number;
  /** Names, dotted suffixes, a regex, or `'all-linear'` (every Linear but `lm_head`). */
  targetModules: TargetModules;
  initWeights: BoneInitWeights;
  excludeModules: TargetModules | null;
  layersToTransform: number | readonly number[] | null;
  layersPattern: string | readonly string[] | null;
  /** Recorded in `adapter_config.json` so Python can find the base model. */
  baseModelNameOrPath: string | null;
}

export type BoneConfigInput = Pick<BoneConfig, 'r' | 'targetModules'> & Partial<BoneConfig>;

/** Fills defaults (Bone, no layer filter) and checks the values. */
export function boneConfig(input: BoneConfigInput): BoneConfig {
  const cfg: BoneConfig = {
    initWeights: true,
    excludeModules: null,
    layersToTransform: null,
    layersPattern: null,
    baseModelNameOrPath: null,
    ...input,
  };
  if (!Number.isInteger(cfg.r) || cfg.r <= 0) {
    throw new Error(`BoneConfig: r must be a positive integer, got ${cfg.r}`);
  }
  if (cfg.initWeights !== true && cfg.initWeights !== false && cfg.initWeights !== 'bat') {
    throw new Error(
      `BoneConfig: initWeights must be true, false or 'bat', got ${JSON.stringify(cfg.initWeights)}`,
    );
  }
  if (
    typeof cfg.targetModules === 'string' &&
    cfg.targetModules !== 'all-linear' &&
    cfg.layersToTransform != null
  ) {
    throw new Error('BoneConfig: layersToTransform cannot be used when targetModules is a regex');
  }
  return cfg;
}

/** 'bone' or 'bat', the shape family of the trainable block. */
export type BoneVariant = 'bone' | 'bat';

export function variantOf(initWeights: BoneInitWeights): BoneVariant {
  return initWeights === 'bat' ? 'bat' : 'bone';
}
