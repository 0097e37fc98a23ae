import { describe, expect, it } from 'vitest';
import {
  fromArray,
  loadBackend,
  Rng,
  scaledDotProductAttention,
  softmax,
  type Tensor,
  withBackend,
} from '../src/index';
import { testBackends } from './backends';

// Issue #16: a NaN in a weight must reach the logits, as exact arithmetic makes it. The row
// maximum of attention used to skip NaN scores, so a row of NaN scores looked "fully masked"
// and gave zeros (finite, wrong output). Every backend: js, wasm, the gpu.js modes here.

function randomTensor(shape: number[], seed: number): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return fromArray(
    Array.from({ length: n }, () => rng.uniform() * 2 - 1),
    shape,
  );
}

const [B, H, KV, T, D] = [1, 4, 2, 5, 8];

/** Rows of the output [batch, heads, tq, dim] as (head, query) → values. */
function rowsOf(out: Tensor): number[][] {
  const data = Array.from(out.data);
  const rows: number[][] = [];
  for (let r = 0; r < B * H * T; r++) rows.push(data.slice(r * D, (r + 1) * D));
  return rows;
}

describe.each(testBackends())('NaN propagates through attention on %s', (name) => {
  const run = async (fn: () => Tensor) => withBackend(await loadBackend(name), fn);

  it('a NaN query makes its row NaN (not zeros); other rows stay finite', async () => {
    for (const causal of [true, false]) {
      const q = randomTensor([B, H, T, D], 1);
      const k = randomTensor([B, KV, T, D], 2);
      const v = randomTensor([B, KV, T, D], 3);
      // Head 1, query 2: every score of the row is NaN.
      q.data[(1 * T + 2) * D + 3] = Number.NaN;
      const out = await run(() => scaledDotProductAttention(q, k, v, { causal }));
      const rows = rowsOf(out);
      rows.forEach((row, r) => {
        if (r === 1 * T + 2)
          expect(row.every(Number.isNaN), `row ${r} causal ${causal}`).toBe(true);
        else expect(row.every(Number.isFinite), `row ${r} causal ${causal}`).toBe(true);
      });
    }
  });

  it('a NaN key reaches every query that sees it; a NaN value every output that weights it', async () => {
    const q = randomTensor([B, H, T, D], 4);
    const k = randomTensor([B, KV, T, D], 5);
    const v = randomTensor([B, KV, T, D], 6);
    // kv head 0, key position 3: seen (causally) by queries 3 and 4 of heads 0 and 1.
    k.data[(0 * T + 3) * D + 0] = Number.NaN;
    const rows = rowsOf(await run(() => scaledDotProductAttention(q, k, v, { causal: true })));
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const poisoned = h < 2 && i >= 3;
        const row = rows[h * T + i]!;
        expect(row.every(poisoned ? Number.isNaN : Number.isFinite), `head ${h} query ${i}`).toBe(
          true,
        );
      }
    }
    const k2 = randomTensor([B, KV, T, D], 5);
    const v2 = randomTensor([B, KV, T, D], 6);
    v2.data[(1 * T + 0) * D + 5] = Number.NaN; // kv head 1, position 0: every query of heads 2, 3
    const rows2 = rowsOf(await run(() => scaledDotProductAttention(q, k2, v2, { causal: true })));
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const row = rows2[h * T + i]!;
        // Only column 5 of the value is NaN; p·v is NaN there.
        expect(Number.isNaN(row[5]!), `head ${h} query ${i}`).toBe(h >= 2);
      }
    }
  });

  it('a fully masked row still gives zeros; +Infinity scores give NaN as in exact arithmetic', async () => {
    const q = randomTensor([B, H, T, D], 7);
    const k = randomTensor([B, KV, T, D], 8);
    const v = randomTensor([B, KV, T, D], 9);
    const mask = fromArray(
      Array.from({ length: T * T }, (_, idx) => (Math.floor(idx / T) === 0 ? -Infinity : 0)),
      [1, 1, T, T],
    );
    const rows = rowsOf(await run(() => scaledDotProductAttention(q, k, v, { mask })));
    for (let h = 0; h < H; h++) {
      expect(rows[h * T]!.every((x) => x === 0)).toBe(true);
      expect(rows[h * T + 1]!.every(Number.isFinite)).toBe(true);
    }
  });

  it('softmax keeps a NaN row NaN', async () => {
    const x = fromArray([1, 2, Number.NaN, 4, 0.5, -1, 3, 2], [2, 4]);
    const out = Array.from((await run(() => softmax(x, -1))).data);
    expect(out.slice(0, 4).every(Number.isNaN)).toBe(true);
    expect(out.slice(4).every(Number.isFinite)).toBe(true);
  });
});
