/**
 * The kernel interface: what every backend computes, on contiguous row-major float32
 * data. Ops (src/ops) check shapes and record gradients; kernels only do arithmetic,
 * so a new backend never touches an op (the tfjs-core split).
 */
import type { DecodeKernels } from './decode-kernels';

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

export interface Backend {
  readonly name: string;
  binary(
    op: BinaryOp,
    a: Float32Array,
    aShape: readonly number[],
    b: Float32Array,
    bShape: readonly number[],
    outShape: readonly number[],
  ): Float32Array;
  unary(op: UnaryOp, a: Float32Array): Float32Array;
  clamp(a: Float32Array, lo: number, hi: number): Float32Array;
  matmul(a: Float32Array, b: Float32Array, p: MatmulParams): Float32Array;
  /** Reduces the middle axis of a tensor viewed as [outer, len, inner]. */
  reduce(op: ReduceOp, a: Float32Array, outer: number, len: number, inner: number): Float32Array;
  argmax(a: Float32Array, outer: number, len: number, inner: number): Float32Array;
  /** Softmax (or log-softmax) of each row of a rows × cols matrix. */
  softmax(a: Float32Array, rows: number, cols: number, log: boolean): Float32Array;
  permute(a: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array;
  slice(
    a: Float32Array,
    shape: readonly number[],
    begin: readonly number[],
    size: readonly number[],
  ): Float32Array;
  pad(
    a: Float32Array,
    shape: readonly number[],
    padding: readonly (readonly [number, number])[],
    value: number,
  ): Float32Array;
  /** Concatenation along an axis, each input viewed as [outer, len_i, inner]. */
  concat(
    inputs: readonly Float32Array[],
    outer: number,
    lens: readonly number[],
    inner: number,
  ): Float32Array;
  /** out[o, j, i] = a[o, idx[j], i] for a viewed as [outer, len, inner]. */
  indexSelect(
    a: Float32Array,
    outer: number,
    len: number,
    inner: number,
    idx: Int32Array,
  ): Float32Array;
  /** The adjoint of indexSelect: zeros of [outer, len, inner] with g[o, j, i] added at idx[j]. */
  indexAdd(
    g: Float32Array,
    outer: number,
    len: number,
    inner: number,
    idx: Int32Array,
  ): Float32Array;
  where(
    cond: Float32Array,
    condShape: readonly number[],
    a: Float32Array,
    aShape: readonly number[],
    b: Float32Array,
    bShape: readonly number[],
    outShape: readonly number[],
  ): Float32Array;
  rmsNorm(x: Float32Array, w: Float32Array, rows: number, cols: number, eps: number): Float32Array;
  rmsNormBackward(
    dy: Float32Array,
    x: Float32Array,
    w: Float32Array,
    rows: number,
    cols: number,
    eps: number,
  ): [dx: Float32Array, dw: Float32Array];
  rope(x: Float32Array, p: RopeParams): Float32Array;
  /**
   * Returns the output and the state its backward pass needs (the js backend keeps the
   * probabilities; the wasm backend may keep row log-sum-exps): saved state is private to
   * the backend that made it and is handed back only to that backend's attentionBackward.
   */
  attention(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    mask: Float32Array | null,
    p: AttentionParams,
  ): [out: Float32Array, probs: Float32Array];
  attentionBackward(
    dOut: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    probs: Float32Array,
    p: AttentionParams,
  ): [dq: Float32Array, dk: Float32Array, dv: Float32Array];
  /** Per-row −log softmax(logits)[target]; rows whose target is ignoreIndex give 0. */
  crossEntropy(
    logits: Float32Array,
    targets: Int32Array,
    rows: number,
    cols: number,
    ignoreIndex: number,
  ): Float32Array;
  /** d loss / d logits given d loss / d rowLoss. */
  crossEntropyBackward(
    logits: Float32Array,
    targets: Int32Array,
    rows: number,
    cols: number,
    ignoreIndex: number,
    rowGrad: Float32Array,
  ): Float32Array;
  /**
   * A fresh set of resident-buffer kernels for token-by-token decoding, where the
   * backend has them (wasm); callers fall back to the ops otherwise.
   */
  decodeKernels?(): DecodeKernels;
  /** Frees device-side resources; CPU backends have none. */
  dispose?(): void;
}
