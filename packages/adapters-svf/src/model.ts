import { Linear, type Module, Rng, type Tensor } from '@t2/tensor-core';
import { BaseTuner, matchesTargetModules, selectTargetModules } from '@t2/tuners';
import { loadOrDecomposeAll } from './cache';
import { type ResolvedSvfConfig, resolveSvfConfig, type SvfConfig } from './config';
import {
  type MixOptions,
  type MixWeights,
  mix,
  type SvfExpert,
  type SvfExpertMeta,
  type SvfMasks,
} from './expert';
import { saveExpert } from './expert-file';
import { baseFingerprint, weightHash } from './hash';
import { SvfLinear } from './layer';

/** What `inject` reports about the decomposition step. */
export interface SvfInjectStats {
  /** Target weights whose factors came from `cacheDir`. */
  cached: number;
  /** Target weights decomposed in this call. */
  decomposed: number;
}

/** The file `SvfModel.save(dir)` writes its expert to. */
export const SVF_EXPERT_FILE = 'expert.safetensors';

// Each model has at most one SVF handle.
const handles = new WeakMap<Module, SvfModel>();

/** The SVF handle of a model that has SVF layers, or undefined. */
export function svfModelOf(model: Module): SvfModel | undefined {
  return handles.get(model);
}

/**
 * A model with SVF layers in place of its target Linears: the handle through which
 * experts are trained, saved, swapped and mixed. Its adapter parameter is each layer's
 * `z`; enabling, merging and unloading have the names of every method (`BaseTuner`).
 */
export class SvfModel<M extends Module = Module> extends BaseTuner {
  declare readonly model: M;

  constructor(
    model: M,
    readonly config: ResolvedSvfConfig,
    /** The adapted layers by module path, in model order. */
    readonly layers: ReadonlyMap<string, SvfLinear>,
    readonly stats: SvfInjectStats,
    /** `baseFingerprint` of all adapted weights, written into experts made here. */
    readonly baseFingerprint: string,
  ) {
    super(model, 'SVF');
    handles.set(model, this);
  }

  /** Module paths of the adapted weights, in model order. */
  get targets(): string[] {
    return [...this.layers.keys()];
  }

  /** The z vectors, named like the model's parameters (`….mlp.up_proj.svf_z`). */
  namedAdapterParameters(): [string, Tensor][] {
    return [...this.layers].map(([path, layer]) => [`${path}.svf_z`, layer.z]);
  }

  /** @deprecated use `namedAdapterParameters()` (the name every method uses). */
  namedTrainableParameters(): [string, Tensor][] {
    return this.namedAdapterParameters();
  }

  /** Writes the current z as an expert file, `<dir>/expert.safetensors` (see `saveExpert`). */
  async save(dir: string): Promise<void> {
    await saveExpert(`${dir.replace(/[\\/]+$/, '')}/${SVF_EXPERT_FILE}`, this.expert(), {}, this);
  }

  /** A copy of the current z vectors as an expert. */
  expert(meta: SvfExpertMeta = {}): SvfExpert {
    return {
      z: new Map([...this.layers].map(([path, l]) => [path, l.z.data.slice()])),
      maxMult: this.config.maxMult,
      meta: {
        baseModel: this.config.baseModelName || undefined,
        baseFingerprint: this.baseFingerprint,
        ...meta,
      },
    };
  }

  /** Loads an expert's z into every layer (and returns to z-driven masks, e.g. to train on). */
  setExpert(expert: SvfExpert): void {
    this.checkTargets(expert.z, 'setExpert');
    this.checkBase(expert, 'setExpert');
    if (expert.maxMult !== this.config.maxMult) {
      throw new Error(
        `setExpert: the expert uses maxMult ${expert.maxMult}, this model was injected with ${this.config.maxMult}`,
      );
    }
    for (const [path, layer] of this.layers) layer.setZ(expert.z.get(path)!);
  }

