export { backward } from './autograd/backward';
export { isGradEnabled, noGrad } from './autograd/grad-mode';
export { record } from './autograd/record';
export * from './io/index';
export type {
  AttentionParams,
  Backend,
  BinaryOp,
  DeviceData,
  HostBackend,
  KernelData,
  MatmulParams,
  ReduceOp,
  RopeParams,
  UnaryOp,
} from './kernels/backend';
export { BINARY_OPS, hostValues, UNARY_OPS } from './kernels/backend';
export { BufferPool, bufferPool } from './kernels/buffer-pool';
export type { DecodeKernels, DeviceBuffer } from './kernels/decode-kernels';
export * from './kernels/gpujs/index';
export { createJsBackend } from './kernels/js/index';
export {
  type BackendName,
  getBackend,
  kernelCalls,
  loadBackend,
  refuseBackend,
  registerBackend,
  registerBackendAlias,
  registeredBackends,
  resetKernelCalls,
  setAutoChooser,
  setBackend,
  useDefaultBackend,
  withBackend,
} from './kernels/registry';
export * from './kernels/wasm/index';
export { type InferenceWeights, linearWeightsOf } from './nn/inference-weights';
export { Dropout, Embedding, Linear, RMSNorm } from './nn/layers';
export { Module, ModuleList } from './nn/module';
export * from './ops/arithmetic';
export * from './ops/attention';
export { broadcastTo, sumToShape } from './ops/broadcast';
export * from './ops/creation';
export * from './ops/cross-entropy';
export * from './ops/indexing';
export * from './ops/matmul';
export * from './ops/movement';
export * from './ops/norm';
export * from './ops/reduction';
export * from './ops/rope';
export * from './ops/softmax';
export {
  Adam,
  type AdamOptions,
  AdamW,
  clipGradNorm,
  Optimizer,
  type OptimizerState,
  SGD,
} from './optim/optimizer';
export {
  applySchedule,
  constantSchedule,
  cosineSchedule,
  linearWarmup,
  type Schedule,
} from './optim/schedule';
export { defaultRng, manualSeed, Rng } from './random/rng';
export {
  arrayBf16Home,
  Bf16Data,
  type Bf16Home,
  bf16DataOf,
  bf16Tensor,
} from './tensor/bf16-data';
export * from './tensor/shape';
export { type GradNode, keep, Storage, Tensor, tidy } from './tensor/tensor';
