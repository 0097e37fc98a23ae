import {
  crossEntropy,
  Linear,
  Module,
  mul,
  noGrad,
  setBackend,
  type Tensor,
} from '@t2/tensor-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  expectedTensorShapes,
  generate,
  generateBatch,
  type LlamaConfig,
  type LlamaForCausalLM,
  loadLlama2cFile,
  rotaryInvFreq,
} from '../src/index';
import { maxAbsDiff, stories260K } from './helpers';
import { naiveLogits } from './naive-reference';
import { randomModel, tinyConfig } from './tiny-model';

const ids = [3, 17, 5, 9, 30, 1, 12];

// The reference numerics (1e-5 between the cached and full passes): the plain-JS backend,
// explicitly, since loading a checkpoint otherwise selects the fastest one ('auto').
beforeAll(async () => {
  await setBackend('js');
});

function rowsOf(t: Tensor, batch: number): Float32Array[][] {
  const [, seq, vocab] = t.shape as [number, number, number];
  return Array.from({ length: batch }, (_, b) =>
    Array.from({ length: seq }, (_, s) =>
      t.data.slice((b * seq + s) * vocab, (b * seq + s + 1) * vocab),
    ),
  );
}

function fullLogits(model: LlamaForCausalLM, tokens: number[]): Float32Array[] {
  return noGrad(() => rowsOf(model.forward([tokens]), 1)[0]!);
}

describe('forward pass against a float64 transcription of the reference', () => {
  const cases: [string, Partial<LlamaConfig>][] = [
    ['llama, grouped-query, tied head', { tieWordEmbeddings: true }],
    ['qwen2: q/k/v biases, untied head', { modelType: 'qwen2', qkvBias: true, ropeTheta: 1e6 }],
    ['llama attention_bias and mlp_bias', { qkvBias: true, oBias: true, mlpBias: true }],
    ['head_dim ≠ hidden/heads', { headDim: 6, numKeyValueHeads: 1 }],
    ['linear rope scaling', { ropeScaling: { type: 'linear', factor: 4 } }],
    [
      'llama3 rope scaling',
      {
        ropeTheta: 500000,
        ropeScaling: {
          type: 'llama3',
          factor: 8,
          lowFreqFactor: 1,
          highFreqFactor: 4,
          originalMaxPositionEmbeddings: 16,
        },
      },
    ],
  ];
  it.each(cases)('%s', (_name, overrides) => {
    const model = randomModel(tinyConfig(overrides), 7);
    const got = fullLogits(model, ids);
    const want = naiveLogits(model, ids);
    for (let t = 0; t < ids.length; t++) expect(maxAbsDiff(got[t]!, want[t]!)).toBeLessThan(2e-5);
  });
});

describe('module and parameter names', () => {
  it('are the Hugging Face names, with lm_head absent when tied', () => {
    for (const tie of [true, false]) {
      const config = tinyConfig({ tieWordEmbeddings: tie, modelType: 'qwen2', qkvBias: true });
      const model = randomModel(config);
      const names = [...model.stateDict().keys()].sort();
      expect(names).toEqual([...expectedTensorShapes(config).keys()].sort());
      expect(names).toContain('model.layers.1.self_attn.q_proj.bias');
      expect(names.includes('lm_head.weight')).toBe(!tie);
      expect(model.getSubmodule('model.layers.1.mlp.down_proj')).toBeInstanceOf(Linear);
      for (const [name, t] of model.stateDict())
        expect(t.shape).toEqual(expectedTensorShapes(config).get(name));
    }
  });

  it('calls a projection replaced with setSubmodule', () => {
    const model = randomModel(tinyConfig());
    const before = fullLogits(model, ids);
    class Scaled extends Module {
      constructor(readonly inner: Linear) {
        super();
        this.registerModule('base_layer', inner);
      }
      forward(x: Tensor): Tensor {
        return mul(this.inner.forward(x), 2);
      }
    }
    for (const path of ['model.layers.0.self_attn.v_proj', 'model.layers.1.mlp.up_proj']) {
      const original = model.getSubmodule(path) as Linear;
      model.setSubmodule(path, new Scaled(original));
      const changed = fullLogits(model, ids);
      expect(maxAbsDiff(changed[3]!, before[3]!)).toBeGreaterThan(1e-3);
      model.setSubmodule(path, original);
      expect(maxAbsDiff(fullLogits(model, ids)[3]!, before[3]!)).toBe(0);
    }
  });
});

describe('KV cache', () => {
  it('decoding token by token equals full-sequence recomputation (stories260K)', async () => {
    const { model } = await loadLlama2cFile(stories260K.bin());
    const tokens = stories260K.reference().greedy_from_bos;
    const full = fullLogits(model, tokens);
    const cache = model.createKVCache(1);
    noGrad(() => {
      for (let t = 0; t < tokens.length; t++) {
        const step = model.forward([[tokens[t]!]], { cache });
        expect(maxAbsDiff(step.data, full[t]!)).toBeLessThan(1e-5);
      }
    });
    expect(cache.length).toBe(tokens.length);
  });

  it('chunked prefill then single steps equals the full pass', () => {
    const model = randomModel(tinyConfig({ qkvBias: true, modelType: 'qwen2' }), 3);
    const full = fullLogits(model, ids);
    const cache = model.createKVCache(1);
    noGrad(() => {
      const first = rowsOf(model.forward([ids.slice(0, 4)], { cache }), 1)[0]!;
      for (let t = 0; t < 4; t++) expect(maxAbsDiff(first[t]!, full[t]!)).toBeLessThan(1e-5);
      const next = rowsOf(model.forward([ids.slice(4, 6)], { cache }), 1)[0]!;
      expect(maxAbsDiff(next[1]!, full[5]!)).toBeLessThan(1e-5);
      const last = model.forward([ids.slice(6)], { cache, lastOnly: true });
      expect(maxAbsDiff(last.data, full[6]!)).toBeLessThan(1e-5);
    });
  });
});

