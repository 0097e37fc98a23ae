// The REINFORCE loss term by term, from full-sequence forwards worked out in float64 (issue #19):
// Σ_t (not a per-token mean) of log p, the batch mean, and KL(p_base ‖ p_θ) =
// Σ_v p_base (log p_base − log p_θ) in that direction, with its weight.
import { createConfig, LlamaForCausalLM } from '@t2/llama';
import { noGrad, Rng } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { policyLoss } from '../src/index';

/** A small model whose final-norm weight is the "adapter": the base has it at 1. */
function tinyModel() {
  const config = createConfig({
    hiddenSize: 16,
    intermediateSize: 24,
    numHiddenLayers: 1,
    numAttentionHeads: 2,
    vocabSize: 9,
  });
  const model = new LlamaForCausalLM(config, { rng: new Rng(11) });
  model.requiresGrad(false);
  const w = model.model.norm.getParameter('weight')!;
  const rng = new Rng(12);
  for (let i = 0; i < w.size; i++) w.data[i] = 1 + 1.5 * rng.normal();
  w.requiresGrad = true;
  let baseCalls = 0;
  const withBase = <T>(fn: () => T): T => {
    baseCalls++;
    const adapted = w.data.slice();
    w.data.fill(1);
    try {
      return fn();
    } finally {
      w.data.set(adapted);
    }
  };
  return { model, w, withBase, baseCalls: () => baseCalls };
}

/** log-softmax of one row in float64. */
function logSoftmax(row: ArrayLike<number>): number[] {
  const xs = Array.from(row);
  const m = Math.max(...xs);
  const l = m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
  return xs.map((x) => x - l);
}

/** Per item: Σ_t log p(a_t), KL(p_base ‖ p) and KL(p ‖ p_base) summed over the answer tokens. */
function byHand(
  model: LlamaForCausalLM,
  withBase: <T>(fn: () => T) => T,
  items: { prompt: number[]; completion: number[] }[],
) {
  return noGrad(() =>
    items.map(({ prompt, completion }) => {
      const ids = [[...prompt, ...completion]];
      const logits = model.forward(ids);
      const base = withBase(() => model.forward(ids));
      const V = logits.shape[2]!;
      let logp = 0;
      let klBase = 0;
      let klReverse = 0;
      completion.forEach((tok, j) => {
        const row = (prompt.length - 1 + j) * V;
        const lp = logSoftmax(logits.data.subarray(row, row + V));
        const lq = logSoftmax(base.data.subarray(row, row + V));
        logp += lp[tok]!;
        for (let v = 0; v < V; v++) {
          klBase += Math.exp(lq[v]!) * (lq[v]! - lp[v]!);
          klReverse += Math.exp(lp[v]!) * (lp[v]! - lq[v]!);
        }
      });
      return { logp, klBase, klReverse };
    }),
  );
}

// Answers of different lengths, so a per-token mean and a sum differ.
const items = [
  { prompt: [1, 4, 5], completion: [7, 2, 3, 8] },
  { prompt: [1], completion: [3] },
  { prompt: [2, 8], completion: [6, 0] },
];
const rewards = [1, -2, 0.5];

describe('policyLoss, term by term', () => {
  it('is mean_b[−r_b Σ_t log p(a_t) + β KL(p_base ‖ p)_b]', () => {
    const { model, withBase } = tinyModel();
    const ref = byHand(model, withBase, items);
    // The two KL directions differ here by far more than the 5e-5 the checks below allow.
    for (const r of ref) {
      expect(r.klBase).toBeGreaterThan(1e-3);
      expect(Math.abs(r.klBase - r.klReverse)).toBeGreaterThan(1e-2);
    }
    const beta = 0.7;
    const pl = noGrad(() => policyLoss(model, items, { rewards, klCoeff: beta, withBase }));
    for (const [b, r] of ref.entries()) {
      expect(pl.logProbs[b]).toBeCloseTo(r.logp, 4);
      expect(pl.kl[b]).toBeCloseTo(r.klBase, 4);
    }
    const want = ref.reduce((s, r, b) => s - rewards[b]! * r.logp + beta * r.klBase, 0) / 3;
    expect(pl.loss.item()).toBeCloseTo(want, 4);
  });

  it('without KL: only the policy term, no base pass, zero KL reported', () => {
    const { model, withBase, baseCalls } = tinyModel();
    const ref = byHand(model, withBase, items);
    const before = baseCalls();
    const pl = noGrad(() => policyLoss(model, items, { rewards, klCoeff: 0, withBase }));
    expect(baseCalls()).toBe(before);
    expect(Array.from(pl.kl)).toEqual([0, 0, 0]);
    const want = ref.reduce((s, r, b) => s - rewards[b]! * r.logp, 0) / 3;
    expect(pl.loss.item()).toBeCloseTo(want, 4);
  });

  it('the KL term’s gradient is that of β/B · Σ KL(p_base ‖ p) (finite differences)', () => {
    // Rewards 0: the loss is the KL term alone; its derivative in one weight by hand.
    const { model, w, withBase } = tinyModel();
    const zero = [0, 0, 0];
    const beta = 0.5;
    policyLoss(model, items, { rewards: zero, klCoeff: beta, withBase }).loss.backward();
    const h = 1e-2;
    for (const i of [1, 6]) {
      const w0 = w.data[i]!;
      const klAt = (v: number) => {
        w.data[i] = v;
        return byHand(model, withBase, items).reduce((s, r) => s + r.klBase, 0);
      };
      const fd = ((klAt(w0 + h) - klAt(w0 - h)) / (2 * h)) * (beta / 3);
      w.data[i] = w0;
      expect(Math.abs(w.grad!.data[i]! - fd)).toBeLessThan(2e-2 * Math.abs(fd) + 1e-4);
    }
  });

  it('an empty answer contributes nothing; all empty, or missing pieces, are refused', () => {
    const { model, withBase } = tinyModel();
    const withEmpty = [items[0]!, { prompt: [3, 3], completion: [] }];
    const ref = byHand(model, withBase, [items[0]!]);
    const pl = noGrad(() =>
      policyLoss(model, withEmpty, { rewards: [2, 5], klCoeff: 0.1, withBase }),
    );
    expect(pl.logProbs[1]).toBe(0);
    expect(pl.kl[1]).toBe(0);
    expect(pl.loss.item()).toBeCloseTo((-2 * ref[0]!.logp + 0.1 * ref[0]!.klBase) / 2, 4);
    expect(() =>
      policyLoss(model, [{ prompt: [1], completion: [] }], { rewards: [1], klCoeff: 0 }),
    ).toThrow('policyLoss: every answer is empty');
    expect(() => policyLoss(model, items, { rewards: [1, 2], klCoeff: 0 })).toThrow(
      'policyLoss: 2 rewards for 3 samples',
    );
    expect(() => policyLoss(model, items, { rewards, klCoeff: 0.1 })).toThrow(
      'policyLoss: klCoeff > 0 needs withBase for the base-model pass',
    );
  });
});
