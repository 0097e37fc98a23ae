import type { Bf16Home } from './bf16-home';

/**
 * Kernels for decoding a language model one token at a time. A decode step is dozens
 * of small products; through the tensor ops each would copy its weights into the
 * backend and allocate its output, which costs more than the arithmetic. These work
 * on buffers that stay resident in the backend's memory (weights, KV cache, scratch)
 * and are addressed by handle, so a step copies only the token in and the logits out.
 *
 * Handles are byte addresses: `buf + 4 * i` is float i of a buffer.
 */
export type DeviceBuffer = number;

export interface DecodeKernels {
  /** A resident buffer of `floats` floats, zero-filled; lives until `release`. */
  alloc(floats: number): DeviceBuffer;
  /** Frees every buffer this kernel set allocated. */
  release(): void;
  write(dst: DeviceBuffer, src: Float32Array): void;
  /**
   * A resident buffer of `count` bfloat16 values (2 bytes each), zero-filled; weights a
   * checkpoint stored as BF16 kept at half the bytes. Handles address bytes: value i of
   * such a buffer is at `buf + 2 * i`.
   */
  allocBf16(count: number): DeviceBuffer;
  /**
   * The handle of bfloat16 bits that already live in this kernel set's memory (a home from
   * the backend's `bf16Home`), to use in place; null when they live elsewhere. The caller
   * must not use the handle once the home is freed.
   */
  residentBf16(home: Bf16Home): DeviceBuffer | null;
  /** Copies bfloat16 bits (a `Uint16Array`) into a buffer from `allocBf16`. */
  writeBf16(dst: DeviceBuffer, bits: Uint16Array): void;
  /**
   * `gemv`, `gemvBatch` and `linearRows` with W a bfloat16 buffer, widened to float32 as
   * it is read: every output has the bits the float32 kernel gives for the widened W.
   */
  gemvBf16: DecodeKernels['gemv'];
  gemvBatchBf16: DecodeKernels['gemvBatch'];
  linearRowsBf16: DecodeKernels['linearRows'];
  read(src: DeviceBuffer, out: Float32Array): Float32Array;
  /** y = W x (+ bias); W is rows × cols, row-major (a Linear's weight). bias 0 for none. */
  gemv(
    w: DeviceBuffer,
    x: DeviceBuffer,
    y: DeviceBuffer,
    rows: number,
    cols: number,
    bias: DeviceBuffer,
  ): void;
  /**
   * Y[m, rows] = X[m, cols] · Wᵀ (+ bias) for W [rows, cols], one pass over W for the m
   * vectors, each output row bit-identical to `gemv` of that vector (batched decoding:
   * a batch of sequences gets what each would get alone).
   */
  gemvBatch(
    w: DeviceBuffer,
    x: DeviceBuffer,
    y: DeviceBuffer,
    m: number,
    rows: number,
    cols: number,
    bias: DeviceBuffer,
  ): void;
  /** Y[m, n] = X[m, k] · Wᵀ (+ bias) for W [n, k]: the same projection for m tokens. */
  linearRows(
    x: DeviceBuffer,
    w: DeviceBuffer,
    y: DeviceBuffer,
    m: number,
    k: number,
    n: number,
    bias: DeviceBuffer,
  ): void;
  rmsNorm(
    x: DeviceBuffer,
    w: DeviceBuffer,
    out: DeviceBuffer,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  /** Rotate-half rotary embedding, in place, of `heads` vectors of `dim` at one position. */
  rope(x: DeviceBuffer, heads: number, dim: number, cos: DeviceBuffer, sin: DeviceBuffer): void;
  /** Stores one token's [kvHeads, dim] keys or values at slot `at` of a [kvHeads, capacity, dim] cache. */
  cacheWrite(
    src: DeviceBuffer,
    cache: DeviceBuffer,
    kvHeads: number,
    dim: number,
    capacity: number,
    at: number,
  ): void;
  /**
   * One query [heads, dim] attending to the first `len` entries of a [kvHeads, capacity, dim]
   * KV cache (grouped-query heads); `scores` is workspace of at least `len` floats.
   */
  attend(
    q: DeviceBuffer,
    keys: DeviceBuffer,
    values: DeviceBuffer,
    out: DeviceBuffer,
    heads: number,
    kvHeads: number,
    dim: number,
    capacity: number,
    len: number,
    scale: number,
    scores: DeviceBuffer,
  ): void;
  /** out = silu(g) ⊙ u over n floats (out may be g). */
  swiglu(g: DeviceBuffer, u: DeviceBuffer, out: DeviceBuffer, n: number): void;
  /** a += b over n floats. */
  addInto(a: DeviceBuffer, b: DeviceBuffer, n: number): void;
}
