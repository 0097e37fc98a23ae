import type { Tensor } from '../tensor/tensor';

/** Serializable optimizer state (moments per parameter index), for checkpoints. */
export interface OptimizerState {
  step: number;
  lr: number;
  slots: Record<string, number[][]>;
}

export abstract class Optimizer {
  lr: number;
  /** Number of `step()` calls so far. */
  stepCount = 0;
  protected readonly slots = new Map<string, Float32Array[]>();

  constructor(
    readonly params: Tensor[],
    lr: number,
  ) {
    if (!(lr >= 0)) throw new Error(`optimizer: learning rate ${lr} must be ≥ 0`);
    this.lr = lr;
  }

  /** Per-parameter buffers of a kind ('m', 'v', 'momentum'), created as zeros on first use. */
  protected slot(kind: string, i: number): Float32Array {
    let list = this.slots.get(kind);
    if (!list) {
      list = this.params.map((p) => new Float32Array(p.size));
      this.slots.set(kind, list);
    }
    return list[i]!;
  }

  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  step(): void {
    this.stepCount++;
    this.params.forEach((p, i) => {
      if (p.grad) this.update(p.data, p.grad.data, i);
    });
  }

  /** Updates one parameter in place from its gradient. */
  protected abstract update(w: Float32Array, g: Float32Array, index: number): void;

  stateDict(): OptimizerState {
    const slots: Record<string, number[][]> = {};
    for (const [k, list] of this.slots) slots[k] = list.map((a) => Array.from(a));
    return { step: this.stepCount, lr: this.lr, slots };
  }

  loadStateDict(state: OptimizerState): void {
    this.stepCount = state.step;
    this.lr = state.lr;
    this.slots.clear();
    for (const [k, list] of Object.entries(state.slots)) {
      if (
        list.length !== this.params.length ||
        list.some((a, i) => a.length !== this.params[i]!.size)
      ) {
        throw new Error(
          `optimizer: saved state '${k}' does not match the parameters being optimized`,
        );
      }
      this.slots.set(
        k,
        list.map((a) => Float32Array.from(a)),
      );
    }
  }
}

export class SGD extends Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;

  constructor(params: Tensor[], opts: { lr: number; momentum?: number; weightDecay?: number }) {
    super(params, opts.lr);
    this.momentum = opts.momentum ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
  }

  protected update(w: Float32Array, g: Float32Array, i: number): void {
    const { lr, momentum, weightDecay } = this;
    const buf = momentum ? this.slot('momentum', i) : null;
    for (let j = 0; j < w.length; j++) {
      let d = g[j]! + weightDecay * w[j]!;
      if (buf) {
        // PyTorch's convention: the first step stores the raw gradient.
        buf[j] = this.stepCount === 1 ? d : momentum * buf[j]! + d;
        d = buf[j]!;
      }
      w[j]! -= lr * d;
    }
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** Adam (Kingma & Ba) with bias correction; weight decay here is L2 added to the gradient. */
export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  protected decoupled = false;

  constructor(params: Tensor[], opts: AdamOptions = {}) {
    super(params, opts.lr ?? 1e-3);
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
  }

  protected update(w: Float32Array, g: Float32Array, i: number): void {
    const { lr, beta1, beta2, eps, weightDecay, decoupled } = this;
    const m = this.slot('m', i);
    const v = this.slot('v', i);
    const c1 = 1 - beta1 ** this.stepCount;
    const c2 = 1 - beta2 ** this.stepCount;
    const stepSize = lr / c1;
    const sqrtC2 = Math.sqrt(c2);
    for (let j = 0; j < w.length; j++) {
      let gj = g[j]!;
      if (decoupled) w[j]! -= lr * weightDecay * w[j]!;
      else if (weightDecay) gj += weightDecay * w[j]!;
      m[j] = beta1 * m[j]! + (1 - beta1) * gj;
      v[j] = beta2 * v[j]! + (1 - beta2) * gj * gj;
      w[j]! -= (stepSize * m[j]!) / (Math.sqrt(v[j]!) / sqrtC2 + eps);
    }
  }
}

/** AdamW (Loshchilov & Hutter): decay applied to the weights, not the gradient. Default decay 0.01. */
export class AdamW extends Adam {
  constructor(params: Tensor[], opts: AdamOptions = {}) {
    super(params, { weightDecay: 0.01, ...opts });
    this.decoupled = true;
  }
}

/**
 * Scales all gradients so their global L2 norm is at most maxNorm; returns the norm
 * before clipping (PyTorch's clip_grad_norm_).
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  let sq = 0;
  for (const p of params) {
    if (!p.grad) continue;
    const g = p.grad.data;
    for (let j = 0; j < g.length; j++) sq += g[j]! * g[j]!;
  }
  const norm = Math.sqrt(sq);
  if (norm > maxNorm && norm > 0) {
    const scale = maxNorm / (norm + 1e-6);
    for (const p of params) {
      if (!p.grad) continue;
      const g = p.grad.data;
      for (let j = 0; j < g.length; j++) g[j]! *= scale;
    }
  }
  return norm;
}
