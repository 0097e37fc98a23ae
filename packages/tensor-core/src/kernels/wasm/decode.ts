import type { DecodeKernels } from '../decode-kernels';
import { matmulAt, splitRange } from './matmul';
import type { WasmRuntime } from './runtime';

/**
 * Below this many multiply-adds a matrix–vector product stays on one thread: the
 * weights of a small layer stream through in ~10 µs, about what handing chunks to a
 * worker costs; an LM head over a large vocabulary is many times that.
 */
const GEMV_PARALLEL_MACS = 1 << 19;

/** The decode kernels over a wasm runtime's memory; buffers are resident regions of it. */
export function wasmDecodeKernels(rt: WasmRuntime): DecodeKernels {
  const owned: number[] = [];
  const ex = rt.ex;
  const kernels: DecodeKernels = {
    alloc(floats) {
      const ptr = rt.reserve(Math.max(1, floats) * 4);
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
    read(src, out) {
      return rt.read(src, out);
    },
    gemv(w, x, y, rows, cols, bias) {
      if (rows * cols < GEMV_PARALLEL_MACS || !rt.pool) {
        ex.gemv(w, x, y, bias, cols, 0, rows, 0);
        return;
      }
      const parts = Math.min(8 * rt.threads, Math.ceil((rows * cols) / GEMV_PARALLEL_MACS));
      const chunks = splitRange(rows, Math.max(rt.threads, parts), 4);
      const work = new Array<number>(rt.threads).fill(0);
      rt.pool.run(
        'gemv',
        { args: [w, x, y, bias, cols, 0, 0, 0], rangeIndex: 5, chunks, workIndex: 7, work },
        (a) => ex.gemv(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, 0),
      );
    },
    gemvBatch(w, x, y, m, rows, cols, bias) {
      if (m === 1) return kernels.gemv(w, x, y, rows, cols, bias);
      const macs = rows * cols * m;
      if (macs < GEMV_PARALLEL_MACS || !rt.pool) {
        ex.gemvBatch(w, x, y, bias, cols, rows, m, 0, rows, 0);
        return;
      }
      const parts = Math.min(8 * rt.threads, Math.ceil(macs / GEMV_PARALLEL_MACS));
      const chunks = splitRange(rows, Math.max(rt.threads, parts), 4);
      const work = new Array<number>(rt.threads).fill(0);
      rt.pool.run(
        'gemvBatch',
        {
          args: [w, x, y, bias, cols, rows, m, 0, 0, 0],
          rangeIndex: 7,
          chunks,
          workIndex: 9,
          work,
        },
        (a) => ex.gemvBatch(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, 0),
      );
    },
    linearRows(x, w, y, m, k, n, bias) {
      if (m === 1) return kernels.gemv(w, x, y, n, k, bias);
      rt.reset();
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
