// Cross-entropy, RoPE and attention against formulas written out in float64 (issue #19):
// the cases the op suites left open (large logits, ignore rules, explicit positions, masks,
// scale, fully masked rows, gradients by hand).
import { describe, expect, it } from 'vitest';
import * as t from '../src/index';
import { checkGradients, expectClose } from './gradcheck';

function logSumExp(row: number[]): number {
  const m = Math.max(...row);
  return m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
}

function softmax(row: number[]): number[] {
  const l = logSumExp(row);
  return row.map((x) => Math.exp(x - l));
}

describe('crossEntropy = logsumexp(x) − x[target]', () => {
  // Row 1 has logits near 1000: without the max shift exp overflows.
  const rows = [
    [1, 2, 3],
    [1000, 1001, 999],
    [0.5, -0.5, 0],
    [2, 2, 2],
  ];
  const logits = () => t.fromArray(rows.flat(), [4, 3]).requireGrad();

  it("'none' gives each row's loss, 0 for ignored rows", () => {
    const loss = t.crossEntropy(logits(), [2, 0, -100, 1], { reduction: 'none' });
    expect(loss.shape).toEqual([4]);
    expectClose(
      loss.data,
      [logSumExp(rows[0]!) - 3, logSumExp(rows[1]!) - 1000, 0, Math.log(3)],
      1e-5,
    );
  });

  it("'mean' divides by the rows that count, 'sum' does not; the gradient is softmax − onehot", () => {
    const targets = [2, 0, -100, 1];
    const per = [logSumExp(rows[0]!) - 3, logSumExp(rows[1]!) - 1000, logSumExp(rows[3]!) - 2];
    for (const [reduction, scale] of [
      ['mean', 1 / 3],
      ['sum', 1],
    ] as const) {
      const x = logits();
      const loss = t.crossEntropy(x, targets, { reduction });
      expect(loss.shape).toEqual([]);
      expectClose([loss.item()], [(per[0]! + per[1]! + per[2]!) * scale], 1e-5);
      loss.backward();
      const want: number[] = [];
      rows.forEach((row, r) => {
        const p = softmax(row);
        if (targets[r] === -100) want.push(0, 0, 0);
        else want.push(...p.map((v, c) => (v - (c === targets[r] ? 1 : 0)) * scale));
      });
      expectClose(x.grad!.data, want, 1e-6);
    }
  });

  it("'none' passes each row its own upstream gradient", () => {
    const x = logits();
    const w = [0.5, -2, 3, 0];
    t.sum(t.mul(t.crossEntropy(x, [0, 1, 2, 2], { reduction: 'none' }), t.fromArray(w))).backward();
    const want = rows.flatMap((row, r) =>
      softmax(row).map((v, c) => (v - (c === [0, 1, 2, 2][r] ? 1 : 0)) * w[r]!),
    );
    expectClose(x.grad!.data, want, 1e-6);
  });

  it('ignoreIndex may be any value, even a class; all ignored means a zero mean', () => {
    const ignoreOne = t.crossEntropy(logits(), [1, 1, 0, 1], { ignoreIndex: 1 });
    expectClose([ignoreOne.item()], [logSumExp(rows[2]!) - 0.5], 1e-6);
    // out of range but equal to ignoreIndex: allowed, and ignored
    const far = t.crossEntropy(logits(), [7, 7, 7, 0], { ignoreIndex: 7, reduction: 'sum' });
    expectClose([far.item()], [Math.log(3)], 1e-6);
    const x = logits();
    const none = t.crossEntropy(x, [-100, -100, -100, -100]);
    expect(none.item()).toBe(0);
    none.backward();
    expect(Array.from(x.grad!.data).every((v) => v === 0)).toBe(true);
  });

  it('takes targets as a tensor; the loss keeps the leading axes', () => {
    const x = t.fromArray(rows.flat(), [2, 2, 3]);
    const loss = t.crossEntropy(x, t.fromArray([0, 1, 2, 0], [2, 2]), { reduction: 'none' });
    expect(loss.shape).toEqual([2, 2]);
    expectClose(
      loss.data,
      [
        logSumExp(rows[0]!) - 1,
        logSumExp(rows[1]!) - 1001,
        logSumExp(rows[2]!),
        logSumExp(rows[3]!) - 2,
      ],
      1e-5,
    );
  });

  it('shifts by the row maximum wherever it is: logits 900 apart stay finite', () => {
    // the maximum is neither the first nor the last logit of its row
    const x = t.fromArray([0, 900, -900, -900, 0, 900], [2, 3]).requireGrad();
    const loss = t.crossEntropy(x, [1, 2], { reduction: 'sum' });
    expectClose([loss.item()], [0], 1e-6);
    loss.backward();
    expectClose(x.grad!.data, [0, 0, 0, 0, 0, 0], 1e-6);
  });

  it('an ignored row gets a zero gradient even from a recycled buffer', () => {
    const x = logits();
    // a pooled buffer of the gradient's size full of 5s
    t.bufferPool.release(new Float32Array(12).fill(5));
    t.crossEntropy(x, [0, -100, 2, -100]).backward();
    expect(Array.from(x.grad!.data.slice(3, 6))).toEqual([0, 0, 0]);
    expect(Array.from(x.grad!.data.slice(9, 12))).toEqual([0, 0, 0]);
  });

  it("'none' leaves the caller's upstream gradient alone (it is not returned to the pool)", () => {
    const x = logits();
    const g = t.fromArray([1, 2, 3, 4]);
    t.crossEntropy(x, [0, 1, 2, 2], { reduction: 'none' }).backward(g);
    expect(Array.from(g.data)).toEqual([1, 2, 3, 4]);
    const reused = [t.bufferPool.acquire(4), t.bufferPool.acquire(4), t.bufferPool.acquire(4)];
    expect(reused.includes(g.data)).toBe(false);
  });

  it('records itself as the crossEntropy op for backward', () => {
    expect(t.crossEntropy(logits(), [0, 1, 2, 2]).gradNode?.op).toBe('crossEntropy');
  });

  it('names bad targets', () => {
    const x = logits();
    expect(() => t.crossEntropy(x, [0, 1])).toThrow(
      'crossEntropy: 2 targets for 4 rows of logits [4, 3]',
    );
    expect(() => t.crossEntropy(x, [0, 1.5, 0, 0])).toThrow(
      'crossEntropy: target 1.5 at row 1 is outside [0, 3)',
    );
    expect(() => t.crossEntropy(x, [0, 0, -1, 0])).toThrow('target -1 at row 2 is outside [0, 3)');
    expect(() => t.crossEntropy(x, [0, 0, 0, 3])).toThrow('target 3 at row 3 is outside [0, 3)');
    expect(() => t.crossEntropy(x, [0, 0, 0, 2])).not.toThrow();
  });
});

