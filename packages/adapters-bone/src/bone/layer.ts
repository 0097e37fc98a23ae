import {
  add,
  defaultRng,
  formatShape,
  type Linear,
  matmul,
  noGrad,
  type Rng,
  rand,
  Tensor,
  zeros,
} from '@t2/tensor-core';
import { AdapterLinear } from '@t2/tuners';
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
export class BoneLinear extends AdapterLinear<AdapterInfo> {
  readonly adapterType = 'BONE';
  private blocks = new ParameterDict();

  /** `path` is the layer's dotted name in the model, used in error messages. */
  constructor(base: Linear, path: string) {
    super(base, path, 'Bone');
    this.registerModule('bone_block', this.blocks);
  }

  variantOf(name: string): BoneVariant {
    return this.infoOf(name).variant;
  }

  block(name: string): Tensor {
    this.infoOf(name);
    return this.blocks.getParameter(name)!;
  }

  adapterParameters(name: string): [string, Tensor][] {
    return [['bone_block', this.block(name)]];
  }

  /** Adds a zero (or, with `initWeights` false, Kaiming-uniform) block named `name`. */
  addAdapter(
    name: string,
    r: number,
    initWeights: BoneInitWeights,
    rng: Rng = defaultRng(),
  ): Tensor {
    this.checkNewAdapter(name);
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

  protected removeAdapter(name: string): void {
    const rest = this.blocks.namedParameters().filter(([n]) => n !== name);
    this.blocks = this.registerModule('bone_block', new ParameterDict(rest));
  }

  protected foldUpdate(name: string, direction: 1 | -1): void {
    const { variant, r } = this.infoOf(name);
    const w = this.baseLayer.weight.data;
    const block = this.block(name).data;
    if (variant === 'bone')
      boneMergeInPlace(w, this.outFeatures, this.inFeatures, block, r, direction);
    else if (direction === 1) batMergeInPlace(w, this.outFeatures, this.inFeatures, block, r);
    else
      batUnmergeInPlace(
        w,
        this.outFeatures,
        this.inFeatures,
        block,
        r,
        `BAT '${this.path}' adapter '${name}'`,
      );
  }

  /** The weight the forward pass effectively uses, `W + ΔW` (without autograd). */
  effectiveWeight(): Tensor {
    return noGrad(() => {
      const name = this.unmergedActive();
      const w = this.baseLayer.weight;
      if (name === null) return w.detach();
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
    const name = this.forwardAdapter();
    if (name === null) return this.baseLayer.forward(x);
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
}
