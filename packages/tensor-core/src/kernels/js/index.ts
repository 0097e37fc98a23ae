import type { HostBackend } from '../backend';
import { attention, attentionBackward } from './attention';
import { binary, clamp, unary, where } from './elementwise';
import { crossEntropy, crossEntropyBackward } from './loss';
import { matmul } from './matmul';
import { concat, indexAdd, indexSelect, pad, permute, slice } from './movement';
import { rmsNorm, rmsNormBackward } from './norm';
import { argmax, reduce, softmax } from './reduce';
import { rope } from './rope';

/** The reference backend: plain TypeScript loops, the ground truth for every other backend. */
export function createJsBackend(): HostBackend {
  return {
    name: 'js',
    binary,
    unary,
    clamp,
    matmul,
    reduce,
    argmax,
    softmax,
    permute,
    slice,
    pad,
    concat,
    indexSelect,
    indexAdd,
    where,
    rmsNorm,
    rmsNormBackward,
    rope,
    attention,
    attentionBackward,
    crossEntropy,
    crossEntropyBackward,
  };
}