describe('rope: rotate-half pairs (i, i + d/2) by angle pos · θ^(−2i/d)', () => {
  it('ropeInvFreq', () => {
    expectClose(t.ropeInvFreq(4, 100), [1, 0.1], 1e-7);
    expectClose(t.ropeInvFreq(6), [1, 10000 ** (-1 / 3), 10000 ** (-2 / 3)], 1e-7);
  });

  /** The rotation of one vector of length 4 at position p with inverse frequencies f. */
  function rotate(x: number[], p: number, f: number[]): number[] {
    const [a, b, c, d] = x as [number, number, number, number];
    const [c0, s0] = [Math.cos(p * f[0]!), Math.sin(p * f[0]!)];
    const [c1, s1] = [Math.cos(p * f[1]!), Math.sin(p * f[1]!)];
    return [a * c0 - c * s0, b * c1 - d * s1, c * c0 + a * s0, d * c1 + b * s1];
  }

  const rowsOf = (xs: number[][]) => xs.flat();
  const x0 = [1, 2, 3, 4];
  const x1 = [-1, 0.5, 2, -3];
  const x2 = [0.3, -0.2, 0.1, 1];

  it('by offset, by explicit positions, with theta or precomputed frequencies', () => {
    const x = t.fromArray(rowsOf([x0, x1, x2]), [1, 3, 4]);
    const f = [1, 0.1];
    expectClose(
      t.rope(x, { theta: 100 }).data,
      rowsOf([rotate(x0, 0, f), rotate(x1, 1, f), rotate(x2, 2, f)]),
      1e-5,
    );
    expectClose(
      t.rope(x, { theta: 100, offset: 5 }).data,
      rowsOf([rotate(x0, 5, f), rotate(x1, 6, f), rotate(x2, 7, f)]),
      1e-5,
    );
    expectClose(
      t.rope(x, { theta: 100, positions: [4, 0, 9] }).data,
      rowsOf([rotate(x0, 4, f), rotate(x1, 0, f), rotate(x2, 9, f)]),
      1e-5,
    );
    const g = [0.5, 0.25];
    expectClose(
      t.rope(x, { invFreq: Float32Array.from(g), offset: 1 }).data,
      rowsOf([rotate(x0, 1, g), rotate(x1, 2, g), rotate(x2, 3, g)]),
      1e-5,
    );
  });

  it('shares positions across the leading axes', () => {
    const x = t.fromArray(rowsOf([x0, x1, x2, x1]), [2, 2, 4]);
    const f = [1, 0.1];
    expectClose(
      t.rope(x, { theta: 100, offset: 2 }).data,
      rowsOf([rotate(x0, 2, f), rotate(x1, 3, f), rotate(x2, 2, f), rotate(x1, 3, f)]),
      1e-5,
    );
  });

  it('its gradient is the inverse rotation of the upstream gradient', () => {
    const x = t.fromArray(rowsOf([x0, x1]), [2, 4]).requireGrad();
    const g = [0.7, -1.1, 0.4, 2, -0.5, 0.9, 1.3, -0.2];
    t.sum(t.mul(t.rope(x, { theta: 100, offset: 3 }), t.fromArray(g, [2, 4]))).backward();
    const f = [1, 0.1];
    expectClose(
      x.grad!.data,
      [...rotate(g.slice(0, 4), -3, f), ...rotate(g.slice(4), -4, f)],
      1e-5,
    );
  });

  it('names bad inputs', () => {
    expect(() => t.rope(t.fromArray([1, 2]))).toThrow('rope: need [..., seq, dim], got [2]');
    expect(() => t.rope(t.zeros([2, 3]))).toThrow('rope: head dim 3 must be even');
    expect(() => t.rope(t.zeros([2, 4]), { invFreq: new Float32Array(3) })).toThrow(
      'rope: invFreq has 3 entries, need 2',
    );
    expect(() => t.rope(t.zeros([2, 4]), { positions: [1] })).toThrow(
      'rope: 1 positions for seq 2',
    );
    expect(() => t.rope(t.zeros([2, 4]), { positions: [0, -1] })).toThrow(
      'rope: index -1 at position 1 is out of range',
    );
  });

  it('records itself as the rope op for backward', () => {
    expect(t.rope(t.randn([2, 4], { rng: new t.Rng(1) }).requireGrad()).gradNode?.op).toBe('rope');
  });
});

