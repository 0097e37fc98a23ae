import type { Backend } from '../backend';
import { createJsBackend } from '../js/index';
import { attention, attentionBackward } from './attention';
import { GpuJsContext, type GpuJsMode } from './context';
import { binary, clamp, unary, where } from './elementwise';
import { crossEntropy, crossEntropyBackward } from './loss';
import { matmul } from './matmul';
import { rmsNorm, rmsNormBackward } from './norm';
import { argmax, reduce, softmax } from './reduce';
import { rope } from './rope';

export interface GpuJsBackendOptions {
  /** Keep intermediate results on the device (`pipeline: true`); default: GL modes only. */
  pipelineIntermediates?: boolean;
}

/** A Backend with the gpu.js context it runs on, for diagnostics and tests. */
export interface GpuJsBackend extends Backend {
  readonly mode: GpuJsMode;
  readonly context: GpuJsContext;
}

/**
 * A backend whose arithmetic runs in gpu.js kernels in `mode`. The data-movement
 * kernels (permute, slice, pad, concat, indexSelect, indexAdd) are copies with no
 * arithmetic, so they use the js backend; so does any call a gpu.js kernel cannot
 * index exactly (an axis ≥ 2^24, an empty tensor, a matmul batch stride the ops never
 * produce) — each kernel function returns null for those.
 */
export function createGpuJsBackend(mode: GpuJsMode, opts: GpuJsBackendOptions = {}): GpuJsBackend {
  const ctx = new GpuJsContext(mode, opts);
  const js = createJsBackend();
  return {
    name: mode,
    mode,
    context: ctx,
    binary: (op, a, aShape, b, bShape, outShape) =>
      binary(ctx, op, a, aShape, b, bShape, outShape) ??
      js.binary(op, a, aShape, b, bShape, outShape),
    unary: (op, a) => unary(ctx, op, a),
    clamp: (a, lo, hi) => clamp(ctx, a, lo, hi),
    matmul: (a, b, p) => matmul(ctx, a, b, p) ?? js.matmul(a, b, p),
    reduce: (op, a, outer, len, inner) =>
      reduce(ctx, op, a, outer, len, inner) ?? js.reduce(op, a, outer, len, inner),
    argmax: (a, outer, len, inner) =>
      argmax(ctx, a, outer, len, inner) ?? js.argmax(a, outer, len, inner),
    softmax: (a, rows, cols, log) =>
      softmax(ctx, a, rows, cols, log) ?? js.softmax(a, rows, cols, log),
    permute: js.permute,
    slice: js.slice,
    pad: js.pad,
    concat: js.concat,
    indexSelect: js.indexSelect,
    indexAdd: js.indexAdd,
    where: (cond, condShape, a, aShape, b, bShape, outShape) =>
      where(ctx, cond, condShape, a, aShape, b, bShape, outShape) ??
      js.where(cond, condShape, a, aShape, b, bShape, outShape),
    rmsNorm: (x, w, rows, cols, eps) =>
      rmsNorm(ctx, x, w, rows, cols, eps) ?? js.rmsNorm(x, w, rows, cols, eps),
    rmsNormBackward: (dy, x, w, rows, cols, eps) =>
      rmsNormBackward(ctx, dy, x, w, rows, cols, eps) ??
      js.rmsNormBackward(dy, x, w, rows, cols, eps),
    rope: (x, p) => rope(ctx, x, p) ?? js.rope(x, p),
    attention: (q, k, v, mask, p) =>
      attention(ctx, q, k, v, mask, p) ?? js.attention(q, k, v, mask, p),
    attentionBackward: (dOut, q, k, v, probs, p) =>
      attentionBackward(ctx, dOut, q, k, v, probs, p) ??
      js.attentionBackward(dOut, q, k, v, probs, p),
    crossEntropy: (logits, targets, rows, cols, ignoreIndex) =>
      crossEntropy(ctx, logits, targets, rows, cols, ignoreIndex) ??
      js.crossEntropy(logits, targets, rows, cols, ignoreIndex),
    crossEntropyBackward: (logits, targets, rows, cols, ignoreIndex, rowGrad) =>
      crossEntropyBackward(ctx, logits, targets, rows, cols, ignoreIndex, rowGrad) ??
      js.crossEntropyBackward(logits, targets, rows, cols, ignoreIndex, rowGrad),
    dispose: () => ctx.destroy(),
  };
}
