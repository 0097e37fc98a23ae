import {
  defaultRng,
  findTargetModules,
  type Linear,
  type Module,
  type Rng,
  type Tensor,
  writeAdapterFolder,
} from '@t2/tensor-core';
import { type BoneConfig, type BoneConfigInput, boneConfig } from './config';
import { BoneLinear } from './layer';
import { peftKey, toPeftConfig } from './peft-file';

export interface InjectOptions {
  /** Name of the new adapter (PEFT's default is 'default'). */
  adapterName?: string;
  /** Generator for `initWeights: false` (the zero-initialised variants use none). */
  rng?: Rng;
}

/** One model's Bone adapters; `inject` and `load` return it. */
const handles = new WeakMap<Module, BoneModel>();

/**
 * Adds a Bone/BAT adapter to the Linear layers of `model` chosen by `config`, freezes
 * every base parameter and makes the new adapter active and trainable. Injecting into a
 * model that already has Bone adapters adds one more (the name must be new).
 */
export function inject(
  model: Module,
  config: BoneConfigInput,
  opts: InjectOptions = {},
): BoneModel {
  const handle = handles.get(model) ?? new BoneModel(model);
  handles.set(model, handle);
  handle.addAdapter(opts.adapterName ?? 'default', config, opts);
  return handle;
}

/** The Bone handle of a model that has adapters, or undefined. */
export function boneModelOf(model: Module): BoneModel | undefined {
  return handles.get(model);
}

export interface SaveOptions {
  /** Which adapter to write (default: the active one). */
  adapterName?: string;
  /** Recorded as `base_model_name_or_path` (default: the config's). */
  baseModelNameOrPath?: string;
}

/** The two parts of a PEFT adapter folder, in memory. */
export interface PeftAdapter {
  /** The contents of `adapter_config.json`. */
  config: Record<string, unknown>;
  /** The tensors of `adapter_model.safetensors`, under PEFT's key names. */
  tensors: Map<string, Tensor>;
}

export interface TrainableSummary {
  trainable: number;
  total: number;
  /** 100 · trainable / total. */
  percent: number;
}

/**
 * The adapters on one model: which is active, merging, disabling, parameter lists for an
 * optimizer, and unwrapping back to plain Linear layers.
 */
export class BoneModel {
  private readonly configs = new Map<string, BoneConfig>();
  private readonly targetsOf = new Map<string, string[]>();
  private activeName: string | null = null;
  private disabledFlag = false;

  constructor(readonly model: Module) {}

  get activeAdapter(): string {
    if (this.activeName === null) throw new Error('Bone: the model has no adapter');
    return this.activeName;
  }

  get adapterNames(): string[] {
    return [...this.configs.keys()];
  }

  get disabled(): boolean {
    return this.disabledFlag;
  }

  config(name = this.activeAdapter): BoneConfig {
    const cfg = this.configs.get(name);
    if (!cfg)
      throw new Error(
        `Bone: no adapter named '${name}' (has: ${this.adapterNames.join(', ') || 'none'})`,
      );
    return cfg;
  }

  /** Dotted names of the layers that carry adapter `name`. */
  targets(name = this.activeAdapter): string[] {
    this.config(name);
    return [...this.targetsOf.get(name)!];
  }

  /** The wrapped layer at `path`. */
  layer(path: string): BoneLinear {
    const m = this.model.getSubmodule(path);
    if (!(m instanceof BoneLinear)) throw new Error(`Bone: '${path}' is not a Bone layer`);
    return m;
  }

  /** See `inject`. */
  addAdapter(name: string, input: BoneConfigInput, opts: { rng?: Rng } = {}): void {
    if (this.configs.has(name))
      throw new Error(`Bone: the model already has an adapter named '${name}'`);
    const config = boneConfig(input);
    const paths = findTargetModules(this.model, config, (m) => m instanceof BoneLinear);
    const rng = opts.rng ?? defaultRng();
    // Validate every layer first so that a bad layer leaves the model untouched.
    const wrapped = paths.map((path) => {
      const m = this.model.getSubmodule(path);
      return m instanceof BoneLinear ? m : new BoneLinear(m as Linear, path);
    });
    const blocks: Tensor[] = [];
    try {
      for (const layer of wrapped)
        blocks.push(layer.addAdapter(name, config.r, config.initWeights, rng));
    } catch (err) {
      for (const layer of wrapped) if (layer.hasAdapter(name)) layer.deleteAdapter(name);
      throw err;
    }
    paths.forEach((path, i) => {
      if (!(this.model.getSubmodule(path) instanceof BoneLinear))
        this.model.setSubmodule(path, wrapped[i]!);
    });
    for (const layer of wrapped) layer.disabled = this.disabledFlag;
    this.configs.set(name, config);
    this.targetsOf.set(name, paths);
    this.setActive(name);
  }

  /** Bone layers in model order. */
  layers(): BoneLinear[] {
    return this.model
      .namedModules()
      .map(([, m]) => m)
      .filter((m): m is BoneLinear => m instanceof BoneLinear);
  }

