import { defaultRng, type Linear, type Module, type Rng, type Tensor } from '@t2/tensor-core';
import { findTargetModules, type TargetSelection } from '../targets/target-modules';
import type { AdapterLayer } from './adapter-linear';
import { BaseTuner } from './tuner';

/** The two parts of a PEFT adapter folder, in memory. */
export interface PeftAdapter {
  /** The contents of `adapter_config.json`. */
  config: Record<string, unknown>;
  /** The tensors of `adapter_model.safetensors`, under PEFT's key names. */
  tensors: Map<string, Tensor>;
}

/** What `save` / `toPeft` write. */
export interface AdapterSaveOptions {
  /** Which adapter to write (default: the active one). */
  adapterName?: string;
  /** Recorded as `base_model_name_or_path` (default: the config's). */
  baseModelNameOrPath?: string;
}

// Each model has at most one handle per kind of adapter (BoneModel, LoraModel, ...).
const handles = new WeakMap<Module, Map<object, object>>();

/** The `kind` handle of `model` (e.g. its `BoneModel`), or undefined when it has no such adapters. */
export function adapterModelOf<H>(
  model: Module,
  kind: abstract new (...args: never[]) => H,
): H | undefined {
  return handles.get(model)?.get(kind) as H | undefined;
}

/**
 * The adapters of one method on one model, like PEFT's `BaseTuner`: which is active,
 * merging, disabling, parameter lists for an optimizer, and unwrapping back to plain
 * Linear layers. A subclass gives the method's config, its layer class and how one
 * adapter is added to one layer; files stay with the subclass.
 */
export abstract class AdapterModel<
  Config extends TargetSelection,
  Input,
  Layer extends AdapterLayer,
