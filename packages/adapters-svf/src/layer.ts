import {
  add,
  fromArray,
  type InferenceWeights,
  isGradEnabled,
  keep,
  type Linear,
  Module,
  matmul,
  noGrad,
  type Tensor,
  tidy,
} from '@t2/tensor-core';
import {
  applyComposed,
  composeWeight,
  composeWeightFromMask,
  maskFromZ,
  maskValues,
} from './compose';
import type { SvfFactors } from './factors';

export interface SvfLinearOptions {
  /** Dotted path of the wrapped layer in its model, for messages and expert keys. */
  path: string;
  maxMult: number;
  /** Initial `z` (length k). */
  z: ArrayLike<number>;
  /** SHA-256 of the base weight (see `weightHash`). */
  weightHash: string;
}

/**
 * A Linear layer whose weight is `U diag(σ ⊙ m) Vᵀ · Σσ/Σ(σ⊙m)`. It keeps the base layer's
 * `weight` and `bias` under their own names (so the model's state dict does not change)
 * and adds the trainable `svf_z`. The mask comes either from `svf_z` (expert training)
 * or from a fixed vector (`setMask`, e.g. a mixture of experts at inference).
 */
export class SvfLinear extends Module implements InferenceWeights {
  /** Marks a wrapper whose insides other methods must not adapt (see @t2/tuners). */
  readonly isAdapterLayer = true;
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** The expert vector z, length k; the only trainable tensor of the layer. */
  readonly z: Tensor;
  readonly factors: SvfFactors;
  readonly path: string;
  readonly maxMult: number;
  readonly weightHash: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  private enabled = true;
  private fixedMask: Float32Array | null = null;
  /** The base weight while `merge()` has overwritten `weight` with W'. */
  private original: Tensor | null = null;
  /** W' for the last mask used outside autograd, recomposed only when the mask changes. */
  private cached: { mask: Float32Array; weight: Tensor } | null = null;

  constructor(base: Linear, factors: SvfFactors, opts: SvfLinearOptions) {
    super();
    const [out, inF] = base.weight.shape as [number, number];
    const k = Math.min(out, inF);
    if (factors.singularValues.size !== k || opts.z.length !== k) {
      throw new Error(
        `SvfLinear '${opts.path}': a ${out}×${inF} weight has ${k} singular values, got ${factors.singularValues.size} factors and z of length ${opts.z.length}`,
      );
    }
    this.path = opts.path;
    this.maxMult = opts.maxMult;
    this.weightHash = opts.weightHash;
    this.factors = factors;
    this.inFeatures = inF;
    this.outFeatures = out;
    this.weight = this.registerParameter('weight', base.weight, false);
    this.bias = base.bias ? this.registerParameter('bias', base.bias, false) : null;
    this.z = this.registerParameter('svf_z', fromArray(opts.z, [k]), true);
  }

  /** The base weight W, also while `merge()` has put W' in `weight`. */
  baseWeight(): Tensor {
    return this.original ?? this.weight;
  }

