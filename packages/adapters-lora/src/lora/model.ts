import {
  defaultRng,
  findTargetModules,
  fromArray,
  type Linear,
  type Module,
  type Rng,
  type Tensor,
  writeAdapterFolder,
} from '@t2/tensor-core';
import {
  isPissa,
  type LoraConfig,
  type LoraConfigInput,
  loraConfig,
  rankAndAlpha,
  scalingOf,
} from './config';
import { LoraLinear } from './layer';
import { peftKey, toPeftConfig } from './peft-file';

export interface InjectOptions {
  /** Name of the new adapter (PEFT's default is 'default'). */
  adapterName?: string;
  /** Generator for lora_A's random start and for dropout (default: the global one). */
  rng?: Rng;
}

const handles = new WeakMap<Module, LoraModel>();

/**
 * Adds a LoRA (or PiSSA) adapter to the Linear layers of `model` chosen by `config`,
 * freezes every base parameter and makes the new adapter active and trainable. Injecting
 * into a model that already has LoRA adapters adds one more (the name must be new).
 */
export function inject(
  model: Module,
  config: LoraConfigInput,
  opts: InjectOptions = {},
): LoraModel {
  const handle = handles.get(model) ?? new LoraModel(model);
  handles.set(model, handle);
  handle.addAdapter(opts.adapterName ?? 'default', config, opts);
  return handle;
}

/** The LoRA handle of a model that has adapters, or undefined. */
export function loraModelOf(model: Module): LoraModel | undefined {
  return handles.get(model);
}

export interface SaveOptions {
  /** Which adapter to write (default: the active one). */
  adapterName?: string;
  /** Recorded as `base_model_name_or_path` (default: the config's). */
  baseModelNameOrPath?: string;
  /**
   * For a PiSSA adapter: write a plain LoRA of rank 2r that applies to the original
   * (not the residual) base model, `A' = [A; A₀]`, `B' = [B, −B₀]` (PEFT's
   * `path_initial_model_for_weight_conversion`).
   */
  convertPissaToLora?: boolean;
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
 * The LoRA adapters on one model: which is active, merging, disabling, parameter lists
 * for an optimizer, saving, and unwrapping back to plain Linear layers.
 */
export class LoraModel {
  private readonly configs = new Map<string, LoraConfig>();
  private readonly targetsOf = new Map<string, string[]>();
  private activeName: string | null = null;
  private disabledFlag = false;

  constructor(readonly model: Module) {}

  get activeAdapter(): string {
    if (this.activeName === null) throw new Error('LoRA: the model has no adapter');
    return this.activeName;
  }

  get adapterNames(): string[] {
    return [...this.configs.keys()];
  }

  get disabled(): boolean {
    return this.disabledFlag;
  }

  config(name = this.activeAdapter): LoraConfig {
    const cfg = this.configs.get(name);
    if (!cfg)
      throw new Error(
        `LoRA: no adapter named '${name}' (has: ${this.adapterNames.join(', ') || 'none'})`,
      );
    return cfg;
  }

  /** Dotted names of the layers that carry adapter `name`. */
  targets(name = this.activeAdapter): string[] {
    this.config(name);
    return [...this.targetsOf.get(name)!];
  }

  /** The wrapped layer at `path`. */
  layer(path: string): LoraLinear {
    const m = this.model.getSubmodule(path);
    if (!(m instanceof LoraLinear)) throw new Error(`LoRA: '${path}' is not a LoRA layer`);
    return m;
  }

  /** LoRA layers in model order. */
  layers(): LoraLinear[] {
    return this.model
      .namedModules()
      .map(([, m]) => m)
      .filter((m): m is LoraLinear => m instanceof LoraLinear);
  }

  /** See `inject`. */
  addAdapter(name: string, input: LoraConfigInput, opts: { rng?: Rng } = {}): void {
    if (this.configs.has(name))
      throw new Error(`LoRA: the model already has an adapter named '${name}'`);
    const config = loraConfig(input);
    const paths = findTargetModules(this.model, config, (m) => m instanceof LoraLinear);
    const rng = opts.rng ?? defaultRng();
    const wrapped = paths.map((path) => {
      const m = this.model.getSubmodule(path);
      return m instanceof LoraLinear ? m : new LoraLinear(m as Linear, path);
    });
    if (isPissa(config.initLoraWeights) && this.merged) {
      throw new Error(
        'LoRA: unmerge before adding a PiSSA adapter (it factorises the current base weights)',
      );
    }
    try {
      wrapped.forEach((layer, i) => {
        const { r, alpha } = rankAndAlpha(config, paths[i]!);
        const scaling = scalingOf(r, alpha, config.useRslora);
        layer.addAdapter(name, {
          r,
          alpha,
          scaling,
          dropout: config.loraDropout,
          init: config.initLoraWeights,
          rng,
        });
      });
    } catch (err) {
      // Undo the layers already done (PiSSA gives back its part of W), leaving the model as it was.
      for (const layer of wrapped) if (layer.hasAdapter(name)) layer.deleteAdapter(name);
      throw err;
    }
    paths.forEach((path, i) => {
      if (!(this.model.getSubmodule(path) instanceof LoraLinear))
        this.model.setSubmodule(path, wrapped[i]!);
    });
    for (const layer of wrapped) layer.disabled = this.disabledFlag;
    this.configs.set(name, config);
    this.targetsOf.set(name, paths);
    this.setActive(name);
  }

