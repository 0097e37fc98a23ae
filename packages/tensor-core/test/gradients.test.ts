import { afterAll, beforeAll, describe, it } from 'vitest';
import * as t from '../src/index';
import { testBackends } from './backends';
import { checkGradients } from './gradcheck';

/** Random leaf tensor; `away` keeps values at least that far from 0 (for kinks). */
function leaf(
  shape: number[],
  seed: number,
  opts: { away?: number; low?: number; high?: number } = {},
): t.Tensor {
  const rng = new t.Rng(seed);
  const { away = 0, low = -1, high = 1 } = opts;
  const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
    let v = low + (high - low) * rng.uniform();
    if (away && Math.abs(v) < away) v = v < 0 ? v - away : v + away;
    return v;
  });
  return t.fromArray(values, shape).requireGrad();
}

describe.each(testBackends())('gradients on the %s backend', (backend) => {
  beforeAll(async () => {
    await t.setBackend(backend);
  });
  afterAll(async () => {
    await t.setBackend('js');
  });

  it('elementwise binary ops with broadcasting', () => {
    const a = leaf([2, 3, 4], 1);
    const b = leaf([3, 1], 2, { away: 0.3 });
    checkGradients(t.add, [a, b]);
    checkGradients(t.sub, [a, b]);
    checkGradients(t.mul, [a, b]);
    checkGradients(t.div, [a, b]);
    checkGradients((x, y) => t.maximum(x, y), [leaf([3, 4], 3), leaf([4], 4)]);
    checkGradients((x, y) => t.minimum(x, y), [leaf([3, 4], 5), leaf([3, 4], 6)]);
    checkGradients((x) => t.add(x, 2.5), [leaf([5], 7)]);
  });

  it('pow with tensor base and exponent', () => {
    checkGradients(t.pow, [leaf([3, 2], 8, { low: 0.5, high: 2 }), leaf([2], 9)]);
    checkGradients((x) => t.pow(x, 3), [leaf([4], 10)]);
  });

  it('unary ops', () => {
    const x = leaf([3, 5], 11, { away: 0.05 });
    const pos = leaf([3, 5], 12, { low: 0.3, high: 2 });
    for (const f of [t.neg, t.exp, t.abs, t.square, t.sigmoid, t.silu, t.gelu, t.tanh, t.relu]) {
      checkGradients(f, [x]);
    }
    for (const f of [t.log, t.sqrt, t.rsqrt, t.reciprocal]) checkGradients(f, [pos]);
    checkGradients((y) => t.clamp(y, -0.5, 0.5), [leaf([20], 13, { away: 0.05 })]);
  });

  it('reductions over axes with and without keepdims', () => {
    const x = leaf([2, 3, 4], 14);
    checkGradients((y) => t.sum(y), [x]);
    checkGradients((y) => t.sum(y, [0, 2], true), [x]);
    checkGradients((y) => t.mean(y, 1), [x]);
    checkGradients((y) => t.max(y, -1), [x]);
    checkGradients((y) => t.min(y, [0, 1], true), [x]);
  });

  it('matmul with transposes, batches and broadcasting', () => {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = leaf(transA ? [2, 4, 3] : [2, 3, 4], 15);
        const b = leaf(transB ? [5, 4] : [4, 5], 16);
        checkGradients((x, y) => t.matmul(x, y, { transA, transB }), [a, b]);
      }
    }
    checkGradients((x, y) => t.matmul(x, y), [leaf([2, 1, 3, 4], 17), leaf([3, 4, 2], 18)]);
    // One b for the whole batch (folded into one product), b with more leading axes than a.
    checkGradients(
      (x, y) => t.matmul(x, y, { transB: true }),
      [leaf([2, 3, 4], 23), leaf([1, 1, 1, 5, 4], 24)],
    );
    checkGradients((x, y) => t.matmul(x, y), [leaf([4], 19), leaf([4, 3], 20)]);
    checkGradients((x, y) => t.matmul(x, y), [leaf([3, 4], 21), leaf([4], 22)]);
  });

  it('softmax and logSoftmax on any axis', () => {
    const x = leaf([3, 4, 5], 23, { low: -3, high: 3 });
    checkGradients((y) => t.softmax(y), [x]);
    checkGradients((y) => t.softmax(y, 1), [x]);
    checkGradients((y) => t.logSoftmax(y), [x]);
    checkGradients((y) => t.logSoftmax(y, 0), [x]);
  });

  it('movement ops', () => {
    const x = leaf([2, 3, 4], 24);
    checkGradients((y) => t.reshape(y, [4, -1]), [x]);
    checkGradients((y) => t.permute(y, [2, 0, 1]), [x]);
    checkGradients((y) => t.transpose(y, 0, 2), [x]);
    checkGradients((y) => t.slice(y, [0, 1, 1], [2, 2, -1]), [x]);
    checkGradients((y) => t.narrow(y, 2, 1, 2), [x]);
    checkGradients(
      (y) =>
        t.pad(
          y,
          [
            [1, 0],
            [0, 2],
            [1, 1],
          ],
          0.5,
        ),
      [x],
    );
    checkGradients((y) => t.expand(y, [2, 2, 3, 4]), [x]);
    checkGradients((y) => t.expand(y, [3, 4]), [leaf([3, 1], 25)]);
    checkGradients((y) => t.squeeze(t.unsqueeze(y, 1), 1), [x]);
    const b = leaf([2, 1, 4], 26);
    checkGradients((y, z) => t.concat([y, z], 1), [x, b]);
    checkGradients((y, z) => t.stack([y, z], 1), [leaf([3, 2], 27), leaf([3, 2], 28)]);
    checkGradients((y) => t.split(y, [1, 3], 2)[1]!, [x]);
  });

  it('indexing ops', () => {
    const table = leaf([6, 3], 29);
    checkGradients((w) => t.gather(w, [1, 4, 1, 0], [2, 2]), [table]);
    checkGradients((w) => t.indexSelect(w, 1, [2, 0, 2]), [leaf([2, 3, 2], 30)]);
    const cond = t.fromArray([1, 0, 0, 1, 1, 0], [2, 3]);
    checkGradients((a, b) => t.where(cond, a, b), [leaf([2, 3], 31), leaf([3], 32)]);
  });

  it('rmsNorm (input and weight)', () => {
    checkGradients(
      (x, w) => t.rmsNorm(x, w, 1e-5),
      [leaf([2, 3, 8], 33), leaf([8], 34, { low: 0.5, high: 1.5 })],
    );
  });

  it('rope, with offset and explicit positions', () => {
    const x = leaf([1, 2, 3, 8], 35);
    checkGradients((y) => t.rope(y, { theta: 10000 }), [x]);
    checkGradients((y) => t.rope(y, { theta: 500, offset: 4 }), [x]);
    checkGradients((y) => t.rope(y, { positions: [5, 1, 2] }), [x]);
  });

  it('scaled dot-product attention: causal, grouped-query, masked, KV offset', () => {
    const q = leaf([2, 4, 3, 4], 36);
    const k = leaf([2, 2, 3, 4], 37);
    const v = leaf([2, 2, 3, 4], 38);
    checkGradients((a, b, c) => t.scaledDotProductAttention(a, b, c, { causal: true }), [q, k, v]);
    const mask = t.fromArray([0, -1e9, 0, 0, 0, 0], [2, 1, 1, 3]);
    checkGradients((a, b, c) => t.scaledDotProductAttention(a, b, c, { mask }), [q, k, v]);
    const q1 = leaf([1, 2, 2, 4], 39);
    const k5 = leaf([1, 1, 5, 4], 40);
    const v5 = leaf([1, 1, 5, 4], 41);
    checkGradients(
      (a, b, c) => t.scaledDotProductAttention(a, b, c, { causal: true, scale: 0.3 }),
      [q1, k5, v5],
    );
    // More queries than keys: the first query sees no key at all.
    checkGradients(
      (a, b, c) => t.scaledDotProductAttention(a, b, c, { causal: true }),
      [leaf([1, 2, 4, 4], 49), leaf([1, 1, 3, 4], 50), leaf([1, 1, 3, 4], 51)],
    );
  });

  it('cross-entropy with ignore index and each reduction', () => {
    const logits = leaf([4, 6], 42, { low: -2, high: 2 });
    const targets = [1, -100, 5, 0];
    checkGradients((x) => t.crossEntropy(x, targets), [logits]);
    checkGradients((x) => t.crossEntropy(x, targets, { reduction: 'sum' }), [logits]);
    checkGradients((x) => t.crossEntropy(x, targets, { reduction: 'none' }), [logits]);
  });

  it('nn layers: Linear with bias, Embedding', () => {
    const lin = new t.Linear(4, 3, { rng: new t.Rng(1) });
    checkGradients(
      (x, w, b) => t.add(t.matmul(x, w, { transB: true }), b),
      [leaf([2, 4], 43), lin.weight, lin.bias!],
    );
    const x = leaf([2, 4], 44);
    checkGradients((y) => lin.forward(y), [x]);
  });

  it('composite: a small transformer block', () => {
    const x = leaf([1, 3, 8], 45);
    const wq = leaf([8, 8], 46);
    const wk = leaf([4, 8], 47);
    const norm = leaf([8], 48, { low: 0.5, high: 1.5 });
    checkGradients(
      (h, a, b, n) => {
        const y = t.rmsNorm(h, n, 1e-5);
        const q = t.rope(
          t.transpose(t.reshape(t.matmul(y, a, { transB: true }), [1, 3, 2, 4]), 1, 2),
        );
        const k = t.rope(
          t.transpose(t.reshape(t.matmul(y, b, { transB: true }), [1, 3, 1, 4]), 1, 2),
        );
        const o = t.scaledDotProductAttention(q, k, k, { causal: true });
        return t.add(h, t.reshape(t.transpose(o, 1, 2), [1, 3, 8]));
      },
      [x, wq, wk, norm],
    );
  });
});
