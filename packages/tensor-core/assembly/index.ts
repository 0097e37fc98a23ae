// Entry point of the kernels module: every export here is callable from JS.
export { attentionBackward, attentionForward, attentionWorkspaceBytes } from './attention';
export {
  addBias,
  addInto,
  attendOne,
  cacheWrite,
  gemv,
  gemvBatch,
  ropeOne,
  swiglu,
} from './decode';
export { gemvBatchBf16, gemvBf16, widenBf16 } from './decode-bf16';
export { binary, unary } from './elementwise';
export { gemm, gemmWorkspaceBytes, matmul } from './gemm';
export { permute, rope } from './movement';
export { reduce } from './reduce';
export {
  crossEntropy,
  crossEntropyBackward,
  rmsNorm,
  rmsNormBackward,
  rmsNormBackwardDw,
  rmsNormBackwardRows,
  rmsNormRows,
  softmax,
} from './rows';