  /**
   * Makes `name` the adapter used by forward passes; its A and B become the only trainable
   * parameters (the base model stays frozen).
   */
  setActive(name: string): void {
    this.config(name);
    this.model.requiresGrad(false);
    for (const layer of this.layers()) {
      const has = layer.hasAdapter(name);
      layer.activeAdapter = has ? name : null;
      if (has) {
        layer.loraAWeight(name).requiresGrad = true;
        layer.loraBWeight(name).requiresGrad = true;
      }
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

  /**
   * Runs `fn` with adapters disabled. For PiSSA the "base" is the residual model W − s·B₀A₀,
   * as in PEFT.
   */
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

  /** The active adapter's A and B matrices: what an optimizer should update. */
  trainableParameters(name = this.activeAdapter): Tensor[] {
    return this.namedAdapterParameters(name).map(([, t]) => t);
  }

  /** Number of values in the adapter's A and B: r·(in + out) per layer. */
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
   * `[name, weight]` for adapter `name`, named as in PEFT's files without the
   * `base_model.model.` prefix: `model.layers.0.self_attn.q_proj.lora_A.weight`.
   */
  namedAdapterParameters(name = this.activeAdapter): [string, Tensor][] {
    this.config(name);
    return this.layers()
      .filter((l) => l.hasAdapter(name))
      .flatMap((l): [string, Tensor][] => [
        [`${l.path}.lora_A.weight`, l.loraAWeight(name)],
        [`${l.path}.lora_B.weight`, l.loraBWeight(name)],
      ]);
  }

  /** Adapter `name` as PEFT stores it (pure: no file system, so it also works in a browser). */
  toPeft(opts: SaveOptions = {}): PeftAdapter {
    const name = opts.adapterName ?? this.activeAdapter;
    const config = {
      ...this.config(name),
      baseModelNameOrPath: opts.baseModelNameOrPath ?? this.config(name).baseModelNameOrPath,
    };
    const layers = this.layers().filter((l) => l.hasAdapter(name));
    const paths = layers.map((l) => l.path);
    if (!opts.convertPissaToLora) {
      const tensors = new Map<string, Tensor>();
      for (const l of layers) {
        tensors.set(peftKey(l.path, 'lora_A'), l.loraAWeight(name));
        tensors.set(peftKey(l.path, 'lora_B'), l.loraBWeight(name));
      }
      return { config: toPeftConfig(config, paths), tensors };
    }
    if (!isPissa(config.initLoraWeights)) {
      throw new Error(
        `LoRA: convertPissaToLora needs a PiSSA adapter; '${name}' was initialised with ${JSON.stringify(config.initLoraWeights)}`,
      );
    }
    return pissaAsLora(config, layers, name, paths);
  }

  /**
   * Writes a PEFT adapter folder (`adapter_config.json`, `adapter_model.safetensors` with
   * keys `base_model.model.<path>.lora_A.weight`), each file atomically.
   */
  async save(dir: string, opts: SaveOptions = {}): Promise<void> {
    const { config, tensors } = this.toPeft(opts);
    await writeAdapterFolder(dir, config, tensors);
  }

  /** Removes adapter `name` everywhere (unmerged first; PiSSA gives W its top-r part back). */
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
    for (const layer of this.layers()) this.model.setSubmodule(layer.path, layer.baseLayer);
    this.forget();
    return this.model;
  }

  /** Drops every adapter and puts back the original Linear layers (PiSSA's W restored). */
  unload(): Module {
    for (const name of this.adapterNames) this.deleteAdapter(name);
    return this.model;
  }

  private forget(): void {
    this.configs.clear();
    this.targetsOf.clear();
    this.activeName = null;
    handles.delete(this.model);
  }
}

/** PiSSA's update s·(B A − B₀A₀) as a rank-2r LoRA on the original weights. */
function pissaAsLora(
  config: LoraConfig,
  layers: LoraLinear[],
  name: string,
  paths: string[],
): PeftAdapter {
  const tensors = new Map<string, Tensor>();
  for (const l of layers) {
    const { r } = l.adapterInfo(name);
    const start = l.pissaStart(name)!;
    const a = l.loraAWeight(name).data;
    const b = l.loraBWeight(name).data;
    const inF = l.inFeatures;
    const out = l.outFeatures;
    const a2 = new Float32Array(2 * r * inF);
    a2.set(a);
    a2.set(start.a0, r * inF);
    const b2 = new Float32Array(out * 2 * r);
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < r; i++) {
        b2[o * 2 * r + i] = b[o * r + i]!;
        b2[o * 2 * r + r + i] = -start.b0[o * r + i]!;
      }
    }
    tensors.set(peftKey(l.path, 'lora_A'), fromArray(a2, [2 * r, inF]));
    tensors.set(peftKey(l.path, 'lora_B'), fromArray(b2, [out, 2 * r]));
  }
  // Doubling r keeps the scaling if alpha doubles too (rsLoRA: alpha / sqrt(r) needs sqrt(2)).
  const alphaFactor = config.useRslora ? Math.SQRT2 : 2;
  const doubled = (p: Readonly<Record<string, number>>, f: number) =>
    Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v * f]));
  const converted: LoraConfig = {
    ...config,
    r: 2 * config.r,
    loraAlpha: config.loraAlpha * alphaFactor,
    rankPattern: doubled(config.rankPattern, 2),
    alphaPattern: doubled(config.alphaPattern, alphaFactor),
    initLoraWeights: true,
  };
  return { config: toPeftConfig(converted, paths), tensors };
}