  /**
   * Makes `name` the adapter used by forward passes; its blocks become the only trainable
   * parameters (the base model stays frozen).
   */
  setActive(name: string): void {
    this.config(name);
    this.model.requiresGrad(false);
    for (const layer of this.layers()) {
      layer.activeAdapter = layer.hasAdapter(name) ? name : null;
      if (layer.hasAdapter(name)) layer.block(name).requiresGrad = true;
    }
    this.activeName = name;
  }

  /** Forward passes use the base model only (merged updates are taken out first). */
  disable(): void {
    this.unmerge();
    for (const layer of this.layers()) layer.disabled = true;
    this.disabledFlag = true;
  }

  enable(): void {
    for (const layer of this.layers()) layer.disabled = false;
    this.disabledFlag = false;
  }

  /** Runs `fn` with adapters disabled (a base-model pass, e.g. a KL reference). */
  withDisabled<T>(fn: () => T): T {
    const was = this.disabledFlag;
    this.disable();
    try {
      return fn();
    } finally {
      if (!was) this.enable();
    }
  }

  /** Writes adapter `name` (default: the active one) into the base weights. */
  merge(name = this.activeAdapter): void {
    this.config(name);
    for (const layer of this.layers()) if (layer.hasAdapter(name)) layer.merge(name);
  }

  /** Takes every merged adapter back out of the base weights. */
  unmerge(): void {
    for (const layer of this.layers()) layer.unmerge();
  }

  get merged(): boolean {
    return this.layers().some((l) => l.mergedAdapters.length > 0);
  }

  /** The active adapter's blocks: what an optimizer should update. */
  trainableParameters(name = this.activeAdapter): Tensor[] {
    return this.namedAdapterParameters(name).map(([, t]) => t);
  }

  /** Number of values in the adapter's blocks. */
  numTrainable(name = this.activeAdapter): number {
    return this.trainableParameters(name).reduce((n, t) => n + t.size, 0);
  }

  /** Trainable vs all parameters of the model, like PEFT's `print_trainable_parameters`. */
  trainableSummary(): TrainableSummary {
    const trainable = this.model.numParameters(true);
    const total = this.model.numParameters();
    return { trainable, total, percent: total ? (100 * trainable) / total : 0 };
  }

  /**
   * `[name, block]` for each layer carrying adapter `name`, named as in PEFT's files without
   * the `base_model.model.` prefix: `model.layers.0.self_attn.q_proj.bone_block`.
   */
  namedAdapterParameters(name = this.activeAdapter): [string, Tensor][] {
    return this.blocksOf(name).map(([path, block]) => [`${path}.bone_block`, block]);
  }

  /** `[layerPath, block]` for each layer carrying adapter `name`. */
  blocksOf(name = this.activeAdapter): [string, Tensor][] {
    this.config(name);
    return this.layers()
      .filter((l) => l.hasAdapter(name))
      .map((l) => [l.path, l.block(name)]);
  }

  /** Adapter `name` as PEFT stores it (pure: no file system, so it also works in a browser). */
  toPeft(opts: SaveOptions = {}): PeftAdapter {
    const name = opts.adapterName ?? this.activeAdapter;
    const config = this.config(name);
    const blocks = this.blocksOf(name);
    return {
      config: toPeftConfig(
        { ...config, baseModelNameOrPath: opts.baseModelNameOrPath ?? config.baseModelNameOrPath },
        blocks.map(([path]) => path),
      ),
      tensors: new Map(blocks.map(([path, block]) => [peftKey(path), block])),
    };
  }

  /**
   * Writes a PEFT adapter folder (`adapter_config.json`, `adapter_model.safetensors` with
   * keys `base_model.model.<path>.bone_block`), each file atomically.
   */
  async save(dir: string, opts: SaveOptions = {}): Promise<void> {
    const { config, tensors } = this.toPeft(opts);
    await writeAdapterFolder(dir, config, tensors);
  }

  /** Removes adapter `name` from every layer (unmerged first); layers left bare are unwrapped. */
  deleteAdapter(name: string): void {
    this.config(name);
    this.unmerge();
    for (const layer of this.layers()) {
      if (!layer.hasAdapter(name)) continue;
      layer.deleteAdapter(name);
      if (layer.adapterNames.length === 0) this.model.setSubmodule(layer.path, layer.baseLayer);
    }
    this.configs.delete(name);
    this.targetsOf.delete(name);
    if (this.activeName === name) {
      this.activeName = null;
      const next = this.adapterNames[0];
      if (next !== undefined) this.setActive(next);
    }
    if (this.configs.size === 0) handles.delete(this.model);
  }

  /**
   * Merges the active adapter and puts the plain Linear layers back, so the model's state
   * dict has Hugging Face names again. The handle is unusable afterwards.
   */
  mergeAndUnload(): Module {
    this.enable();
    this.merge();
    return this.unwrap();
  }

  /** Puts the original (unmerged) Linear layers back and drops every adapter. */
  unload(): Module {
    this.unmerge();
    return this.unwrap();
  }

  private unwrap(): Module {
    for (const layer of this.layers()) this.model.setSubmodule(layer.path, layer.baseLayer);
    this.configs.clear();
    this.targetsOf.clear();
    this.activeName = null;
    handles.delete(this.model);
    return this.model;
  }
}
