import type { Backend } from '../backend';
import { attention, attentionBackward } from './attention';
import { binary, clamp, unary, where } from './elementwise';
import { crossEntropy, crossEntropyBackward } from './loss';
import { matmul } from './matmul';
import { concat, indexAdd, indexSelect, pad, permute, slice } from './movement';
import { rmsNorm, rmsNormBackward } from './norm';
import type { KernelPlan } from './plan';
import { argmax, reduce, softmax } from './reduce';
import { rope } from './rope';

/** The compute methods of a Backend (everything but its name, holds and dispose). */
export type KernelName = Exclude<keyof Backend, 'name' | 'holds' | 'dispose'>;

/** The Backend method `K`. */
export type KernelMethod<K extends KernelName> = Extract<Backend[K], (...args: never[]) => unknown>;

type PlanBuilders = {
  [K in KernelName]?: (...args: Parameters<KernelMethod<K>>) => KernelPlan | null;
};

/**
 * The Backend kernels gpu.js computes, each as the plan of kernel launches for one call.
 * A builder returns null for a call a gpu.js kernel cannot index exactly (an axis ≥ 2^24,
 * an empty tensor, a matmul batch stride the ops never produce); the js backend takes
 * those. Every kernel a training step uses is here, data movement included, so that a
 * device mode can keep tensors on the device across a whole pass.
 */
export const GPU_JS_PLANS = {
  binary,
  unary,
  clamp,
  matmul,
  reduce,
  argmax,
  softmax,
  where,
  rmsNorm,
  rmsNormBackward,
  rope,
  attention,
  attentionBackward,
  crossEntropy,
  crossEntropyBackward,
  permute,
  slice,
  pad,
  concat,
  indexSelect,
  indexAdd,
} satisfies PlanBuilders;

export type PlannedKernel = keyof typeof GPU_JS_PLANS;

/** A plan's results as the Backend method returns them: one array, or the tuple. */
export function backendResult<T>(results: T[]): T | T[] {
  return results.length === 1 ? results[0]! : results;
}
