import {
  add,
  defaultRng,
  formatShape,
  type Linear,
  Module,
  matmul,
  noGrad,
  type Rng,
  rand,
  Tensor,
  zeros,
} from '@t2/tensor-core';
import { ParameterDict } from '../shared/parameter-dict';
import {
  batMergeInPlace,
  batUnmergeInPlace,
  batWeight,
  boneMergeInPlace,
  boneUpdate,
} from './block-math';
import type { BoneInitWeights, BoneVariant } from './config';
import { variantOf } from './config';

interface AdapterInfo {
  variant: BoneVariant;
  r: number;
}

/** The block shape of one adapter on a layer with `out` outputs. */
export function boneBlockShape(variant: BoneVariant, r: number, out: number): number[] {
  return variant === 'bat' ? [out / r, r, r] : [r, out];
}

/**
 * A Linear layer with Bone/BAT adapters beside it. Children follow PEFT's names:
 * `base_layer` (the original Linear, frozen) and `bone_block.<adapter>`; the forward
 * pass has the Linear's signature.
 */
export class BoneLinear extends Module {
  readonly isAdapterLayer = true;
  readonly adapterType = 'BONE';
  readonly baseLayer: Linear;
  private blocks = new ParameterDict();
  private readonly info = new Map<string, AdapterInfo>();
  /** The adapter used by `forward`; null: none. */
  activeAdapter: string | null = null;
  /** When true, `forward` is the base layer's. */
  disabled = false;
  /** Adapters whose update is in the base weight, in merge order. */
  readonly mergedAdapters: string[] = [];

  /** `path` is the layer's dotted name in the model, used in error messages. */
  constructor(
    base: Linear,
    readonly path: string,
  ) {
    super();
    this.baseLayer = this.registerModule('base_layer', base);
    this.registerModule('bone_block', this.blocks);
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

  variantOf(name: string): BoneVariant {
    return this.infoOf(name).variant;
  }

  block(name: string): Tensor {
    this.infoOf(name);
    return this.blocks.getParameter(name)!;
  }

  /** Adds a zero (or, with `initWeights` false, Kaiming-uniform) block named `name`. */
  addAdapter(
    name: string,
    r: number,
    initWeights: BoneInitWeights,
    rng: Rng = defaultRng(),
  ): Tensor {
    if (this.info.has(name))
      throw new Error(`Bone: '${this.path}' already has an adapter named '${name}'`);
    if (name.includes('.') || name === '')
      throw new Error(`Bone: adapter name '${name}' must be non-empty without '.'`);
    const variant = variantOf(initWeights);
    const out = this.outFeatures;
    if (variant === 'bat' && (this.inFeatures % r !== 0 || out % r !== 0)) {
      throw new Error(
        `BAT: '${this.path}' has weight ${formatShape([out, this.inFeatures])}, which does not split into ${r}×${r} blocks (both dimensions must be divisible by r = ${r})`,
      );
    }
    const shape = boneBlockShape(variant, r, out);
    // PEFT's Kaiming-uniform (a = sqrt(5)) bound for fan_in = shape[1].
    const bound = 1 / Math.sqrt(shape[1]!);
    const block =
      initWeights === false ? rand(shape, { low: -bound, high: bound, rng }) : zeros(shape);
    this.blocks.registerParameter(name, block, true);
    this.info.set(name, { variant, r });
    return block;
  }

  deleteAdapter(name: string): void {
    this.infoOf(name);
    if (this.mergedAdapters.includes(name))
      throw new Error(`Bone: '${this.path}': unmerge '${name}' before deleting it`);
    const rest = this.blocks.namedParameters().filter(([n]) => n !== name);
    this.blocks = this.registerModule('bone_block', new ParameterDict(rest));
    this.info.delete(name);
    if (this.activeAdapter === name) this.activeAdapter = null;
  }

  /** Writes adapter `name`'s update into the base weight (no-op if already merged). */
  merge(name: string): void {
    const { variant, r } = this.infoOf(name);
    if (this.mergedAdapters.includes(name)) return;
    const w = this.baseLayer.weight.data;
    const block = this.block(name).data;
    if (variant === 'bat') batMergeInPlace(w, this.outFeatures, this.inFeatures, block, r);
    else boneMergeInPlace(w, this.outFeatures, this.inFeatures, block, r, 1);
    this.mergedAdapters.push(name);
  }

  /** Takes every merged update back out of the base weight, last merged first. */
  unmerge(): void {
    while (this.mergedAdapters.length) {
      const name = this.mergedAdapters.pop()!;
      const { variant, r } = this.infoOf(name);
      const w = this.baseLayer.weight.data;
      const block = this.block(name).data;
      if (variant === 'bat')
        batUnmergeInPlace(
          w,
          this.outFeatures,
          this.inFeatures,
          block,
          r,
          `BAT '${this.path}' adapter '${name}'`,
        );
      else boneMergeInPlace(w, this.outFeatures, this.inFeatures, block, r, -1);
    }
  }

  /** The weight the forward pass effectively uses, `W + ΔW` (without autograd). */
  effectiveWeight(): Tensor {
    return noGrad(() => {
      const name = this.activeAdapter;
      const w = this.baseLayer.weight;
      if (this.disabled || name === null || this.mergedAdapters.includes(name)) return w.detach();
      if (this.infoOf(name).variant === 'bat') return batWeight(w, this.block(name));
      const copy = Float32Array.from(w.data);
      boneMergeInPlace(
        copy,
        this.outFeatures,
        this.inFeatures,
        this.block(name).data,
        this.infoOf(name).r,
        1,
      );
      return new Tensor(copy, w.shape);
    });
  }

  forward(x: Tensor): Tensor {
    const name = this.activeAdapter;
    if (this.disabled && this.mergedAdapters.length) {
      throw new Error(`Bone: '${this.path}' is disabled but has merged adapters; unmerge first`);
    }
    if (this.disabled || name === null || this.mergedAdapters.includes(name))
      return this.baseLayer.forward(x);
    const block = this.block(name);
    if (this.infoOf(name).variant === 'bone')
      return add(this.baseLayer.forward(x), boneUpdate(x, block));
    if (x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(
        `BAT '${this.path}' (${this.inFeatures}→${this.outFeatures}): input ${formatShape(x.shape)} has the wrong last axis`,
      );
    }
    // BAT's blocks mix the weights themselves, so W' is built for this step.
    const y = matmul(x, batWeight(this.baseLayer.weight, block), { transB: true });
    return this.baseLayer.bias ? add(y, this.baseLayer.bias) : y;
  }

  private infoOf(name: string): AdapterInfo {
    const info = this.info.get(name);
    if (!info)
      throw new Error(
        `Bone: '${this.path}' has no adapter named '${name}' (has: ${this.adapterNames.join(', ') || 'none'})`,
      );
    return info;
  }
}