> extends BaseTuner {
  private readonly configs = new Map<string, Config>();
  private readonly targetsOf = new Map<string, string[]>();
  private activeName: string | null = null;
  private disabledFlag = false;

  /** `method` names the adapter in error messages ('Bone', 'LoRA'). */
  constructor(
    model: Module,
    method: string,
    private readonly layerClass: new (base: Linear, path: string) => Layer,
  ) {
    super(model, method);
  }

  /** Checks `input` and fills its defaults. */
  protected abstract makeConfig(input: Input): Config;

  /** Adds adapter `name` to one layer (already wrapped, maybe not yet in the model). */
  protected abstract addToLayer(layer: Layer, name: string, config: Config, rng: Rng): void;

  /** Throws if adapter `config` cannot be added to the model as it is now. */
  protected checkCanAdd(_config: Config): void {}

  get activeAdapter(): string {
    if (this.activeName === null) throw new Error(`${this.method}: the model has no adapter`);
    return this.activeName;
  }

  get adapterNames(): string[] {
    return [...this.configs.keys()];
  }

  get disabled(): boolean {
    return this.disabledFlag;
  }

  config(name = this.activeAdapter): Config {
    const cfg = this.configs.get(name);
    if (!cfg)
      throw new Error(
        `${this.method}: no adapter named '${name}' (has: ${this.adapterNames.join(', ') || 'none'})`,
      );
    return cfg;
  }

  /** Dotted names of the layers that carry adapter `name`. */
  targets(name = this.activeAdapter): string[] {
    this.config(name);
    return [...this.targetsOf.get(name)!];
  }

  /** The wrapped layer at `path`. */
  layer(path: string): Layer {
    const m = this.model.getSubmodule(path);
    if (!(m instanceof this.layerClass))
      throw new Error(`${this.method}: '${path}' is not a ${this.method} layer`);
    return m;
  }

  /** The wrapped layers in model order. */
  layers(): Layer[] {
    return this.model
      .namedModules()
      .map(([, m]) => m)
      .filter((m): m is Layer => m instanceof this.layerClass);
  }

  /**
   * Adds adapter `name` to the Linear layers chosen by `input`, freezes every base
   * parameter and makes it the active, trainable adapter. The name must be new.
   */
  addAdapter(name: string, input: Input, opts: { rng?: Rng } = {}): void {
    if (this.configs.has(name))
      throw new Error(`${this.method}: the model already has an adapter named '${name}'`);
    const config = this.makeConfig(input);
    const isOwn = (m: Module) => m instanceof this.layerClass;
    const paths = findTargetModules(this.model, config, isOwn);
    this.checkCanAdd(config);
    const rng = opts.rng ?? defaultRng();
    // New wrappers go into the model only once every layer took the adapter, so a bad
    // layer leaves the model as it was.
    const wrapped = paths.map((path) => {
      const m = this.model.getSubmodule(path);
      return isOwn(m) ? (m as Layer) : new this.layerClass(m as Linear, path);
    });
    try {
      for (const layer of wrapped) this.addToLayer(layer, name, config, rng);
    } catch (err) {
      for (const layer of wrapped) if (layer.hasAdapter(name)) layer.deleteAdapter(name);
      throw err;
    }
    paths.forEach((path, i) => {
      if (this.model.getSubmodule(path) !== wrapped[i]) this.model.setSubmodule(path, wrapped[i]!);
    });
    for (const layer of wrapped) layer.disabled = this.disabledFlag;
    this.configs.set(name, config);
    this.targetsOf.set(name, paths);
    this.register();
    this.setActive(name);
  }

  /**
   * Makes `name` the adapter used by forward passes; its tensors become the only trainable
   * parameters (the base model stays frozen).
   */
  setActive(name: string): void {
    this.config(name);
    this.model.requiresGrad(false);
    for (const layer of this.layers()) {
      const has = layer.hasAdapter(name);
      layer.activeAdapter = has ? name : null;
      if (has) for (const [, t] of layer.adapterParameters(name)) t.requiresGrad = true;
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

  /** The adapter's tensors (default: the active one's): what an optimizer should update. */
  override trainableParameters(name = this.activeAdapter): Tensor[] {
    return this.namedAdapterParameters(name).map(([, t]) => t);
  }

  /** Number of values in the adapter's tensors. */
  override numTrainable(name = this.activeAdapter): number {
    return this.trainableParameters(name).reduce((n, t) => n + t.size, 0);
  }

  /**
   * `[name, tensor]` for adapter `name`, named as in PEFT's files without the
   * `base_model.model.` prefix: `model.layers.0.self_attn.q_proj.lora_A.weight`.
   */
  namedAdapterParameters(name = this.activeAdapter): [string, Tensor][] {
    this.config(name);
    return this.layers()
      .filter((l) => l.hasAdapter(name))
      .flatMap((l) =>
        l.adapterParameters(name).map(([key, t]): [string, Tensor] => [`${l.path}.${key}`, t]),
      );
  }

  /** Removes adapter `name` everywhere (unmerged first); layers left bare are unwrapped. */
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
    if (this.configs.size === 0) this.forget();
  }

  /**
   * Merges the active adapter and puts the plain Linear layers back, so the model's state
   * dict has Hugging Face names again. The handle is unusable afterwards.
   */
  mergeAndUnload(): Module {
    this.enable();
    this.merge();
    for (const layer of this.layers()) this.model.setSubmodule(layer.path, layer.baseLayer);
    this.forget();
    return this.model;
  }

  /**
   * Drops every adapter and puts back the original Linear layers (each layer undoes what
   * its adapters did to the base weight, e.g. PiSSA's residual).
   */
  unload(): Module {
    for (const name of this.adapterNames) this.deleteAdapter(name);
    return this.model;
  }

  private register(): void {
    let byKind = handles.get(this.model);
    if (!byKind) handles.set(this.model, (byKind = new Map()));
    byKind.set(this.constructor, this);
  }

  private forget(): void {
    this.configs.clear();
    this.targetsOf.clear();
    this.activeName = null;
    handles.get(this.model)?.delete(this.constructor);
  }
}
