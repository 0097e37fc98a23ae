/**
 * The kernel interface: what every backend computes, on contiguous row-major float32
 * data. Ops (src/ops) check shapes and record gradients; kernels only do arithmetic,
 * so a new backend never touches an op (the tfjs-core split).
 */
import type { Bf16Home } from './bf16-home';
import { bufferPool } from './buffer-pool';
import type { DecodeKernels } from './decode-kernels';

/**
 * Values a device backend keeps where it computed them (a gpu.js GL texture), so that
 * the next op reads them there; they come to the host only when asked for.
 */
export interface DeviceData {
  readonly length: number;
  /** Copies the values to the host (a GPU readback). */
  read(): Float32Array;
  /** Frees the device memory; idempotent. */
  release(): void;
}

/** A kernel operand or result: host values, or a device backend's own device data. */
export type KernelData = Float32Array | DeviceData;

/** The host values of a kernel result (reading device data back). */
export function hostValues(d: KernelData): Float32Array {
  return d instanceof Float32Array ? d : d.read();
}

/** Gives back a kernel result no tensor holds: host buffers to the pool, device data freed. */
export function releaseKernelData(d: KernelData): void {
  if (d instanceof Float32Array) bufferPool.release(d);
  else d.release();
}

/** Every binary op a backend computes, so that suites can cover them all. */
export const BINARY_OPS = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'greater',
  'less',
  'equal',
] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

/** Every unary op a backend computes; the last three are derivatives used by gradient rules. */
export const UNARY_OPS = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'abs',
  'sigmoid',
  'silu',
  'gelu',
  'tanh',
  'relu',
  'square',
  'sign',
  'reciprocal',
  'siluGrad',
  'geluGrad',
  'step',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

export type ReduceOp = 'sum' | 'max' | 'min';

/** C[b] = op(A[b]) · op(B[b]); a batch stride of 0 broadcasts one matrix over the batch. */
export interface MatmulParams {
  batch: number;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  aBatchStride: number;
  bBatchStride: number;
}

/** Rotary embedding over rows × seq × dim (rotate-half pairing i ↔ i + dim/2). */
export interface RopeParams {
  rows: number;
  seq: number;
  dim: number;
  /** Position of sequence index t is offset + t, unless `positions` gives it. */
  offset: number;
  positions?: Int32Array;
  /** dim/2 inverse frequencies. */
  invFreq: Float32Array;
  /** Rotate by −angle (the transpose), used by the gradient. */
  inverse: boolean;
}

/** Scaled dot-product attention; q is [batch, heads, tq, dim], k/v [batch, kvHeads, tk, dim]. */
export interface AttentionParams {
  batch: number;
  heads: number;
  kvHeads: number;
  tq: number;
  tk: number;
  dim: number;
  scale: number;
  /** Query t sees keys up to t + (tk − tq): the KV-cache convention. */
  causal: boolean;
  /** Strides of an additive mask broadcast to [batch, heads, tq, tk]; absent when no mask. */
  maskStrides?: readonly [number, number, number, number];
}

export interface Backend<D extends KernelData = KernelData> {
  readonly name: string;
  /**
   * Whether `d` is device data this backend made and can read in place. Ops hand a
   * backend device data only when it holds it, and host values otherwise, so a
   * backend without this method only ever sees Float32Arrays.
   */
  holds?(d: DeviceData): boolean;
  binary(
    op: BinaryOp,
    a: D,
    aShape: readonly number[],
    b: D,
    bShape: readonly number[],
    outShape: readonly number[],
  ): D;
  unary(op: UnaryOp, a: D): D;
  clamp(a: D, lo: number, hi: number): D;
  matmul(a: D, b: D, p: MatmulParams): D;
  /** Reduces the middle axis of a tensor viewed as [outer, len, inner]. */
  reduce(op: ReduceOp, a: D, outer: number, len: number, inner: number): D;
  argmax(a: D, outer: number, len: number, inner: number): D;
  /** Softmax (or log-softmax) of each row of a rows × cols matrix. */
  softmax(a: D, rows: number, cols: number, log: boolean): D;
  permute(a: D, shape: readonly number[], perm: readonly number[]): D;
  slice(a: D, shape: readonly number[], begin: readonly number[], size: readonly number[]): D;
  pad(
    a: D,
    shape: readonly number[],
    padding: readonly (readonly [number, number])[],
    value: number,
  ): D;
  /** Concatenation along an axis, each input viewed as [outer, len_i, inner]. */
  concat(inputs: readonly D[], outer: number, lens: readonly number[], inner: number): D;
  /** out[o, j, i] = a[o, idx[j], i] for a viewed as [outer, len, inner]. */
  indexSelect(a: D, outer: number, len: number, inner: number, idx: Int32Array): D;
  /** The adjoint of indexSelect: zeros of [outer, len, inner] with g[o, j, i] added at idx[j]. */
  indexAdd(g: D, outer: number, len: number, inner: number, idx: Int32Array): D;
  where(
    cond: D,
    condShape: readonly number[],
    a: D,
    aShape: readonly number[],
    b: D,
    bShape: readonly number[],
    outShape: readonly number[],
  ): D;
  rmsNorm(x: D, w: D, rows: number, cols: number, eps: number): D;
  rmsNormBackward(dy: D, x: D, w: D, rows: number, cols: number, eps: number): [dx: D, dw: D];
  rope(x: D, p: RopeParams): D;
  /**
   * Returns the output and the state its backward pass needs (the js backend keeps the
   * probabilities; the wasm backend may keep row log-sum-exps): saved state is private to
   * the backend that made it and is handed back only to that backend's attentionBackward.
   */
  attention(q: D, k: D, v: D, mask: D | null, p: AttentionParams): [out: D, probs: D];
  attentionBackward(dOut: D, q: D, k: D, v: D, probs: D, p: AttentionParams): [dq: D, dk: D, dv: D];
  /** Per-row −log softmax(logits)[target]; rows whose target is ignoreIndex give 0. */
  crossEntropy(logits: D, targets: Int32Array, rows: number, cols: number, ignoreIndex: number): D;
  /** d loss / d logits given d loss / d rowLoss. */
  crossEntropyBackward(
    logits: D,
    targets: Int32Array,
    rows: number,
    cols: number,
    ignoreIndex: number,
    rowGrad: D,
  ): D;
  /**
   * A fresh set of resident-buffer kernels for token-by-token decoding, where the
   * backend has them (wasm); callers fall back to the ops otherwise.
   */
  decodeKernels?(): DecodeKernels;
  /**
   * Memory for `count` bfloat16 values that this backend's decode kernels read in place
   * (`DecodeKernels.residentBf16`): a loader that puts BF16 weights there keeps one copy.
   */
  bf16Home?(count: number): Bf16Home;
  /** Frees device-side resources; CPU backends have none. */
  dispose?(): void;
}

/** A backend computing on the host: every operand and result is a Float32Array. */
export type HostBackend = Backend<Float32Array>;
