import { matchesTargetModules, type TargetPatterns } from '@t2/tuners';

/** Which Linear layers SVF adapts and how its experts are parameterised (PEFT-style config). */
export interface SvfConfig {
  /**
   * Layers to adapt, with the target rule of every t2 method (`@t2/tuners`): a list entry
   * matches a module whose dotted path equals it or ends with `.${name}` (a RegExp entry
   * is tested against the full path); a lone string is a regex for the whole path;
   * `'all-linear'` is every Linear but `lm_head`. Default: the MLP projections.
   */
  targetModules?: TargetPatterns;
  /** Upper bound of the mask, `m = sigmoid(z) · maxMult` (reference default 1). */
  maxMult?: number;
  /** Centre of the initial `z` (reference default 0.1). */
  initVal?: number;
  /** Standard deviation of the noise added to `initVal` (reference: 0.01). */
  initStd?: number;
  /** Seed of the generator that draws the initial `z`. */
  seed?: number;
  /** Folder where the SVD factors of each target weight are kept between runs (Node only). */
  cacheDir?: string;
  /**
   * Worker threads for the SVDs of the target weights (Node; `svdMany` of `@t2/svd`). Default:
   * `T2_SVD_THREADS` from the environment, else the host's cores, at most 8; 1 decomposes on
   * the calling thread. The factors are the same whatever the count.
   */
  svdThreads?: number;
  /** Name of the base model, written into expert files (e.g. `stories260K`). */
  baseModelName?: string;
}

export interface ResolvedSvfConfig {
  targetModules: TargetPatterns;
  maxMult: number;
  initVal: number;
  initStd: number;
  seed: number;
  cacheDir: string | undefined;
  svdThreads: number | undefined;
  baseModelName: string;
}

/** The MLP projections of a LLaMA-family block: SVF's default targets (and RL's). */
export const MLP_TARGETS: readonly string[] = Object.freeze(['gate_proj', 'up_proj', 'down_proj']);

export const SVF_DEFAULT_TARGETS = MLP_TARGETS;

export function resolveSvfConfig(config: SvfConfig = {}): ResolvedSvfConfig {
  const resolved: ResolvedSvfConfig = {
    targetModules: config.targetModules ?? SVF_DEFAULT_TARGETS,
    maxMult: config.maxMult ?? 1,
    initVal: config.initVal ?? 0.1,
    initStd: config.initStd ?? 0.01,
    seed: config.seed ?? 0,
    cacheDir: config.cacheDir,
    svdThreads: config.svdThreads,
    baseModelName: config.baseModelName ?? '',
  };
  if (!(resolved.maxMult > 0) || !Number.isFinite(resolved.maxMult)) {
    throw new Error(`SvfConfig: maxMult must be a finite number > 0, got ${config.maxMult}`);
  }
  if (!Number.isFinite(resolved.initVal)) {
    throw new Error(`SvfConfig: initVal must be finite, got ${config.initVal}`);
  }
  if (!(resolved.initStd >= 0) || !Number.isFinite(resolved.initStd)) {
    throw new Error(`SvfConfig: initStd must be finite and ≥ 0, got ${config.initStd}`);
  }
  if (!Number.isInteger(resolved.seed)) {
    throw new Error(`SvfConfig: seed must be an integer, got ${config.seed}`);
  }
  if (
    resolved.svdThreads !== undefined &&
    !(Number.isInteger(resolved.svdThreads) && resolved.svdThreads >= 1)
  ) {
    throw new Error(`SvfConfig: svdThreads must be an integer ≥ 1, got ${config.svdThreads}`);
  }
  if (resolved.targetModules.length === 0) {
    throw new Error('SvfConfig: targetModules is empty');
  }
  return resolved;
}

/**
 * Whether the module at `path` is one of the targets.
 * @deprecated use `matchesTargetModules(path, targets)` of @t2/tuners (the same rule).
 */
export function matchesTarget(path: string, targets: TargetPatterns): boolean {
  return matchesTargetModules(path, targets);
}