  /** Fixes every layer's mask (one vector per adapted weight); null returns to z-driven masks. */
  setMask(masks: SvfMasks | null): void {
    if (masks === null) {
      for (const layer of this.layers.values()) layer.setMask(null);
      return;
    }
    this.checkTargets(masks, 'setMask');
    for (const [path, layer] of this.layers) layer.setMask(masks.get(path)!);
  }

  /** `setMask(mix(experts, alpha, opts))`: a Transformer² mixture of experts. */
  setMixture(experts: readonly SvfExpert[], alpha: MixWeights, opts: MixOptions = {}): SvfMasks {
    experts.forEach((e, i) => {
      this.checkBase(e, `setMixture (expert ${i})`);
    });
    const masks = mix(experts, alpha, opts);
    this.setMask(masks);
    return masks;
  }

  /** The masks in use now. */
  currentMasks(): SvfMasks {
    return new Map([...this.layers].map(([path, l]) => [path, l.currentMask()]));
  }

  get enabled(): boolean {
    return [...this.layers.values()].every((l) => l.isEnabled);
  }

  get disabled(): boolean {
    return !this.enabled;
  }

  /** With adapters disabled the model computes exactly the base model (also while merged). */
  disable(): void {
    for (const layer of this.layers.values()) layer.disabled = true;
  }

  enable(): void {
    for (const layer of this.layers.values()) layer.disabled = false;
  }

  /** @deprecated use `enable()` / `disable()`. */
  setEnabled(flag: boolean): void {
    if (flag) this.enable();
    else this.disable();
  }

  /** @deprecated use `withDisabled(fn)` (the name every method uses). */
  withBase<T>(fn: () => T): T {
    return this.withDisabled(fn);
  }

  /** Bakes the current W' into every adapted Linear weight (faster inference, no adapter math). */
  merge(): void {
    for (const layer of this.layers.values()) layer.merge();
  }

  /** Restores the base weights exactly. */
  unmerge(): void {
    for (const layer of this.layers.values()) layer.unmerge();
  }

  get merged(): boolean {
    return [...this.layers.values()].some((l) => l.isMerged);
  }

  /** Puts plain Linear layers back carrying W' for the current mask; the handle is spent. */
  mergeAndUnload(): M {
    return this.unloadLayers(true);
  }

  /**
   * Puts the plain base Linear layers back (PEFT's `unload`); the handle is spent.
   * `{ merge: true }` is the deprecated spelling of `mergeAndUnload()`.
   */
  unload(opts: { merge?: boolean } = {}): M {
    return this.unloadLayers(opts.merge === true);
  }

  private unloadLayers(merge: boolean): M {
    for (const [path, layer] of this.layers) {
      if (merge) layer.merge();
      else layer.unmerge();
      // A private generator: the placeholder init must not advance the global one.
      const lin = new Linear(layer.inFeatures, layer.outFeatures, {
        bias: layer.bias !== null,
        rng: new Rng(0),
      });
      lin.weight = lin.registerParameter('weight', layer.weight, false);
      if (layer.bias) lin.bias = lin.registerParameter('bias', layer.bias, false);
      this.model.setSubmodule(path, lin);
    }
    (this.layers as Map<string, SvfLinear>).clear();
    handles.delete(this.model);
    return this.model;
  }

  /** The hashes of the adapted base weights, by module path. */
  weightHashes(): Map<string, string> {
    return new Map([...this.layers].map(([path, l]) => [path, l.weightHash]));
  }

  /** The base-model fingerprint of a set of adapted weights (all of them by default). */
  fingerprint(paths: readonly string[] = this.targets): Promise<string> {
    const hashes = new Map<string, string>();
    for (const p of paths) {
      const layer = this.layers.get(p);
      if (!layer) throw new Error(`fingerprint: '${p}' is not an SVF-adapted layer of this model`);
      hashes.set(p, layer.weightHash);
    }
    return baseFingerprint(hashes);
  }