describe('scaledDotProductAttention = softmax(scale · q kᵀ + mask) v per head', () => {
  /** Float64 reference: q [b, h, tq, d], k/v [b, kvh, tk, d], mask [b, h, tq, tk] or null. */
  function reference(
    q: t.Tensor,
    k: t.Tensor,
    v: t.Tensor,
    opts: { causal?: boolean; scale?: number; mask?: number[] },
  ): number[] {
    const [B, H, tq, d] = q.shape as [number, number, number, number];
    const [, KH, tk] = k.shape as [number, number, number];
    const scale = opts.scale ?? 1 / Math.sqrt(d);
    const out: number[] = [];
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / (H / KH));
        for (let i = 0; i < tq; i++) {
          const scores: number[] = [];
          for (let j = 0; j < tk; j++) {
            let s = 0;
            for (let e = 0; e < d; e++)
              s +=
                q.data[((b * H + h) * tq + i) * d + e]! * k.data[((b * KH + kh) * tk + j) * d + e]!;
            s = s * scale + (opts.mask ? opts.mask[((b * H + h) * tq + i) * tk + j]! : 0);
            if (opts.causal && j > i + (tk - tq)) s = Number.NEGATIVE_INFINITY;
            scores.push(s);
          }
          const finite = scores.some((s) => s > Number.NEGATIVE_INFINITY);
          const p = finite ? softmax(scores) : scores.map(() => 0);
          for (let e = 0; e < d; e++) {
            let o = 0;
            for (let j = 0; j < tk; j++) o += p[j]! * v.data[((b * KH + kh) * tk + j) * d + e]!;
            out.push(o);
          }
        }
      }
    return out;
  }

  const rng = new t.Rng(9);
  const q = t.randn([2, 4, 2, 3], { rng });
  const k = t.randn([2, 2, 4, 3], { rng });
  const v = t.randn([2, 2, 4, 3], { rng });

  it('grouped heads, causal with more keys than queries, and a scale', () => {
    expectClose(
      t.scaledDotProductAttention(q, k, v, { causal: true }).data,
      reference(q, k, v, { causal: true }),
      1e-5,
    );
    expectClose(
      t.scaledDotProductAttention(q, k, v, { scale: 0.9 }).data,
      reference(q, k, v, { scale: 0.9 }),
      1e-5,
    );
  });

  it('an additive mask, broadcast from [batch, 1, 1, tk] or given in full', () => {
    // batch 0 blocks key 1, batch 1 blocks keys 0 and 3 and favours key 2
    const small = [0, -1e9, 0, 0, -1e9, 0, 1.5, -1e9];
    const full: number[] = [];
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < 4; h++)
        for (let i = 0; i < 2; i++) full.push(...small.slice(b * 4, b * 4 + 4));
    const want = reference(q, k, v, { mask: full, causal: true });
    expectClose(
      t.scaledDotProductAttention(q, k, v, { mask: t.fromArray(small, [2, 1, 1, 4]), causal: true })
        .data,
      want,
      1e-5,
    );
    expectClose(
      t.scaledDotProductAttention(q, k, v, { mask: t.fromArray(full, [2, 4, 2, 4]), causal: true })
        .data,
      want,
      1e-5,
    );
    // a mask broadcast along the key axis, [tq, 1], adds one constant per row: no change
    expectClose(
      t.scaledDotProductAttention(q, k, v, { mask: t.fromArray([3, -2], [2, 1]) }).data,
      reference(q, k, v, {}),
      1e-5,
    );
    // a mask varying along the query axis only: [tq, tk]
    const perQuery = [0, 0, -1e9, 0, -1e9, 0.5, 0, 0];
    const fullQ: number[] = [];
    for (let b = 0; b < 2; b++) for (let h = 0; h < 4; h++) fullQ.push(...perQuery);
    expectClose(
      t.scaledDotProductAttention(q, k, v, { mask: t.fromArray(perQuery, [2, 4]) }).data,
      reference(q, k, v, { mask: fullQ }),
      1e-5,
    );
  });

  it('a fully masked row gives zeros, not NaN, and no gradient', () => {
    const qq = t.randn([1, 1, 2, 3], { rng }).requireGrad();
    const kk = t.randn([1, 1, 2, 3], { rng }).requireGrad();
    const vv = t.randn([1, 1, 2, 3], { rng }).requireGrad();
    const mask = t.fromArray([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, 0], [2, 2]);
    const out = t.scaledDotProductAttention(qq, kk, vv, { mask });
    expect(Array.from(out.data.slice(0, 3))).toEqual([0, 0, 0]);
    expectClose(out.data.slice(3), reference(qq, kk, vv, { mask: [0, 0, 0, 0] }).slice(3), 1e-5);
    t.sum(out).backward();
    expect(Array.from(qq.grad!.data.slice(0, 3))).toEqual([0, 0, 0]);
  });

  it('gradients with grouped heads, a mask and causality match finite differences', () => {
    const r = new t.Rng(3);
    const qq = t.randn([1, 2, 2, 3], { rng: r }).requireGrad();
    const kk = t.randn([1, 1, 3, 3], { rng: r }).requireGrad();
    const vv = t.randn([1, 1, 3, 3], { rng: r }).requireGrad();
    const mask = t.fromArray([0, 0.7, -0.4], [1, 1, 1, 3]);
    checkGradients(
      (a, b, c) => t.scaledDotProductAttention(a, b, c, { causal: true, mask, scale: 0.8 }),
      [qq, kk, vv],
      { eps: 1e-3 },
    );
  });

  it('names shapes that do not fit', () => {
    expect(() => t.scaledDotProductAttention(t.zeros([1, 2, 3]), k, v)).toThrow(
      'scaledDotProductAttention: q, k, v must be [batch, heads, seq, dim]',
    );
    expect(() => t.scaledDotProductAttention(q, t.zeros([2, 2, 4, 2]), v)).toThrow(
      'scaledDotProductAttention: shapes q [2, 4, 2, 3], k [2, 2, 4, 2], v [2, 2, 4, 3] do not fit',
    );
    expect(() =>
      t.scaledDotProductAttention(q, t.zeros([1, 2, 4, 3]), t.zeros([1, 2, 4, 3])),
    ).toThrow(/do not fit/);
    expect(() => t.scaledDotProductAttention(q, k, t.zeros([2, 2, 5, 3]))).toThrow(/do not fit/);
    expect(() =>
      t.scaledDotProductAttention(q, t.zeros([2, 3, 4, 3]), t.zeros([2, 3, 4, 3])),
    ).toThrow('scaledDotProductAttention: 4 heads not a multiple of 3 kv heads');
    expect(() => t.scaledDotProductAttention(q, k, v, { mask: t.zeros([3, 1, 1, 4]) })).toThrow(
      /mask/,
    );
    // a mask that broadcasts but to a larger shape than [batch, heads, tq, tk]
    expect(() => t.scaledDotProductAttention(q, k, v, { mask: t.zeros([1, 1, 1, 1, 4]) })).toThrow(
      'scaledDotProductAttention: mask [1, 1, 1, 1, 4] does not broadcast to [2, 4, 2, 4]',
    );
    // ... also when its leading axis happens to equal the batch
    expect(() => t.scaledDotProductAttention(q, k, v, { mask: t.zeros([2, 2, 4, 2, 4]) })).toThrow(
      'scaledDotProductAttention: mask [2, 2, 4, 2, 4] does not broadcast to [2, 4, 2, 4]',
    );
    expect(() => t.scaledDotProductAttention(q, k, v, { mask: t.zeros([2, 8, 2, 4]) })).toThrow(
      /mask/,
    );
    // each of q, k, v must be 4-D
    expect(() => t.scaledDotProductAttention(q, t.zeros([2, 4, 3]), v)).toThrow(
      'must be [batch, heads, seq, dim]',
    );
    expect(() => t.scaledDotProductAttention(q, k, t.zeros([2, 4, 3]))).toThrow(
      'must be [batch, heads, seq, dim]',
    );
  });
});

