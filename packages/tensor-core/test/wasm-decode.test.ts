import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend, type DecodeKernels, Rng, type WasmBackend } from '../src/index';

function random(n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

function maxDiff(a: Float32Array, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Float64 reference: y = W x + b. */
function gemvRef(
  w: Float32Array,
  x: Float32Array,
  b: Float32Array | null,
  rows: number,
  cols: number,
) {
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = b ? b[r]! : 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c]! * x[c]!;
    y[r] = s;
  }
  return y;
}

// Threads: 2 splits the large products over a worker.
describe.each([1, 2])('wasm decode kernels (%i thread(s)) match float64 references', (threads) => {
  let backend: WasmBackend;
  let k: DecodeKernels;
  beforeAll(async () => {
    backend = await createWasmBackend({ threads });
    k = backend.decodeKernels!();
  });
  afterAll(() => {
    k.release();
    backend.dispose();
  });

  function upload(data: Float32Array) {
    const buf = k.alloc(data.length);
    k.write(buf, data);
    return buf;
  }

  // Odd sizes exercise the 4-row blocks' remainders and the scalar column tails; the
  // last is large enough to be split over threads.
  it.each([
    [1, 1],
    [7, 13],
    [64, 64],
    [172, 64],
    [2051, 290],
  ])('gemv %i×%i with and without bias', (rows, cols) => {
    const rng = new Rng(rows * 31 + cols);
    const w = random(rows * cols, rng);
    const x = random(cols, rng);
    const b = random(rows, rng);
    const pw = upload(w);
    const px = upload(x);
    const pb = upload(b);
    const py = k.alloc(rows);
    const tol = 1e-5 * Math.sqrt(cols) * 4;
    k.gemv(pw, px, py, rows, cols, 0);
    expect(
      maxDiff(k.read(py, new Float32Array(rows)), gemvRef(w, x, null, rows, cols)),
    ).toBeLessThan(tol);
    k.gemv(pw, px, py, rows, cols, pb);
    expect(maxDiff(k.read(py, new Float32Array(rows)), gemvRef(w, x, b, rows, cols))).toBeLessThan(
      tol,
    );
  });

  // The last is split over threads (rows · cols · m above the parallel threshold) and its
  // 1100 columns make blocks of 12 weight rows, not a divisor of 2051.
  it.each([
    [7, 13, 3],
    [70, 36, 8],
    [2051, 1100, 5],
  ])('gemvBatch %i×%i over %i vectors gives each the bits gemv gives it', (rows, cols, m) => {
    const rng = new Rng(rows + cols + m);
    const w = upload(random(rows * cols, rng));
    const b = upload(random(rows, rng));
    const xs = random(m * cols, rng);
    const x = upload(xs);
    for (const bias of [0, b]) {
      const y = k.alloc(m * rows);
      k.gemvBatch(w, x, y, m, rows, cols, bias);
      const got = k.read(y, new Float32Array(m * rows));
      const one = k.alloc(rows);
      for (let j = 0; j < m; j++) {
        k.gemv(w, upload(xs.slice(j * cols, (j + 1) * cols)), one, rows, cols, bias);
        expect(got.subarray(j * rows, (j + 1) * rows)).toEqual(k.read(one, new Float32Array(rows)));
      }
    }
  });

  it('linearRows projects several tokens like one gemv each', () => {
    const rng = new Rng(5);
    const [m, kk, n] = [9, 36, 70];
    const w = random(n * kk, rng);
    const x = random(m * kk, rng);
    const b = random(n, rng);
    const py = k.alloc(m * n);
    k.linearRows(upload(x), upload(w), py, m, kk, n, upload(b));
    const y = k.read(py, new Float32Array(m * n));
    for (let i = 0; i < m; i++) {
      const ref = gemvRef(w, x.subarray(i * kk, (i + 1) * kk), b, n, kk);
      expect(maxDiff(y.subarray(i * n, (i + 1) * n), ref)).toBeLessThan(1e-4);
    }
  });

  it('rope rotates each head by the given angles (rotate-half)', () => {
    const rng = new Rng(6);
    const [heads, dim] = [3, 8];
    const x = random(heads * dim, rng);
    const angles = [0.3, -1.2, 2.5, 0.01];
    const cos = Float32Array.from(angles, Math.cos);
    const sin = Float32Array.from(angles, Math.sin);
    const px = upload(x);
    k.rope(px, heads, dim, upload(cos), upload(sin));
    const y = k.read(px, new Float32Array(heads * dim));
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < dim / 2; i++) {
        const a = x[h * dim + i]!;
        const c = x[h * dim + i + dim / 2]!;
        expect(y[h * dim + i]).toBeCloseTo(a * cos[i]! - c * sin[i]!, 5);
        expect(y[h * dim + i + dim / 2]).toBeCloseTo(c * cos[i]! + a * sin[i]!, 5);
      }
    }
  });

  it('attend: one query over a grouped-query KV cache equals softmax(qKᵀ·s)V', () => {
    const rng = new Rng(7);
    const [heads, kvHeads, dim, capacity, len] = [6, 2, 10, 16, 11];
    const kc = k.alloc(kvHeads * capacity * dim);
    const vc = k.alloc(kvHeads * capacity * dim);
    const keys: Float32Array[] = [];
    const values: Float32Array[] = [];
    for (let t = 0; t < len; t++) {
      keys.push(random(kvHeads * dim, rng));
      values.push(random(kvHeads * dim, rng));
      k.cacheWrite(upload(keys[t]!), kc, kvHeads, dim, capacity, t);
      k.cacheWrite(upload(values[t]!), vc, kvHeads, dim, capacity, t);
    }
    const q = random(heads * dim, rng);
    const out = k.alloc(heads * dim);
    const scale = 1 / Math.sqrt(dim);
    k.attend(upload(q), kc, vc, out, heads, kvHeads, dim, capacity, len, scale, k.alloc(len));
    const got = k.read(out, new Float32Array(heads * dim));
    const group = heads / kvHeads;
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / group);
      const s = keys.map((key) => {
        let d = 0;
        for (let i = 0; i < dim; i++) d += q[h * dim + i]! * key[g * dim + i]!;
        return d * scale;
      });
      const mx = Math.max(...s);
      const e = s.map((v) => Math.exp(v - mx));
      const z = e.reduce((a, b) => a + b, 0);
      for (let i = 0; i < dim; i++) {
        let ref = 0;
        for (let t = 0; t < len; t++) ref += (e[t]! / z) * values[t]![g * dim + i]!;
        expect(Math.abs(got[h * dim + i]! - ref)).toBeLessThan(1e-5);
      }
    }
  });

  it('swiglu and addInto', () => {
    const rng = new Rng(8);
    const n = 37;
    const g = random(n, rng);
    const u = random(n, rng);
    const pg = upload(g);
    const pu = upload(u);
    const out = k.alloc(n);
    k.swiglu(pg, pu, out, n);
    const ref = Array.from(g, (v, i) => (v / (1 + Math.exp(-v))) * u[i]!);
    expect(maxDiff(k.read(out, new Float32Array(n)), ref)).toBeLessThan(1e-6);
    k.addInto(pg, pu, n);
    expect(
      maxDiff(
        k.read(pg, new Float32Array(n)),
        Array.from(g, (v, i) => Math.fround(v + u[i]!)),
      ),
    ).toBe(0);
  });

  it('resident buffers survive ordinary kernel calls on the same backend', () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => i);
    const buf = upload(data);
    // An ordinary op lays out its operands in the arena, which starts above resident buffers.
    const a = new Float32Array(256 * 256).fill(1);
    backend.matmul(a, a, {
      batch: 1,
      m: 256,
      k: 256,
      n: 256,
      transA: false,
      transB: false,
      aBatchStride: 0,
      bBatchStride: 0,
    });
    expect(k.read(buf, new Float32Array(1000))).toEqual(data);
  });
});

describe('wasm decode kernel buffers', () => {
  it('are zero-filled and released newest first, freeing the memory for reuse', async () => {
    const backend = await createWasmBackend({ threads: 1 });
    try {
      const a = backend.decodeKernels!();
      const first = a.alloc(100);
      a.write(first, new Float32Array(100).fill(7));
      a.release();
      const b = backend.decodeKernels!();
      const again = b.alloc(100);
      expect(again).toBe(first);
      expect(b.read(again, new Float32Array(100))).toEqual(new Float32Array(100));
      b.release();
    } finally {
      backend.dispose();
    }
  });
});
