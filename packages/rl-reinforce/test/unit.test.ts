import { createConfig, LlamaForCausalLM } from '@t2/llama';
import { noGrad, Rng, softmax } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { policyLoss, REINFORCE_DEFAULTS, resolveReinforceConfig, shapeRewards } from '../src/index';

describe('shapeRewards', () => {
  it('normalises to zero mean and unit std, then clips', () => {
    const r = shapeRewards([1, -1, -1, -1], { normalize: true });
    expect(r.reduce((s, x) => s + x, 0)).toBeCloseTo(0, 6);
    expect(Math.sqrt(r.reduce((s, x) => s + x * x, 0) / r.length)).toBeCloseTo(1, 6);
    expect(r[0]).toBeCloseTo(Math.sqrt(3), 5);
    expect(shapeRewards([1, -1, -1, -1], { normalize: true, clip: 1 })).toEqual([1, ...r.slice(1)]);
    expect(shapeRewards([1, 1, 1], { normalize: true })).toEqual([0, 0, 0]);
    expect(shapeRewards([5, -3], { clip: 2 })).toEqual([2, -2]);
    expect(shapeRewards([5, -3])).toEqual([5, -3]);
  });
});

describe('config', () => {
  it('defaults to the reference (Adam lr 2e-3, clip 1e-3, greedy answers, raw ±1 rewards, no KL) and rejects bad values', () => {
    expect(REINFORCE_DEFAULTS.lr).toBe(2e-3);
    expect(REINFORCE_DEFAULTS.maxGradNorm).toBe(1e-3);
    expect(REINFORCE_DEFAULTS.temperature).toBe(0);
    expect(REINFORCE_DEFAULTS.normalizeRewards).toBe(false);
    expect(REINFORCE_DEFAULTS.rewardClip).toBeUndefined();
    expect(REINFORCE_DEFAULTS.klCoeff).toBe(0);
    expect(REINFORCE_DEFAULTS.batchSize).toBe(32);
    expect(resolveReinforceConfig({ batchSize: 4 }).batchSize).toBe(4);
    expect(() => resolveReinforceConfig({ batchSize: 0 })).toThrow(/batchSize/);
    expect(() => resolveReinforceConfig({ klCoeff: -1 })).toThrow(/klCoeff/);
    expect(() => resolveReinforceConfig({ temperature: Number.NaN })).toThrow(/temperature/);
  });
});

/** A random 2-layer LLaMA whose final-norm weight plays the adapter; the base has it at 1. */
function tinyModel() {
  const config = createConfig({
    hiddenSize: 16,
    intermediateSize: 24,
    numHiddenLayers: 2,
    numAttentionHeads: 2,
    vocabSize: 11,
  });
  const model = new LlamaForCausalLM(config, { rng: new Rng(3) });
  model.requiresGrad(false);
  const w = model.model.norm.getParameter('weight')!;
  const rng = new Rng(4);
  for (let i = 0; i < w.size; i++) w.data[i] = 1 + 0.5 * rng.normal();
  w.requiresGrad = true;
  const withBase = <T>(fn: () => T): T => {
    const adapted = w.data.slice();
    w.data.fill(1);
    try {
      return fn();
    } finally {
      w.data.set(adapted);
    }
  };
  return { model, w, withBase };
}

/** log p of every completion token and KL(p_base ‖ p) at its position, from full-sequence forwards. */
function reference(
  model: LlamaForCausalLM,
  items: { prompt: number[]; completion: number[] }[],
  withBase: <T>(fn: () => T) => T,
) {
  return noGrad(() =>
    items.map(({ prompt, completion }) => {
      const ids = [[...prompt, ...completion]];
      const p = softmax(model.forward(ids));
      const q = withBase(() => softmax(model.forward(ids)));
      const V = p.shape[2]!;
      let logp = 0;
      let kl = 0;
      completion.forEach((tok, j) => {
        const row = (prompt.length - 1 + j) * V;
        logp += Math.log(p.data[row + tok]!);
        // KL(p_base ‖ p), the reference's F.kl_div(log p, log p_base, log_target=True).
        for (let v = 0; v < V; v++)
          kl += q.data[row + v]! * Math.log(q.data[row + v]! / p.data[row + v]!);
      });
      return { logp, kl };
    }),
  );
}

describe('policyLoss', () => {
  const items = [
    { prompt: [1, 4, 5], completion: [7, 2] },
    { prompt: [1], completion: [3, 3, 9] },
    { prompt: [1, 8], completion: [6] },
  ];
  const rewards = [1, -1, 0.5];

  it('is mean_b[−(Σ_t log p(a_t))·r_b + β·KL_b] with KL(p_base‖p) over answer tokens', () => {
    const { model, withBase } = tinyModel();
    const ref = reference(model, items, withBase);
    const beta = 0.3;
    const pl = noGrad(() => policyLoss(model, items, { rewards, klCoeff: beta, withBase }));
    const want = ref.reduce((s, r, b) => s - r.logp * rewards[b]! + beta * r.kl, 0) / items.length;
    expect(pl.loss.item()).toBeCloseTo(want, 4);
    ref.forEach((r, b) => {
      expect(pl.logProbs[b]).toBeCloseTo(r.logp, 4);
      expect(pl.kl[b]).toBeCloseTo(r.kl, 4);
      expect(r.kl).toBeGreaterThan(1e-4);
    });
    expect(() => policyLoss(model, items, { rewards, klCoeff: beta })).toThrow(/withBase/);
    expect(() => policyLoss(model, items, { rewards: [1], klCoeff: 0 })).toThrow(
      /1 rewards for 3 samples/,
    );
  });

  it('has the gradient of finite differences (answers fixed)', () => {
    const { model, w, withBase } = tinyModel();
    const opts = { rewards, klCoeff: 0.3, withBase };
    policyLoss(model, items, opts).loss.backward();
    const analytic = w.grad!.data.slice();
    const h = 1e-2;
    const numeric = [0, 5, 11].map((i) => {
      const w0 = w.data[i]!;
      const f = (v: number) => {
        w.data[i] = v;
        return noGrad(() => policyLoss(model, items, opts).loss.item());
      };
      const fd = (f(w0 + h) - f(w0 - h)) / (2 * h);
      w.data[i] = w0;
      return fd;
    });
    const picked = [0, 5, 11].map((i) => analytic[i]!);
    const scale = Math.max(...numeric.map(Math.abs));
    expect(scale).toBeGreaterThan(1e-3);
    picked.forEach((g, k) => {
      expect(Math.abs(g - numeric[k]!)).toBeLessThan(2e-2 * scale);
    });
  });
});