describe('the js attention kernel: saved probabilities, masked positions, large scores', () => {
  const be = t.createJsBackend();
  const rng = new t.Rng(21);
  const [B, H, KH, T, D] = [2, 2, 1, 3, 2];
  const q = t.randn([B, H, T, D], { rng }).data;
  const k = t.randn([B, KH, T, D], { rng }).data;
  const v = t.randn([B, KH, T, D], { rng }).data;
  const params = (batch: number, causal: boolean) => ({
    batch,
    heads: H,
    kvHeads: KH,
    tq: T,
    tk: T,
    dim: D,
    scale: 0.7,
    causal,
  });
  /** Batch `b` of a [B, …] array as its own batch of one. */
  const batchOf = (x: Float32Array, b: number) =>
    x.slice((b * x.length) / B, ((b + 1) * x.length) / B);

  it('returns every (batch, head, query) row of probabilities, 0 past the causal limit, whatever the pool held', () => {
    // a pool buffer of the probabilities' size full of 7s: the kernel must not rely on zeros
    t.bufferPool.release(new Float32Array(B * H * T * T).fill(7));
    const [, probs] = be.attention(q, k, v, null, params(B, true));
    const p = t.hostValues(probs);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < T; i++) {
          const scores: number[] = [];
          for (let j = 0; j <= i; j++) {
            let s = 0;
            for (let e = 0; e < D; e++)
              s += q[((b * H + h) * T + i) * D + e]! * k[(b * T + j) * D + e]!;
            scores.push(0.7 * s);
          }
          const want = [...softmax(scores), ...new Array(T - 1 - i).fill(0)];
          expectClose(
            p.slice(((b * H + h) * T + i) * T, ((b * H + h) * T + i + 1) * T),
            want,
            1e-6,
          );
        }
  });

  it('the backward pass of two batches is each batch’s own', () => {
    const dOut = t.randn([B, H, T, D], { rng: new t.Rng(5) }).data;
    const [, probs] = be.attention(q, k, v, null, params(B, true));
    const both = be
      .attentionBackward(dOut, q, k, v, probs, params(B, true))
      .map((x) => t.hostValues(x));
    for (let b = 0; b < B; b++) {
      const [qb, kb, vb, gb] = [q, k, v, dOut].map((x) => batchOf(x, b));
      const [, pb] = be.attention(qb!, kb!, vb!, null, params(1, true));
      const alone = be.attentionBackward(gb!, qb!, kb!, vb!, pb, params(1, true));
      for (const [i, g] of alone.entries()) {
        expectClose(batchOf(both[i]!, b), t.hostValues(g), 1e-6);
      }
    }
  });

  it('keys and values past the causal limit or under a −∞ mask never reach the result, even infinite ones', () => {
    const kInf = Float32Array.from(k);
    const vInf = Float32Array.from(v);
    // the last key/value of every batch: causally visible only to the last query
    for (let b = 0; b < B; b++)
      for (let e = 0; e < D; e++) {
        kInf[(b * T + T - 1) * D + e] = Number.POSITIVE_INFINITY;
        vInf[(b * T + T - 1) * D + e] = Number.POSITIVE_INFINITY;
      }
    const dOut = t.randn([B, H, T, D], { rng: new t.Rng(6) }).data;
    const [out, probs] = be.attention(q, kInf, vInf, null, params(B, true));
    const [dq] = be.attentionBackward(dOut, q, kInf, vInf, probs, params(B, true));
    const [ref, refProbs] = be.attention(q, k, v, null, params(B, true));
    const [refDq] = be.attentionBackward(dOut, q, k, v, refProbs, params(B, true));
    // rows of queries 0 and 1 (which cannot see the last key) are untouched
    for (let r = 0; r < B * H; r++)
      for (const i of [0, 1]) {
        const at = (r * T + i) * D;
        expectClose(t.hostValues(out).slice(at, at + D), t.hostValues(ref).slice(at, at + D), 1e-6);
        expectClose(
          t.hostValues(dq).slice(at, at + D),
          t.hostValues(refDq).slice(at, at + D),
          1e-6,
        );
      }
    // a −∞ mask on an infinite value: probability 0, nothing added, finite gradients
    const mask = new Float32Array(T).fill(0);
    mask[T - 1] = Number.NEGATIVE_INFINITY;
    const masked = {
      ...params(B, false),
      maskStrides: [0, 0, 0, 1] as [number, number, number, number],
    };
    const [mOut, mProbs] = be.attention(q, k, vInf, mask, masked);
    const mGrads = be.attentionBackward(dOut, q, k, vInf, mProbs, masked);
    expect(t.hostValues(mOut).every(Number.isFinite)).toBe(true);
    for (const g of mGrads.slice(0, 2)) expect(t.hostValues(g).every(Number.isFinite)).toBe(true);
  });

  it('scores far above 88 (where exp overflows float32) still give a softmax', () => {
    // q = k = (10, 10): every score is 0.7 · 200 = 140
    const big = new Float32Array(B * H * T * D).fill(10);
    const bigK = new Float32Array(B * KH * T * D).fill(10);
    const [out, probs] = be.attention(big, bigK, v, null, params(B, false));
    expectClose(t.hostValues(probs), new Array(B * H * T * T).fill(1 / T), 1e-6);
    expect(t.hostValues(out).every(Number.isFinite)).toBe(true);
  });

  it('records itself as the attention op for backward', () => {
    const qq = t.randn([1, 1, 2, 2], { rng }).requireGrad();
    const out = t.scaledDotProductAttention(
      qq,
      t.randn([1, 1, 2, 2], { rng }),
      t.randn([1, 1, 2, 2], { rng }),
    );
    expect(out.gradNode?.op).toBe('attention');
  });
});
