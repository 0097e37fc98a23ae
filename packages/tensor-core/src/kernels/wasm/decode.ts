import type { Bf16Data, Bf16Home } from '../../tensor/bf16-data';
import type { DecodeKernels } from '../decode-kernels';
import { matmulAt, splitRange } from './matmul';
import type { WasmRuntime } from './runtime';

/**
 * Below this many multiply-adds a matrix–vector product stays on one thread: the
 * weights of a small layer stream through in ~10 µs, about what handing chunks to a
 * worker costs; an LM head over a large vocabulary is many times that.
 */
const GEMV_PARALLEL_MACS = 1 << 19;

/** bfloat16 bits in a resident region of a wasm runtime's memory. */
export class WasmBf16Home implements Bf16Home {
  private freed = false;

  constructor(
    readonly rt: WasmRuntime,
    readonly address: number,
    readonly count: number,
  ) {}

  static reserve(rt: WasmRuntime, count: number): WasmBf16Home {
    // Not zero-filled: the caller writes every value.
    return new WasmBf16Home(rt, rt.reserve(Math.max(1, count) * 2, { zero: false }), count);
  }

  bits(): Uint16Array {
    if (this.freed) throw new Error('wasm: bfloat16 weights used after release');
    return new Uint16Array(this.rt.memory.buffer, this.address, this.count);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.rt.release(this.address);
  }
}

/** The decode kernels over a wasm runtime's memory; buffers are resident regions of it. */
export function wasmDecodeKernels(rt: WasmRuntime): DecodeKernels {
  const owned: number[] = [];
  const ex = rt.ex;
  /** y = W x (+ bias), split over the threads when the weights are large. */
  const gemvOn = (
    bf16: boolean,
    w: number,
    x: number,
    y: number,
    rows: number,
    cols: number,
    bias: number,
  ) => {
    const fn = bf16 ? ex.gemvBf16 : ex.gemv;
    if (rows * cols < GEMV_PARALLEL_MACS || !rt.pool) {
      fn(w, x, y, bias, cols, 0, rows, 0);
      return;
    }
    const parts = Math.min(8 * rt.threads, Math.ceil((rows * cols) / GEMV_PARALLEL_MACS));
    const chunks = splitRange(rows, Math.max(rt.threads, parts), 4);
    const work = new Array<number>(rt.threads).fill(0);
    rt.pool.run(
      bf16 ? 'gemvBf16' : 'gemv',
      { args: [w, x, y, bias, cols, 0, 0, 0], rangeIndex: 5, chunks, workIndex: 7, work },
      (a) => fn(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, 0),
    );
  };
  /** Y = X Wᵀ (+ bias) for m vectors with one pass over W. */
  const gemvBatchOn = (
    bf16: boolean,
    w: number,
    x: number,
    y: number,
    m: number,
    rows: number,
    cols: number,
    bias: number,
  ) => {
    if (m === 1) return gemvOn(bf16, w, x, y, rows, cols, bias);
    const fn = bf16 ? ex.gemvBatchBf16 : ex.gemvBatch;
    const macs = rows * cols * m;
    if (macs < GEMV_PARALLEL_MACS || !rt.pool) {
      fn(w, x, y, bias, cols, rows, m, 0, rows, 0);
      return;
    }
    const parts = Math.min(8 * rt.threads, Math.ceil(macs / GEMV_PARALLEL_MACS));
    const chunks = splitRange(rows, Math.max(rt.threads, parts), 4);
    const work = new Array<number>(rt.threads).fill(0);
    rt.pool.run(
      bf16 ? 'gemvBatchBf16' : 'gemvBatch',
      {
        args: [w, x, y, bias, cols, rows, m, 0, 0, 0],
        rangeIndex: 7,
        chunks,
        workIndex: 9,
        work,
      },
      (a) => fn(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, 0),
    );
  };
  /** Y[m, n] = X[m, k] · Wᵀ (+ bias) as one matrix product (W float32 at `w`). */
  const linearRowsOn = (
    x: number,
    w: number,
    y: number,
    m: number,
    k: number,
    n: number,
    bias: number,
  ) => {
    matmulAt(rt, x, w, y, {
      batch: 1,
      m,
      k,
      n,
      transA: false,
      transB: true,
      aBatchStride: 0,
      bBatchStride: 0,
    });
    if (bias) ex.addBias(y, bias, m, n);
  };
  const kernels: DecodeKernels = {
    alloc(floats) {
      const ptr = rt.reserve(Math.max(1, floats) * 4);
      owned.push(ptr);
      return ptr;
    },
    allocBf16(count) {
      const ptr = rt.reserve(Math.max(1, count) * 2);
      owned.push(ptr);
      return ptr;
    },
    release() {
      // Newest first, so that the arena shrinks back with each one.
      while (owned.length) rt.release(owned.pop()!);
    },
    write(dst, src) {
      rt.f32.set(src, dst >> 2);
    },
    residentBf16(home) {
      return home instanceof WasmBf16Home && home.rt === rt ? home.address : null;
    },
    writeBf16(dst, bits) {
      new Uint16Array(rt.memory.buffer, dst, bits.length).set(bits);
    },
    read(src, out) {
      return rt.read(src, out);
    },
    gemv: (w, x, y, rows, cols, bias) => gemvOn(false, w, x, y, rows, cols, bias),
    gemvBf16: (w, x, y, rows, cols, bias) => gemvOn(true, w, x, y, rows, cols, bias),
    gemvBatch: (w, x, y, m, rows, cols, bias) => gemvBatchOn(false, w, x, y, m, rows, cols, bias),
    gemvBatchBf16: (w, x, y, m, rows, cols, bias) =>
      gemvBatchOn(true, w, x, y, m, rows, cols, bias),
    linearRows(x, w, y, m, k, n, bias) {
      if (m === 1) return gemvOn(false, w, x, y, n, k, bias);
      rt.reset();
      linearRowsOn(x, w, y, m, k, n, bias);
    },
    linearRowsBf16(x, w, y, m, k, n, bias) {
      if (m === 1) return gemvOn(true, w, x, y, n, k, bias);
      // A prompt chunk is a matrix product: widen W once into the arena for the gemm
      // (the same float32 weights, so the same results as float32 resident weights).
      rt.reset();
      const wide = rt.alloc(n * k * 4);
      ex.widenBf16(w, wide, n * k);
      linearRowsOn(x, wide, y, m, k, n, bias);
    },
    rmsNorm: (x, w, out, rows, cols, eps) => ex.rmsNorm(x, w, out, rows, cols, eps),
    rope: (x, heads, dim, cos, sin) => ex.ropeOne(x, heads, dim, cos, sin),
    cacheWrite: (src, cache, kvHeads, dim, capacity, at) =>
      ex.cacheWrite(src, cache, kvHeads, dim, capacity, at),
    attend: (q, keys, values, out, heads, kvHeads, dim, capacity, len, scale, scores) =>
      ex.attendOne(q, keys, values, out, heads, kvHeads, dim, capacity, len, scale, scores),
    swiglu: (g, u, out, n) => ex.swiglu(g, u, out, n),
    addInto: (a, b, n) => ex.addInto(a, b, n),
  };
  return kernels;
}