  /** Experts record the fingerprint of the weights they were trained on; it must be ours. */
  private checkBase(expert: SvfExpert, op: string): void {
    const fp = expert.meta.baseFingerprint;
    if (fp !== undefined && fp !== this.baseFingerprint) {
      throw new Error(
        `${op}: the expert${expert.meta.task ? ` '${expert.meta.task}'` : ''} was made for another base model${expert.meta.baseModel ? ` ('${expert.meta.baseModel}')` : ''} (fingerprint ${fp.slice(0, 16)}…, this model ${this.baseFingerprint.slice(0, 16)}…)`,
      );
    }
  }

  private checkTargets(byPath: ReadonlyMap<string, ArrayLike<number>>, op: string): void {
    const missing = this.targets.filter((p) => !byPath.has(p));
    const extra = [...byPath.keys()].filter((p) => !this.layers.has(p));
    if (missing.length || extra.length) {
      throw new Error(
        `${op}: the expert does not match the adapted layers (${[
          missing.length ? `missing ${preview(missing)}` : '',
          extra.length ? `unknown ${preview(extra)}` : '',
        ]
          .filter(Boolean)
          .join('; ')})`,
      );
    }
    for (const [path, layer] of this.layers) {
      const n = byPath.get(path)!.length;
      if (n !== layer.rank)
        throw new Error(`${op}: '${path}' has ${n} values, the layer has rank ${layer.rank}`);
    }
  }
}

function preview(paths: string[]): string {
  return paths.length > 3
    ? `${paths.slice(0, 3).join(', ')} and ${paths.length - 3} more`
    : paths.join(', ');
}

/**
 * Replaces every target Linear of `model` by an SVF layer: decomposes each weight once
 * (or reads its factors from `config.cacheDir`), freezes the whole model, and draws
 * `z = initVal + initStd·N(0, 1)` from `config.seed`, in model order.
 */
export async function inject<M extends Module>(
  model: M,
  config: SvfConfig = {},
): Promise<SvfModel<M>> {
  const cfg = resolveSvfConfig(config);
  const already = model
    .namedModules()
    .filter(([path, m]) => m instanceof SvfLinear && matchesTargetModules(path, cfg.targetModules))
    .map(([p]) => p);
  if (already.length) throw new Error(`inject: ${preview(already)} already carry SVF adapters`);
  const paths = selectTargetModules(model, { targetModules: cfg.targetModules });
  if (paths.length === 0) {
    const list = typeof cfg.targetModules === 'string' ? [cfg.targetModules] : cfg.targetModules;
    throw new Error(
      `inject: no Linear layer matches targetModules [${list.map(String).join(', ')}]`,
    );
  }
  const linears = paths.map((p): [string, Linear] => [p, model.getSubmodule(p) as Linear]);
  model.requiresGrad(false);
  const rng = new Rng(cfg.seed);
  const layers = new Map<string, SvfLinear>();
  const stats: SvfInjectStats = { cached: 0, decomposed: 0 };
  const hashes: string[] = [];
  for (const [, linear] of linears) hashes.push(await weightHash(linear.weight));
  // All the decompositions at once: the missing ones run in parallel on worker threads.
  const decomposed = await loadOrDecomposeAll(
    linears.map(([path, linear], i) => ({
      weight: linear.weight,
      hash: hashes[i]!,
      name: `${path}.weight`,
    })),
    cfg.cacheDir,
    cfg.svdThreads,
  );
  for (const [i, [path, linear]] of linears.entries()) {
    const hash = hashes[i]!;
    const { factors, fromCache } = decomposed[i]!;
    stats[fromCache ? 'cached' : 'decomposed']++;
    const k = factors.singularValues.size;
    const z = new Float32Array(k);
    for (let j = 0; j < k; j++) z[j] = cfg.initVal + cfg.initStd * rng.normal();
    const layer = new SvfLinear(linear, factors, {
      path,
      maxMult: cfg.maxMult,
      z,
      weightHash: hash,
    });
    model.setSubmodule(path, layer);
    layers.set(path, layer);
  }
  const fingerprint = await baseFingerprint(
    new Map([...layers].map(([p, l]) => [p, l.weightHash])),
  );
  return new SvfModel(model, cfg, layers, stats, fingerprint);
}