describe('padding', () => {
  const model = randomModel(tinyConfig({ modelType: 'qwen2', qkvBias: true }), 11);
  const a = [1, 4, 9, 16, 25];
  const b = [2, 7, 11];

  it('right padding with a mask gives each row its own logits', () => {
    const out = noGrad(() =>
      rowsOf(
        model.forward([a, [...b, 0, 0]], {
          attentionMask: [
            [1, 1, 1, 1, 1],
            [1, 1, 1, 0, 0],
          ],
        }),
        2,
      ),
    );
    const alone = fullLogits(model, b);
    for (let t = 0; t < b.length; t++)
      expect(maxAbsDiff(out[1]![t]!, alone[t]!)).toBeLessThan(1e-5);
  });

  it('left padding with a cache gives each row its own logits, including decoding steps', () => {
    const cache = model.createKVCache(2);
    const aliceFull = fullLogits(model, [...b, 5, 6]);
    noGrad(() => {
      const pre = rowsOf(
        model.forward([a, [0, 0, ...b]], {
          attentionMask: [
            [1, 1, 1, 1, 1],
            [0, 0, 1, 1, 1],
          ],
          cache,
        }),
        2,
      );
      expect(maxAbsDiff(pre[1]![4]!, aliceFull[2]!)).toBeLessThan(1e-5);
      const s1 = rowsOf(model.forward([[3], [5]], { cache }), 2);
      expect(maxAbsDiff(s1[1]![0]!, aliceFull[3]!)).toBeLessThan(1e-5);
      const s2 = rowsOf(model.forward([[3], [6]], { cache }), 2);
      expect(maxAbsDiff(s2[1]![0]!, aliceFull[4]!)).toBeLessThan(1e-5);
      expect(maxAbsDiff(s2[0]![0]!, fullLogits(model, [...a, 3, 3])[6]!)).toBeLessThan(1e-5);
    });
  });

  it('batched generation equals generating each prompt alone', () => {
    const prompts = [a, b, [9]];
    const opts = { maxNewTokens: 12, temperature: 1.5, seed: 5, eosTokenIds: [] };
    const batched = generateBatch(model, prompts, opts);
    prompts.forEach((p, i) => {
      expect(batched[i]!.tokens).toEqual(generate(model, p, { ...opts, seed: 5 + i }).tokens);
    });
  });
});

describe('training forward', () => {
  it('gradients of the loss match finite differences', () => {
    const model = randomModel(
      tinyConfig({ modelType: 'qwen2', qkvBias: true, tieWordEmbeddings: true }),
      5,
    );
    const input = [
      [3, 17, 5, 9],
      [30, 1, 12, 0],
    ];
    const mask = [
      [1, 1, 1, 1],
      [1, 1, 1, 0],
    ];
    const targets = [17, 5, 9, 4, 1, 12, 7, -100];
    const loss = () => crossEntropy(model.forward(input, { attentionMask: mask }), targets);
    model.zeroGrad();
    loss().backward();
    const checks: [string, number][] = [
      ['model.layers.0.self_attn.q_proj.weight', 5],
      ['model.layers.1.self_attn.k_proj.bias', 3],
      ['model.layers.0.mlp.down_proj.weight', 40],
      ['model.layers.1.post_attention_layernorm.weight', 2],
      ['model.embed_tokens.weight', 17 * 16 + 4],
    ];
    const state = model.stateDict();
    for (const [name, i] of checks) {
      const p = state.get(name)!;
      const analytic = p.grad!.data[i]!;
      const h = 1e-2;
      const orig = p.data[i]!;
      p.data[i] = orig + h;
      const up = noGrad(() => loss().item());
      p.data[i] = orig - h;
      const down = noGrad(() => loss().item());
      p.data[i] = orig;
      const numeric = (up - down) / (2 * h);
      expect(Math.abs(analytic - numeric)).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
    }
  });
});

describe('rotary scaling', () => {
  it('llama3 keeps high frequencies, divides low ones by the factor and blends between', () => {
    const plain = rotaryInvFreq(64, 500000, null);
    const s = {
      type: 'llama3' as const,
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    };
    const scaled = rotaryInvFreq(64, 500000, s);
    let sawHigh = false;
    let sawLow = false;
    let sawMid = false;
    for (let i = 0; i < 32; i++) {
      const wl = (2 * Math.PI) / plain[i]!;
      const ratio = scaled[i]! / plain[i]!;
      if (wl < 8192 / 4) {
        expect(ratio).toBeCloseTo(1, 6);
        sawHigh = true;
      } else if (wl > 8192) {
        expect(ratio).toBeCloseTo(1 / 8, 6);
        sawLow = true;
      } else {
        expect(ratio).toBeGreaterThan(1 / 8);
        expect(ratio).toBeLessThan(1);
        sawMid = true;
      }
    }
    expect(sawHigh && sawLow && sawMid).toBe(true);
    const lin = rotaryInvFreq(8, 10000, { type: 'linear', factor: 2 });
    expect(lin[1]).toBeCloseTo(10000 ** -0.25 / 2, 7);
  });
});
