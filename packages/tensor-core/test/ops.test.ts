import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as t from '../src/index';
import { testBackends } from './backends';
import { expectClose } from './gradcheck';

/** Plain double-precision matmul for reference. */
function refMatmul(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
): number[] {
  const out = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++)
      for (let j = 0; j < n; j++) out[i * n + j]! += a[i * k + p]! * b[p * n + j]!;
  return out;
}

describe.each(testBackends())('ops on the %s backend', (backend) => {
  beforeAll(async () => {
    await t.setBackend(backend);
  });
  afterAll(async () => {
    await t.setBackend('js');
  });

  it('creation', () => {
    expect(t.zeros([2, 3]).toArray()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(Array.from(t.arange(1, 7, 2).data)).toEqual([1, 3, 5]);
    expect(Array.from(t.arange(3).data)).toEqual([0, 1, 2]);
    expect(t.full([2], 7).toArray()).toEqual([7, 7]);
    expect(Array.from(t.eye(2).data)).toEqual([1, 0, 0, 1]);
    expect(() => t.fromArray([1, 2, 3], [2, 2])).toThrow(/do not fill/);
  });

  it('seeded random tensors are reproducible and have the right moments', () => {
    const a = t.randn([1000], { rng: new t.Rng(3) });
    const b = t.randn([1000], { rng: new t.Rng(3) });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Math.abs(t.mean(a).item())).toBeLessThan(0.1);
    expect(Math.abs(t.mean(t.square(a)).item() - 1)).toBeLessThan(0.1);
    const u = t.rand([1000], { low: 2, high: 3, rng: new t.Rng(4) });
    expect(t.min(u).item()).toBeGreaterThanOrEqual(2);
    expect(t.max(u).item()).toBeLessThan(3);
  });

  it('broadcasting arithmetic', () => {
    const a = t.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    const col = t.fromArray([10, 20], [2, 1]);
    expect(t.add(a, col).toArray()).toEqual([
      [11, 12, 13],
      [24, 25, 26],
    ]);
    expect(t.mul(a, t.fromArray([1, 0, -1])).toArray()).toEqual([
      [1, 0, -3],
      [4, 0, -6],
    ]);
    expect(t.sub(1, a).toArray()).toEqual([
      [0, -1, -2],
      [-3, -4, -5],
    ]);
    expectClose(t.div(a, 2).data, [0.5, 1, 1.5, 2, 2.5, 3]);
    expectClose(t.pow(a, t.fromArray([2])).data, [1, 4, 9, 16, 25, 36]);
    expect(Array.from(t.maximum(a, 3.5).data)).toEqual([3.5, 3.5, 3.5, 4, 5, 6]);
    expect(Array.from(t.minimum(a, 3.5).data)).toEqual([1, 2, 3, 3.5, 3.5, 3.5]);
    expect(() => t.add(t.zeros([2, 3]), t.zeros([4]))).toThrow(/do not broadcast/);
    const b3 = t.add(t.zeros([2, 1, 4]), t.fromArray([1, 2, 3], [3, 1]));
    expect(b3.shape).toEqual([2, 3, 4]);
    expect(Array.from(b3.data.slice(0, 8))).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
  });

  it('unary ops match Math', () => {
    const xs = [-2, -0.5, 0.25, 1, 3];
    const x = t.fromArray(xs);
    const check = (f: (x: t.Tensor) => t.Tensor, g: (v: number) => number) =>
      expectClose(f(x).data, xs.map(g), 1e-6, 1e-5);
    check(t.neg, (v) => -v);
    check(t.exp, Math.exp);
    check(t.abs, Math.abs);
    check(t.tanh, Math.tanh);
    check(t.sigmoid, (v) => 1 / (1 + Math.exp(-v)));
    check(t.silu, (v) => v / (1 + Math.exp(-v)));
    check(t.relu, (v) => Math.max(0, v));
    check(
      t.gelu,
      (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
    );
    check(
      (y) => t.clamp(y, -1, 1),
      (v) => Math.min(1, Math.max(-1, v)),
    );
    const pos = t.fromArray([0.25, 1, 4]);
    expectClose(t.sqrt(pos).data, [0.5, 1, 2]);
    expectClose(t.rsqrt(pos).data, [2, 1, 0.5]);
    expectClose(t.log(pos).data, [Math.log(0.25), 0, Math.log(4)], 1e-6);
  });

  it('reductions', () => {
    const x = t.fromArray([1, 5, 3, 4, 2, 6], [2, 3]);
    expect(t.sum(x).item()).toBe(21);
    expect(Array.from(t.sum(x, 0).data)).toEqual([5, 7, 9]);
    expect(t.sum(x, 1, true).shape).toEqual([2, 1]);
    expectClose(t.mean(x, 1).data, [3, 4]);
    expect(Array.from(t.max(x, 1).data)).toEqual([5, 6]);
    expect(Array.from(t.min(x, 0).data)).toEqual([1, 2, 3]);
    expect(Array.from(t.argmax(x, 1).data)).toEqual([1, 2]);
    expect(Array.from(t.argmax(x, 0).data)).toEqual([1, 0, 1]);
    expect(() => t.sum(x, 2)).toThrow(/out of range/);
  });

  it('matmul against a float64 reference, all transposes and batching', () => {
    const rng = new t.Rng(9);
    for (const [m, k, n] of [
      [1, 1, 1],
      [3, 5, 2],
      [17, 33, 9],
      [64, 48, 40],
    ] as const) {
      const a = t.randn([m, k], { rng });
      const b = t.randn([k, n], { rng });
      const want = refMatmul(a.data, b.data, m, k, n);
      expectClose(t.matmul(a, b).data, want, 1e-4, 1e-4);
      expectClose(t.matmul(t.transpose(a), b, { transA: true }).data, want, 1e-4, 1e-4);
      expectClose(t.matmul(a, t.transpose(b), { transB: true }).data, want, 1e-4, 1e-4);
      expectClose(
        t.matmul(t.transpose(a), t.transpose(b), { transA: true, transB: true }).data,
        want,
        1e-4,
        1e-4,
      );
    }
    const a = t.randn([2, 3, 4, 5], { rng });
    const b = t.randn([3, 5, 2], { rng });
    const c = t.matmul(a, b);
    expect(c.shape).toEqual([2, 3, 4, 2]);
    const a12 = t.slice(a, [1, 2, 0, 0], [1, 1, -1, -1]);
    const b2 = t.slice(b, [2, 0, 0], [1, -1, -1]);
    expectClose(
      t.slice(c, [1, 2, 0, 0], [1, 1, -1, -1]).data,
      refMatmul(a12.data, b2.data, 4, 5, 2),
      1e-4,
      1e-4,
    );
    expect(() => t.matmul(t.zeros([2, 3]), t.zeros([4, 2]))).toThrow(/inner dimensions/);
  });

  it('softmax is stable and normalised', () => {
    const x = t.fromArray([1000, 1001, 1002, -5, 0, 5], [2, 3]);
    const s = t.softmax(x);
    expect(Number.isFinite(s.data[0]!)).toBe(true);
    expectClose(t.sum(s, 1).data, [1, 1], 1e-6);
    const e = [Math.exp(-2), Math.exp(-1), 1];
    const z = e.reduce((p, q) => p + q);
    expectClose(
      s.data.slice(0, 3),
      e.map((v) => v / z),
      1e-6,
    );
    expectClose(
      t.logSoftmax(x).data.slice(0, 3),
      e.map((v) => Math.log(v / z)),
      1e-5,
    );
    expectClose(t.softmax(t.transpose(x), 0).data, t.transpose(s).data, 1e-6);
  });

  it('movement ops', () => {
    const x = t.arange(24);
    const y = t.reshape(x, [2, 3, 4]);
    expect(t.reshape(y, [-1, 4]).shape).toEqual([6, 4]);
    expect(() => t.reshape(y, [5, -1])).toThrow(/cannot infer/);
    const p = t.permute(y, [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    expect(Array.from(p.data.slice(0, 6))).toEqual([0, 4, 8, 12, 16, 20]);
    expect(Array.from(t.slice(y, [1, 1, 2], [1, 2, 2]).data)).toEqual([18, 19, 22, 23]);
    expect(() => t.slice(y, [1, 1, 2], [1, 2, 3])).toThrow(/outside/);
    const padded = t.pad(t.fromArray([1, 2], [1, 2]), [
      [1, 0],
      [0, 1],
    ]);
    expect(padded.toArray()).toEqual([
      [0, 0, 0],
      [1, 2, 0],
    ]);
    const c = t.concat([t.ones([2, 1]), t.zeros([2, 2])], 1);
    expect(c.toArray()).toEqual([
      [1, 0, 0],
      [1, 0, 0],
    ]);
    const s = t.stack([t.fromArray([1, 2]), t.fromArray([3, 4])], 1);
    expect(s.toArray()).toEqual([
      [1, 3],
      [2, 4],
    ]);
    const [a, b] = t.split(t.arange(6), [2, 4]);
    expect(Array.from(a!.data)).toEqual([0, 1]);
    expect(Array.from(b!.data)).toEqual([2, 3, 4, 5]);
    expect(t.expand(t.fromArray([1, 2], [2, 1]), [2, 3]).toArray()).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
    expect(t.unsqueeze(t.zeros([3]), 0).shape).toEqual([1, 3]);
    expect(t.squeeze(t.zeros([1, 3, 1])).shape).toEqual([3]);
  });

  it('indexing', () => {
    const table = t.reshape(t.arange(12), [4, 3]);
    expect(t.gather(table, [3, 0], [2]).toArray()).toEqual([
      [9, 10, 11],
      [0, 1, 2],
    ]);
    expect(t.gather(table, [1, 1, 2, 0], [2, 2]).shape).toEqual([2, 2, 3]);
    expect(() => t.gather(table, [4])).toThrow(/out of range/);
    expect(t.indexSelect(table, 1, [2, 0]).toArray()).toEqual([
      [2, 0],
      [5, 3],
      [8, 6],
      [11, 9],
    ]);
    const w = t.where(t.fromArray([1, 0, 1]), t.fromArray([1, 2, 3]), t.scalar(-1));
    expect(Array.from(w.data)).toEqual([1, -1, 3]);
  });

  it('rmsNorm matches its definition', () => {
    const x = t.fromArray([1, 2, 3, 4, -1, 0, 1, 2], [2, 4]);
    const w = t.fromArray([1, 0.5, 2, 1]);
    const y = t.rmsNorm(x, w, 1e-5);
    const row = [1, 2, 3, 4];
    const r = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / 4 + 1e-5);
    expectClose(
      y.data.slice(0, 4),
      row.map((v, i) => v * r * w.data[i]!),
      1e-6,
    );
    expect(() => t.rmsNorm(x, t.ones([3]))).toThrow(/does not match/);
  });

  it('rope rotates pairs (i, i + d/2) and preserves norms', () => {
    const x = t.randn([1, 2, 5, 8], { rng: new t.Rng(1) });
    const y = t.rope(x, { theta: 10000 });
    const n0 = t.sum(t.square(x), -1);
    const n1 = t.sum(t.square(y), -1);
    expectClose(n1.data, n0.data, 1e-5, 1e-5);
    // Position 0 is not rotated; position p of a unit vector e_0 gives (cos p, …, sin p) on (0, 4).
    expectClose(
      t.slice(y, [0, 0, 0, 0], [1, 2, 1, 8]).data,
      t.slice(x, [0, 0, 0, 0], [1, 2, 1, 8]).data,
    );
    const e0 = t.pad(t.ones([1, 1, 1, 1]), [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 7],
    ]);
    const r = t.rope(e0, { offset: 3 });
    expectClose([r.data[0]!, r.data[4]!], [Math.cos(3), Math.sin(3)], 1e-6);
    // A KV-cache step at offset 2 equals row 2 of the full sequence.
    const step = t.rope(t.slice(x, [0, 0, 2, 0], [1, 2, 1, 8]), { offset: 2 });
    expectClose(step.data, t.slice(y, [0, 0, 2, 0], [1, 2, 1, 8]).data, 1e-6);
  });

  it('attention equals softmax(QKᵀ/√d + mask)V with grouped heads', () => {
    const rng = new t.Rng(2);
    const q = t.randn([1, 4, 3, 8], { rng });
    const k = t.randn([1, 2, 3, 8], { rng });
    const v = t.randn([1, 2, 3, 8], { rng });
    const out = t.scaledDotProductAttention(q, k, v, { causal: true });
    // Reference from ops: repeat kv heads, explicit causal mask.
    const kr = t.reshape(t.expand(t.reshape(k, [1, 2, 1, 3, 8]), [1, 2, 2, 3, 8]), [1, 4, 3, 8]);
    const vr = t.reshape(t.expand(t.reshape(v, [1, 2, 1, 3, 8]), [1, 2, 2, 3, 8]), [1, 4, 3, 8]);
    const causal = t.fromArray([0, -1e30, -1e30, 0, 0, -1e30, 0, 0, 0], [3, 3]);
    const scores = t.add(t.div(t.matmul(q, kr, { transB: true }), Math.sqrt(8)), causal);
    const want = t.matmul(t.softmax(scores), vr);
    expectClose(out.data, want.data, 1e-5, 1e-4);
    // Decoding the last query against the full cache equals the last row.
    const last = t.scaledDotProductAttention(t.slice(q, [0, 0, 2, 0], [1, 4, 1, 8]), k, v, {
      causal: true,
    });
    expectClose(last.data, t.slice(out, [0, 0, 2, 0], [1, 4, 1, 8]).data, 1e-6);
    expect(() =>
      t.scaledDotProductAttention(q, t.zeros([1, 3, 3, 8]), t.zeros([1, 3, 3, 8])),
    ).toThrow(/multiple/);
  });

  it('cross-entropy equals −log softmax at the target, ignoring -100', () => {
    const logits = t.fromArray([1, 2, 3, 0, 0, 0, 5, 1, 0], [3, 3]);
    const ls = t.logSoftmax(logits).data;
    const loss = t.crossEntropy(logits, [2, -100, 0]);
    expectClose([loss.item()], [-(ls[2]! + ls[6]!) / 2], 1e-6);
    expectClose(
      [t.crossEntropy(logits, [2, -100, 0], { reduction: 'sum' }).item()],
      [-(ls[2]! + ls[6]!)],
      1e-6,
    );
    expect(() => t.crossEntropy(logits, [3, 0, 0])).toThrow(/outside/);
    expect(() => t.crossEntropy(logits, [1, 0])).toThrow(/targets/);
  });
});
