import { type InferenceWeights, type Linear, Module, type Tensor } from '@t2/tensor-core';

/**
 * What an `AdapterModel` needs of a wrapped layer: PEFT's `BaseTunerLayer`. Adapters are
 * kept by name beside the frozen `baseLayer`; one is active, any can be merged into it.
 */
export interface AdapterLayer extends Module {
  /** The layer's dotted name in the model. */
  readonly path: string;
  readonly baseLayer: Linear;
  readonly adapterNames: string[];
  /** Adapters whose update is in the base weight, in merge order. */
  readonly mergedAdapters: readonly string[];
  /** The adapter used by `forward`; null: none. */
  activeAdapter: string | null;
  /** When true, `forward` is the base layer's. */
  disabled: boolean;
  hasAdapter(name: string): boolean;
  deleteAdapter(name: string): void;
  merge(name: string): void;
  unmerge(): void;
  /**
   * The trainable tensors of adapter `name`, named as in PEFT's files relative to the layer
   * (`bone_block`, `lora_A.weight`).
   */
  adapterParameters(name: string): [string, Tensor][];
}

/**
 * The bookkeeping every adapter-carrying Linear shares: the frozen `base_layer` child, the
 * per-adapter settings, the active adapter, merge order, and the checks and messages
 * around them. Subclasses hold the adapter weights and the math: `foldUpdate`,
 * `removeAdapter`, `adapterParameters` and `forward`.
 */
export abstract class AdapterLinear<Info> extends Module implements AdapterLayer, InferenceWeights {
  readonly isAdapterLayer = true;
  readonly baseLayer: Linear;
  activeAdapter: string | null = null;
  disabled = false;
  readonly mergedAdapters: string[] = [];
  /** Settings of each adapter, in the order they were added. */
  protected readonly info = new Map<string, Info>();

  /**
   * `path` is the layer's dotted name in the model and `method` the adapter's name
   * ('Bone', 'LoRA'), both used in error messages.
   */
  constructor(
    base: Linear,
    readonly path: string,
    protected readonly method: string,
  ) {
    super();
    this.baseLayer = this.registerModule('base_layer', base);
  }

  get inFeatures(): number {
    return this.baseLayer.inFeatures;
  }

  get outFeatures(): number {
    return this.baseLayer.outFeatures;
  }

  get adapterNames(): string[] {
    return [...this.info.keys()];
  }

  hasAdapter(name: string): boolean {
    return this.info.has(name);
  }

  abstract adapterParameters(name: string): [string, Tensor][];

  /**
   * Adds (direction 1) adapter `name`'s update to the base weight, or takes it back out
   * (direction −1).
   */
  protected abstract foldUpdate(name: string, direction: 1 | -1): void;

  /** Drops adapter `name`'s weights; its settings are still in `info` during the call. */
  protected abstract removeAdapter(name: string): void;

  /** The weight the forward pass effectively uses, `W + ΔW` (without autograd). */
  abstract effectiveWeight(): Tensor;

  /** Whether adapter `name`'s update is random in the forward pass now (dropout in training). */
  protected updateIsRandom(_name: string): boolean {
    return false;
  }

  /**
   * `W + ΔW` and the base bias: what fused decoding multiplies by instead of calling
   * `forward` (see `InferenceWeights`); null while the update is random.
   */
  inferenceWeights(): { weight: Tensor; bias: Tensor | null } | null {
    const name = this.forwardAdapter();
    if (name !== null && this.updateIsRandom(name)) return null;
    return { weight: this.effectiveWeight(), bias: this.baseLayer.bias };
  }

  /** Writes adapter `name`'s update into the base weight (no-op if already merged). */
  merge(name: string): void {
    this.infoOf(name);
    if (this.mergedAdapters.includes(name)) return;
    this.foldUpdate(name, 1);
    this.mergedAdapters.push(name);
  }

  /** Takes every merged update back out of the base weight, last merged first. */
  unmerge(): void {
    while (this.mergedAdapters.length) this.foldUpdate(this.mergedAdapters.pop()!, -1);
  }

  deleteAdapter(name: string): void {
    this.infoOf(name);
    if (this.mergedAdapters.includes(name))
      throw new Error(`${this.method}: '${this.path}': unmerge '${name}' before deleting it`);
    this.removeAdapter(name);
    this.info.delete(name);
    if (this.activeAdapter === name) this.activeAdapter = null;
  }

  /** Throws unless `name` is new and usable as a child name (PEFT's state dict keys). */
  protected checkNewAdapter(name: string): void {
    if (this.info.has(name))
      throw new Error(`${this.method}: '${this.path}' already has an adapter named '${name}'`);
    if (name.includes('.') || name === '')
      throw new Error(`${this.method}: adapter name '${name}' must be non-empty without '.'`);
  }

  protected infoOf(name: string): Info {
    const info = this.info.get(name);
    if (!info)
      throw new Error(
        `${this.method}: '${this.path}' has no adapter named '${name}' (has: ${this.adapterNames.join(', ') || 'none'})`,
      );
    return info;
  }

  /** The adapter whose update the forward pass adds: null when disabled, none or merged. */
  protected unmergedActive(): string | null {
    const name = this.activeAdapter;
    return this.disabled || name === null || this.mergedAdapters.includes(name) ? null : name;
  }

  /** `unmergedActive`, refusing a disabled layer whose base weight still holds an update. */
  protected forwardAdapter(): string | null {
    if (this.disabled && this.mergedAdapters.length) {
      throw new Error(
        `${this.method}: '${this.path}' is disabled but has merged adapters; unmerge first`,
      );
    }
    return this.unmergedActive();
  }
}
