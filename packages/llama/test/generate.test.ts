import { logSoftmax, noGrad, Rng } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  argmaxRow,
  completionLogProbs,
  generate,
  sampleToken,
  scoreCompletions,
  TextTokenizer,
  type TokenEvent,
} from '../src/index';
import { randomModel, tinyConfig } from './tiny-model';
import { tinyTokenizerConfig, tinyTokenizerJson } from './tiny-tokenizer';

function frequencies(
  logits: number[],
  opts: Parameters<typeof sampleToken>[1],
  draws = 20000,
): number[] {
  const rng = new Rng(42);
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sampleToken(logits, opts, rng)]!++;
  return counts.map((c) => c / draws);
}

function softmax(xs: number[], t = 1): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp((x - m) / t));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

describe('sampling', () => {
  const logits = [0, 1, 2, 0.5, -1];

  it('is greedy at temperature 0 and draws from softmax(logits / T) otherwise', () => {
    expect(sampleToken(logits, {}, new Rng(1))).toBe(2);
    expect(argmaxRow([3, 5, 5, 1])).toBe(1);
    for (const t of [1, 2]) {
      const freq = frequencies(logits, { temperature: t });
      softmax(logits, t).forEach((p, i) => {
        expect(Math.abs(freq[i]! - p)).toBeLessThan(0.015);
      });
    }
  });

  it('top-k and top-p keep only the most likely tokens, renormalised', () => {
    const p = softmax(logits);
    const k2 = frequencies(logits, { temperature: 1, topK: 2 });
    expect(k2[0]! + k2[3]! + k2[4]!).toBe(0);
    expect(Math.abs(k2[2]! - p[2]! / (p[2]! + p[1]!))).toBeLessThan(0.015);
    // p(2) ≈ 0.55 < 0.6, so the nucleus for top-p 0.6 is {2, 1}; for 0.5 just {2}.
    expect(frequencies(logits, { temperature: 1, topP: 0.5 }, 2000)[2]).toBe(1);
    const p6 = frequencies(logits, { temperature: 1, topP: 0.6 });
    expect(p6[0]! + p6[3]! + p6[4]!).toBe(0);
    expect(Math.abs(p6[1]! - p[1]! / (p[2]! + p[1]!))).toBeLessThan(0.015);
    expect(() => sampleToken(logits, { temperature: -1 }, new Rng(0))).not.toThrow();
  });
});

describe('generate', () => {
  const model = randomModel(tinyConfig({ vocabSize: 15 }), 21);
  const tokenizer = new TextTokenizer(tinyTokenizerJson(), tinyTokenizerConfig());

  it('greedy decoding follows the argmax of the full forward pass', () => {
    const out = generate(model, [1, 14], { maxNewTokens: 8, eosTokenIds: [] });
    expect(out.tokens).toHaveLength(8);
    const seq = [1, 14, ...out.tokens];
    const logits = noGrad(() => model.forward([seq.slice(0, -1)]));
    for (let t = 1; t < seq.length - 1; t++) {
      expect(argmaxRow(logits.data.subarray(t * 15, (t + 1) * 15))).toBe(seq[t + 1]);
    }
  });

  it('seeded sampling is reproducible and depends on the seed', () => {
    const opts = { maxNewTokens: 16, temperature: 1.5, topP: 0.95, topK: 10, eosTokenIds: [] };
    const a = generate(model, [1], { ...opts, seed: 3 }).tokens;
    expect(generate(model, [1], { ...opts, seed: 3 }).tokens).toEqual(a);
    expect(generate(model, [1], { ...opts, seed: 4 }).tokens).not.toEqual(a);
  });

  it('stops at EOS, including it in the tokens but not in the text', () => {
    const free = generate(model, [1], { maxNewTokens: 12, eosTokenIds: [], tokenizer });
    const eos = free.tokens[4]!;
    const stopped = generate(model, [1], { maxNewTokens: 12, eosTokenIds: [eos], tokenizer });
    const first = free.tokens.indexOf(eos);
    expect(stopped.tokens).toEqual(free.tokens.slice(0, first + 1));
    expect(stopped.finishReason).toBe('eos');
    expect(stopped.text).toBe(
      tokenizer.decode(free.tokens.slice(0, first), { skipSpecialTokens: true }),
    );
    expect(free.finishReason).toBe('length');
  });

  it('stops on stop strings and streams exactly the final text', () => {
    const opts = { maxNewTokens: 24, temperature: 1, seed: 9, eosTokenIds: [], tokenizer };
    const free = generate(model, [1], opts);
    const text = free.text!;
    expect(text.length).toBeGreaterThan(6);
    const stop = text.slice(4, 6);
    const events: TokenEvent[] = [];
    const out = generate(model, [1], {
      ...opts,
      stopStrings: [stop],
      onToken: (e) => events.push(e),
    });
    expect(out.finishReason).toBe('stop');
    expect(out.text).toBe(text.slice(0, text.indexOf(stop)));
    expect(out.tokens).toEqual(free.tokens.slice(0, out.tokens.length));
    expect(events.map((e) => e.token)).toEqual(out.tokens);
    expect(events.map((e) => e.text).join('')).toBe(out.text);
    const streamed: string[] = [];
    const all = generate(model, [1], { ...opts, onToken: (e) => streamed.push(e.text) });
    expect(streamed.join('')).toBe(all.text);
  });

  it('respects maxNewTokens and max_position_embeddings', () => {
    expect(generate(model, [1], { maxNewTokens: 0 }).tokens).toEqual([]);
    const long = generate(model, new Array(60).fill(3), { maxNewTokens: 50, eosTokenIds: [] });
    expect(long.tokens).toHaveLength(4);
    expect(() => generate(model, [], {})).toThrow(/at least one token/);
    expect(() => generate(model, [1], { stopStrings: ['x'] })).toThrow(/need a tokenizer/);
    expect(() => generate(model, [1], { topP: 0 })).toThrow(/topP/);
  });
});

