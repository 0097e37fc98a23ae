import type { Module, Tensor } from '@t2/tensor-core';

export interface TrainableSummary {
  trainable: number;
  total: number;
  /** 100 · trainable / total. */
  percent: number;
}

/**
 * What every method's handle on a model offers, whatever its layers look like (PEFT's
 * `BaseTuner`): one set of names for enabling, merging and unwrapping, so code that
 * trains, evaluates or merges adapters never asks which method it holds.
 */
export abstract class BaseTuner {
  /** `method` names the adapter in error messages ('Bone', 'LoRA', 'SVF'). */
  constructor(
    readonly model: Module,
    protected readonly method: string,
  ) {}

  /** True while forward passes use the base model only. */
  abstract get disabled(): boolean;
  /** Forward passes use the base model only (merged updates are taken out first). */
  abstract disable(): void;
  abstract enable(): void;
  /** Writes the active adapter's update into the base weights. */
  abstract merge(): void;
  /** Takes every merged update back out of the base weights. */
  abstract unmerge(): void;
  /** Merges the active adapter and puts plain Linear layers back; the handle is spent. */
  abstract mergeAndUnload(): Module;
  /** Puts the original Linear layers back without the adapters; the handle is spent. */
  abstract unload(): Module;
  /** `[name, tensor]` of the active adapter's trainable tensors, as its files name them. */
  abstract namedAdapterParameters(): [string, Tensor][];

  /** The active adapter's tensors: what an optimizer should update. */
  trainableParameters(): Tensor[] {
    return this.namedAdapterParameters().map(([, t]) => t);
  }

  /** Number of values in the active adapter's tensors. */
  numTrainable(): number {
    return this.trainableParameters().reduce((n, t) => n + t.size, 0);
  }

  /** Trainable vs all parameters of the model, like PEFT's `print_trainable_parameters`. */
  trainableSummary(): TrainableSummary {
    const trainable = this.model.numParameters(true);
    const total = this.model.numParameters();
    return { trainable, total, percent: total ? (100 * trainable) / total : 0 };
  }

  /**
   * Runs `fn` with adapters disabled (a base-model pass, e.g. a KL reference), restoring
   * the previous state after, also when `fn` returns a promise.
   */
  withDisabled<T>(fn: () => T): T {
    const was = this.disabled;
    this.disable();
    const restore = () => {
      if (!was) this.enable();
    };
    let out: T;
    try {
      out = fn();
    } catch (err) {
      restore();
      throw err;
    }
    if (out instanceof Promise) return out.finally(restore) as T;
    restore();
    return out;
  }
}
