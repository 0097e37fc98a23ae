import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bf16DataOf,
  bf16Tensor,
  createWasmBackend,
  type DecodeKernels,
  f32ToBf16,
  Rng,
  type WasmBackend,
  WasmMemoryError,
} from '../src/index';

/** Random bfloat16 bits and the float32 values they stand for. */
function randomBf16(n: number, rng: Rng): { bits: Uint16Array; wide: Float32Array } {
  const bits = new Uint16Array(n);
  const wide = new Float32Array(n);
  const u32 = new Uint32Array(wide.buffer);
  for (let i = 0; i < n; i++) {
    bits[i] = f32ToBf16(rng.normal());
    u32[i] = bits[i]! << 16;
  }
  return { bits, wide };
}

function random(n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

// The bfloat16 kernels must give, bit for bit, what the float32 kernels give for the
// widened weights: column counts cover whole 8-blocks, a 4-block tail and scalar tails;
// the large cases are split over a worker when there are two threads.
describe.each([1, 2])('wasm bfloat16 decode kernels (%i thread(s))', (threads) => {
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

  const upload = (data: Float32Array) => {
    const buf = k.alloc(data.length);
    k.write(buf, data);
    return buf;
  };
  const uploadBf16 = (bits: Uint16Array) => {
    const buf = k.allocBf16(bits.length);
    k.writeBf16(buf, bits);
    return buf;
  };

  it.each([
    [1, 1],
    [5, 3],
    [7, 12],
    [9, 13],
    [64, 64],
    [2051, 290],
  ])('gemvBf16 %i×%i equals gemv of the widened weights', (rows, cols) => {
    const rng = new Rng(rows * 7 + cols);
    const { bits, wide } = randomBf16(rows * cols, rng);
    const x = upload(random(cols, rng));
    const b = upload(random(rows, rng));
    const half = uploadBf16(bits);
    const full = upload(wide);
    for (const bias of [0, b]) {
      const y1 = k.alloc(rows);
      const y2 = k.alloc(rows);
      k.gemvBf16(half, x, y1, rows, cols, bias);
      k.gemv(full, x, y2, rows, cols, bias);
      expect(k.read(y1, new Float32Array(rows))).toEqual(k.read(y2, new Float32Array(rows)));
    }
  });

  it.each([
    [7, 13, 3],
    [70, 36, 8],
    [2051, 1100, 5],
  ])(
    'gemvBatchBf16 %i×%i over %i vectors equals gemvBatch of the widened weights',
    (rows, cols, m) => {
      const rng = new Rng(rows + cols * 3 + m);
      const { bits, wide } = randomBf16(rows * cols, rng);
      const x = upload(random(m * cols, rng));
      const b = upload(random(rows, rng));
      const half = uploadBf16(bits);
      const full = upload(wide);
      for (const bias of [0, b]) {
        const y1 = k.alloc(m * rows);
        const y2 = k.alloc(m * rows);
        k.gemvBatchBf16(half, x, y1, m, rows, cols, bias);
        k.gemvBatch(full, x, y2, m, rows, cols, bias);
        expect(k.read(y1, new Float32Array(m * rows))).toEqual(
          k.read(y2, new Float32Array(m * rows)),
        );
      }
    },
  );

  it.each([
    [1, 13, 9],
    [9, 36, 70],
    [64, 37, 131],
  ])('linearRowsBf16 %i tokens, %i→%i equals linearRows of the widened weights', (m, kk, n) => {
    const rng = new Rng(m * 100 + kk + n);
    const { bits, wide } = randomBf16(n * kk, rng);
    const x = upload(random(m * kk, rng));
    const b = upload(random(n, rng));
    const half = uploadBf16(bits);
    const full = upload(wide);
    const y1 = k.alloc(m * n);
    const y2 = k.alloc(m * n);
    k.linearRowsBf16(x, half, y1, m, kk, n, b);
    k.linearRows(x, full, y2, m, kk, n, b);
    expect(k.read(y1, new Float32Array(m * n))).toEqual(k.read(y2, new Float32Array(m * n)));
  });
});

describe('bfloat16 weights in the wasm memory', () => {
  it('are read in place by the decode kernels, and widened (and freed) on a host read', async () => {
    const backend = await createWasmBackend({ threads: 1 });
    try {
      const { bits, wide } = randomBf16(48, new Rng(3));
      const home = backend.bf16Home!(bits.length);
      home.bits().set(bits);
      const t = bf16Tensor(home, [6, 8]);
      const data = bf16DataOf(t)!;
      const k = backend.decodeKernels!();
      const at = k.residentBf16(data.where);
      expect(at).not.toBeNull();
      // The kernels read the same bytes the tensor holds.
      const x = k.alloc(8);
      k.write(x, new Float32Array(8).fill(1));
      const y = k.alloc(6);
      k.gemvBf16(at!, x, y, 6, 8, 0);
      const sums = Array.from({ length: 6 }, (_, r) =>
        wide.subarray(r * 8, (r + 1) * 8).reduce((a, v) => Math.fround(a + v), 0),
      );
      const got = k.read(y, new Float32Array(6));
      for (let r = 0; r < 6; r++) expect(got[r]).toBeCloseTo(sums[r]!, 4);
      // Another backend's kernels do not claim them.
      const other = await createWasmBackend({ threads: 1 });
      expect(other.decodeKernels!().residentBf16(data.where)).toBeNull();
      other.dispose();
      // A host read widens exactly and frees the bits.
      expect(t.data).toEqual(wide);
      expect(bf16DataOf(t)).toBeNull();
      expect(() => data.where).toThrow(/after release/);
      expect(() => home.bits()).toThrow(/after release/);
      k.release();
    } finally {
      backend.dispose();
    }
  });

  it('refuses more than 2 GiB with a clear error instead of failing later', async () => {
    const backend = await createWasmBackend({ threads: 1 });
    try {
      const k = backend.decodeKernels!();
      expect(() => k.allocBf16(2 ** 30 + 2 ** 20)).toThrow(WasmMemoryError);
      expect(() => k.alloc(2 ** 29)).toThrow(/2,048 MiB/);
      // Nothing was reserved: a small buffer still fits.
      expect(() => k.alloc(16)).not.toThrow();
      k.release();
    } finally {
      backend.dispose();
    }
  });
});

describe('resident regions of the wasm memory', () => {
  it('are reused first-fit once freed, adjacent freed ones as one gap, and zero-filled', async () => {
    const backend = await createWasmBackend({ threads: 1 });
    try {
      const k = backend.decodeKernels!();
      const home = (count: number) => {
        const h = backend.bf16Home!(count);
        h.bits().fill(0xffff);
        return { h, at: k.residentBf16(h)! };
      };
      const a = home(1000);
      const b = home(1000);
      const c = home(1000);
      const top = home(32);
      b.h.free();
      // Fits b's gap (2,048 bytes rounded from 2,000): placed there, below c.
      const d = home(900);
      expect(d.at).toBe(b.at);
      expect(d.at).toBeLessThan(c.at);
      // Too big for what is left of b's gap: above everything.
      const e = home(1000);
      expect(e.at).toBeGreaterThan(top.at);
      // a and c freed beside d: a's and d's gaps are not adjacent to c's while d lives.
      a.h.free();
      c.h.free();
      const f = home(1500);
      expect(f.at).toBeGreaterThan(e.at);
      d.h.free();
      // Now a, b(d) and c form one gap of 6,144 bytes.
      const g = home(3000);
      expect(g.at).toBe(a.at);
      // Zero-filled when asked (the default for decode buffers), also over freed bytes.
      g.h.free();
      const buf = k.alloc(1400);
      expect(buf).toBe(a.at);
      expect(k.read(buf, new Float32Array(1400))).toEqual(new Float32Array(1400));
      k.release();
    } finally {
      backend.dispose();
    }
  });
});