  /** Number of singular values (the length of z and of the mask). */
  get rank(): number {
    return this.z.size;
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  get isMerged(): boolean {
    return this.original !== null;
  }

  /** Whether the mask is a fixed vector rather than `sigmoid(z) · maxMult`. */
  get hasFixedMask(): boolean {
    return this.fixedMask !== null;
  }

  /** When true, `forward` is the base layer's (the names of @t2/tuners' adapter layers). */
  get disabled(): boolean {
    return !this.enabled;
  }

  set disabled(flag: boolean) {
    this.enabled = !flag;
  }

  /** @deprecated set `disabled` instead. */
  setEnabled(flag: boolean): void {
    this.enabled = flag;
  }

  /** Copies values into z and goes back to the z-driven mask. */
  setZ(values: ArrayLike<number>): void {
    this.assertUnmerged('setZ');
    if (values.length !== this.rank) {
      throw new Error(
        `SvfLinear '${this.path}': z has ${values.length} values, expected ${this.rank}`,
      );
    }
    this.z.data.set(values);
    this.fixedMask = null;
  }

  /** Uses a fixed mask (length k); null returns to the z-driven mask. */
  setMask(mask: ArrayLike<number> | null): void {
    this.assertUnmerged('setMask');
    if (mask === null) {
      this.fixedMask = null;
      return;
    }
    if (mask.length !== this.rank) {
      throw new Error(
        `SvfLinear '${this.path}': mask has ${mask.length} values, expected ${this.rank}`,
      );
    }
    for (let i = 0; i < mask.length; i++) {
      if (!Number.isFinite(mask[i]!))
        throw new Error(`SvfLinear '${this.path}': mask[${i}] is ${mask[i]}`);
    }
    this.fixedMask = Float32Array.from(mask);
  }

  /** The mask in use now, as numbers. */
  currentMask(): Float32Array {
    return this.fixedMask ? this.fixedMask.slice() : maskValues(this.z.data, this.maxMult);
  }

  /**
   * The adapted weight W'. While z is being trained (grad mode, z-driven mask) it is
   * recomposed through recorded ops on every call so that z gets its gradient; otherwise
   * it is composed once per mask and reused (generation calls forward once per token).
   */
  adaptedWeight(): Tensor {
    if (this.trainingZ()) return composeWeight(this.factors, maskFromZ(this.z, this.maxMult));
    const mask = this.currentMask();
    if (this.cached && sameValues(this.cached.mask, mask)) return this.cached.weight;
    // The previous W' is left to the garbage collector: a graph built before may still use it.
    const weight = keep(noGrad(() => tidy(() => composeWeightFromMask(this.factors, mask))));
    this.cached = { mask, weight };
    return weight;
  }

  /** Whether z is being trained now: grad mode, and the mask comes from a z that wants grads. */
  private trainingZ(): boolean {
    return !this.fixedMask && this.z.requiresGrad && isGradEnabled();
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(
        `SvfLinear '${this.path}' (${this.inFeatures}→${this.outFeatures}): input [${x.shape.join(', ')}] has the wrong last axis`,
      );
    }
    let y: Tensor;
    if (!this.original && this.enabled && this.trainingZ()) {
      // z gets its gradient through the factors, W' is never formed (see applyComposed).
      y = applyComposed(x, this.factors, maskFromZ(this.z, this.maxMult));
    } else {
      let w: Tensor;
      if (this.original) w = this.enabled ? this.weight : this.original;
      else w = this.enabled ? this.adaptedWeight() : this.weight;
      y = matmul(x, w, { transB: true });
    }
    return this.bias ? add(y, this.bias) : y;
  }

  /**
   * The W and b that `forward` multiplies by right now (outside autograd), so that
   * fused decoding can run this layer like a Linear.
   */
  inferenceWeights(): { weight: Tensor; bias: Tensor | null } {
    let weight: Tensor;
    if (this.original) weight = this.enabled ? this.weight : this.original;
    else weight = this.enabled ? noGrad(() => this.adaptedWeight()) : this.weight;
    return { weight, bias: this.bias };
  }

  /** Writes W' for the current mask into `weight` (the base weight is kept for `unmerge`). */
  merge(): void {
    if (this.original) return;
    const composed = noGrad(() =>
      tidy(() => composeWeightFromMask(this.factors, this.currentMask())),
    );
    this.original = keep(fromArray(this.weight.data, this.weight.shape));
    this.weight.data.set(composed.data);
    composed.dispose();
  }

  /** Restores the base weight exactly. */
  unmerge(): void {
    if (!this.original) return;
    this.weight.data.set(this.original.data);
    this.original.dispose();
    this.original = null;
  }

  private assertUnmerged(op: string): void {
    if (this.original) {
      throw new Error(`SvfLinear '${this.path}': ${op} while merged; call unmerge() first`);
    }
  }
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