describe('scoring completions', () => {
  const model = randomModel(tinyConfig({ modelType: 'qwen2', qkvBias: true }), 13);
  const items = [
    { prompt: [1, 5, 9], completion: [4, 4, 20] },
    { prompt: [1], completion: [7] },
    { prompt: [1, 2, 3, 4, 5, 6], completion: [] },
    { prompt: [1, 30], completion: [8, 9, 10, 11, 12] },
  ];

  function reference(prompt: number[], completion: number[]): number[] {
    if (completion.length === 0) return [];
    const seq = [...prompt, ...completion];
    const lp = noGrad(() => logSoftmax(model.forward([seq.slice(0, -1)]))).data;
    return completion.map((tok, j) => lp[(prompt.length - 1 + j) * 32 + tok]!);
  }

  it('equals log-softmax of the full forward pass, whatever the batching', () => {
    for (const batchSize of [1, 3, 8]) {
      const scores = scoreCompletions(model, items, { batchSize });
      items.forEach((it, i) => {
        const want = reference(it.prompt, it.completion);
        expect(scores[i]!.tokenLogProbs).toHaveLength(want.length);
        scores[i]!.tokenLogProbs.forEach((v, j) => {
          expect(v).toBeCloseTo(want[j]!, 4);
        });
        expect(scores[i]!.logProb).toBeCloseTo(
          want.reduce((s, v) => s + v, 0),
          4,
        );
      });
    }
  });

  it('completionLogProbs is differentiable and agrees with finite differences', () => {
    const values = completionLogProbs(model, items);
    const scores = scoreCompletions(model, items);
    scores.forEach((s, i) => {
      expect(values.data[i]).toBeCloseTo(s.logProb, 4);
    });
    const weights = [1, -2, 3, 0.5];
    const objective = () => {
      const lp = completionLogProbs(model, items);
      return lp.data.reduce((s, v, i) => s + v * weights[i]!, 0);
    };
    model.zeroGrad();
    const lp = completionLogProbs(model, items);
    let total = 0;
    // Backward of Σ w_i · logp_i, seeded through the output gradient.
    lp.backward(
      new (lp.constructor as typeof import('@t2/tensor-core').Tensor)(
        Float32Array.from(weights),
        [4],
      ),
    );
    const p = model.stateDict().get('model.layers.0.self_attn.v_proj.weight')!;
    for (const i of [0, 7, 33]) {
      const h = 1e-2;
      const orig = p.data[i]!;
      p.data[i] = orig + h;
      const up = noGrad(objective);
      p.data[i] = orig - h;
      const down = noGrad(objective);
      p.data[i] = orig;
      const numeric = (up - down) / (2 * h);
      total += Math.abs(numeric);
      expect(Math.abs(p.grad!.data[i]! - numeric)).toBeLessThan(3e-3 + 2e-2 * Math.abs(numeric));
    }
    expect(total).toBeGreaterThan(1e-3);
  });
});
