import type { TargetModules } from '@t2/tuners';

/**
 * How A and B start, named like PEFT's `init_lora_weights`: `true` (A Kaiming-uniform,
 * B zero), `'gaussian'` (A ~ N(0, 1/r²), B zero), `false` (both Kaiming-uniform: the
 * adapter is not a no-op; for tests), `'pissa'` (A, B from the top-r singular triplets of
 * W; the base keeps the residual). `'pissa_niter_<n>'` is PEFT's randomised-SVD PiSSA; t2
 * computes the exact truncated SVD for it.
 */
export type LoraInit = boolean | 'gaussian' | 'pissa' | `pissa_niter_${number}`;

export interface LoraConfig {
  r: number;
  /** Scaling is `loraAlpha / r` (or `/ sqrt(r)` with `useRslora`). */
  loraAlpha: number;
  loraDropout: number;
  /** Names, dotted suffixes, a regex, or `'all-linear'` (every Linear but `lm_head`). */
  targetModules: TargetModules;
  initLoraWeights: LoraInit;
  useRslora: boolean;
  excludeModules: TargetModules | null;
  layersToTransform: number | readonly number[] | null;
  layersPattern: string | readonly string[] | null;
  /** Per-module rank, keys matched as `(.*\.)?<key>$` (PEFT's `rank_pattern`). */
  rankPattern: Readonly<Record<string, number>>;
  /** Per-module alpha (PEFT's `alpha_pattern`). */
  alphaPattern: Readonly<Record<string, number>>;
  /** Recorded in `adapter_config.json` so Python can find the base model. */
  baseModelNameOrPath: string | null;
}

/** `r` and `targetModules` are required; `loraAlpha` defaults to `r` (scaling 1). */
export type LoraConfigInput = Pick<LoraConfig, 'r' | 'targetModules'> & Partial<LoraConfig>;

export function isPissa(init: LoraInit): boolean {
  return init === 'pissa' || (typeof init === 'string' && /^pissa_niter_\d+$/.test(init));
}

/** Fills defaults and checks the values. */
export function loraConfig(input: LoraConfigInput): LoraConfig {
  const cfg: LoraConfig = {
    loraAlpha: input.r,
    loraDropout: 0,
    initLoraWeights: true,
    useRslora: false,
    excludeModules: null,
    layersToTransform: null,
    layersPattern: null,
    rankPattern: {},
    alphaPattern: {},
    baseModelNameOrPath: null,
    ...input,
  };
  const positiveInt = (v: number, what: string) => {
    if (!Number.isInteger(v) || v <= 0)
      throw new Error(`LoraConfig: ${what} must be a positive integer, got ${v}`);
  };
  positiveInt(cfg.r, 'r');
  for (const [k, v] of Object.entries(cfg.rankPattern)) positiveInt(v, `rankPattern['${k}']`);
  if (!Number.isFinite(cfg.loraAlpha) || cfg.loraAlpha <= 0) {
    throw new Error(`LoraConfig: loraAlpha must be positive, got ${cfg.loraAlpha}`);
  }
  if (!(cfg.loraDropout >= 0 && cfg.loraDropout < 1)) {
    throw new Error(`LoraConfig: loraDropout must be in [0, 1), got ${cfg.loraDropout}`);
  }
  const init = cfg.initLoraWeights;
  if (init !== true && init !== false && init !== 'gaussian' && !isPissa(init)) {
    throw new Error(
      `LoraConfig: initLoraWeights ${JSON.stringify(init)} is not supported (true, false, 'gaussian', 'pissa', 'pissa_niter_<n>')`,
    );
  }
  if (
    typeof cfg.targetModules === 'string' &&
    cfg.targetModules !== 'all-linear' &&
    cfg.layersToTransform != null
  ) {
    throw new Error('LoraConfig: layersToTransform cannot be used when targetModules is a regex');
  }
  return cfg;
}

function patternKey(pattern: Readonly<Record<string, number>>, path: string): string | undefined {
  return Object.keys(pattern).find((key) => new RegExp(`^(?:.*\\.)?(?:${key})$`).test(path));
}

/** Rank and alpha for the layer at `path`, after `rankPattern` / `alphaPattern`. */
export function rankAndAlpha(cfg: LoraConfig, path: string): { r: number; alpha: number } {
  const rk = patternKey(cfg.rankPattern, path);
  const ak = patternKey(cfg.alphaPattern, path);
  return {
    r: rk === undefined ? cfg.r : cfg.rankPattern[rk]!,
    alpha: ak === undefined ? cfg.loraAlpha : cfg.alphaPattern[ak]!,
  };
}

/** `alpha / r`, or `alpha / sqrt(r)` for rank-stabilised LoRA. */
export function scalingOf(r: number, alpha: number, useRslora: boolean): number {
  return useRslora ? alpha / Math.sqrt(r) : alpha / r;
}
