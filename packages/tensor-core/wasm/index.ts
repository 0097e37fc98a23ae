// Entry point of the kernels module: every export here is callable from JS.
export { attentionBackward, attentionForward, attentionWorkspaceBytes } from './attention';
export { binary, unary } from './elementwise';
export { gemm, gemmWorkspaceBytes, matmul } from './gemm';
export { crossEntropy, crossEntropyBackward, rmsNorm, rmsNormBackward, softmax } from './rows';
