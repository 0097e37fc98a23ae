import {
  type Backend,
  createJsBackend,
  createWasmBackend,
  type DecodeKernels,
  getBackend,
  Linear,
  noGrad,
  type Tensor,
  type WasmBackend,
  WasmMemoryError,
  withBackend,
} from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FusedDecoder,
  fusedDecodingUnavailable,
  generate,
  generateBatch,
  type LlamaForCausalLM,
  loadLlama2cFile,
} from '../src/index';
import { maxAbsDiff, stories260K } from './helpers';
import { randomModel, tinyConfig } from './tiny-model';

/** Logits of every position of one row through the ordinary ops. */
function opsLogits(model: LlamaForCausalLM, tokens: number[]): Float32Array[] {
  return noGrad(() => {
    const logits = model.forward([tokens]);
    const vocab = logits.shape[2]!;
    return tokens.map((_, t) => logits.data.slice(t * vocab, (t + 1) * vocab));
  });
}

function tokensOf(n: number, vocab: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7 + seed * 13 + ((i * i) % 5)) % vocab);
}

/** A Linear subclass standing in for an adapter: same weights, different forward. */
class Doubled extends Linear {
  override forward(x: Tensor): Tensor {
    return super.forward(x);
  }
}

describe.each([1, 2])('fused decoding on the wasm backend (%i thread(s))', (threads) => {
  let wasm: WasmBackend;
  beforeAll(async () => {
    wasm = await createWasmBackend({ threads });
  });
  afterAll(() => wasm.dispose());

  it('reproduces llama2.c on stories260K: logits at positions 0 and 5 and the greedy sequence', async () => {
    const { model } = await loadLlama2cFile(stories260K.bin());
    const ref = stories260K.reference();
    withBackend(wasm, () => {
      expect(fusedDecodingUnavailable(model)).toBeNull();
      const dec = FusedDecoder.create(model, 1, 64)!;
      try {
        expect(maxAbsDiff(dec.feed(0, [1]), ref.logits_pos0)).toBeLessThan(1e-4);
        expect(
          maxAbsDiff(dec.feed(0, ref.greedy_from_bos.slice(1, 6)), ref.logits_pos5),
        ).toBeLessThan(1e-4);
        expect(dec.length(0)).toBe(6);
      } finally {
        dec.dispose();
      }
      const n = ref.greedy_from_bos.length - 1;
      const out = generate(model, [1], { maxNewTokens: n, eosTokenIds: [] });
      expect([1, ...out.tokens]).toEqual(ref.greedy_from_bos);
    });
  });

  // GQA, q/k/v and MLP biases, an untied head and llama3 rope scaling; 70 prompt tokens
  // span two chunks of the prompt pass.
  it('matches the ops logits at every step for a model exercising every config option', () => {
    const config = tinyConfig({
      qkvBias: true,
      mlpBias: true,
      tieWordEmbeddings: false,
      maxPositionEmbeddings: 128,
      ropeScaling: {
        type: 'llama3',
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 16,
      },
    });
    const model = randomModel(config, 3);
    const tokens = tokensOf(76, config.vocabSize, 1);
    const expected = opsLogits(model, tokens);
    withBackend(wasm, () => {
      const dec = FusedDecoder.create(model, 2, 80)!;
      try {
        expect(maxAbsDiff(dec.feed(1, tokens.slice(0, 70)), expected[69]!)).toBeLessThan(1e-4);
        for (let t = 70; t < 76; t++) {
          expect(maxAbsDiff(dec.feed(1, [tokens[t]!]), expected[t]!)).toBeLessThan(1e-4);
        }
        // Row 0 is untouched by row 1's tokens.
        expect(maxAbsDiff(dec.feed(0, tokens.slice(0, 3)), expected[2]!)).toBeLessThan(1e-4);
        expect(() => dec.feed(0, tokensOf(78, config.vocabSize, 2))).toThrow(/capacity 80/);
        expect(() => dec.feed(0, [config.vocabSize])).toThrow(/outside the vocabulary/);
      } finally {
        dec.dispose();
      }
      expect(() => dec.feed(0, [1])).toThrow(/after dispose/);
    });
  });

  it('gives generateBatch the same tokens as the ops path, with sampling and uneven prompts', () => {
    const config = tinyConfig({ qkvBias: true });
    const model = randomModel(config, 4);
    const prompts = [tokensOf(5, 32, 1), tokensOf(2, 32, 2), tokensOf(9, 32, 3)];
    const opts = { maxNewTokens: 12, temperature: 0.8, topK: 10, seed: 7, eosTokenIds: [3] };
    withBackend(wasm, () => {
      const fused = generateBatch(model, prompts, opts);
      const ops = generateBatch(model, prompts, { ...opts, fused: false });
      expect(fused).toEqual(ops);
      expect(fused.some((r) => r.tokens.length > 1)).toBe(true);
    });
  });

  it('step advances several rows with one pass over the weights, each row getting the bits feed gives it alone', () => {
    const config = tinyConfig({ qkvBias: true, tieWordEmbeddings: false, vocabSize: 37 });
    const model = randomModel(config, 8);
    const prompts = [tokensOf(5, 37, 1), tokensOf(2, 37, 2), tokensOf(9, 37, 3)];
    // Projections per pass, counted on the decode kernels the decoder is given.
    let projections = 0;
    const counting: Backend = {
      ...wasm,
      decodeKernels: () => {
        const k = wasm.decodeKernels!();
        const count =
          <A extends unknown[]>(f: (...a: A) => void) =>
          (...a: A) => {
            projections++;
            f(...a);
          };
        return {
          ...k,
          gemv: count(k.gemv),
          gemvBatch: count(k.gemvBatch),
          linearRows: count(k.linearRows),
        };
      },
    };
    withBackend(counting, () => {
      const alone = FusedDecoder.create(model, 3, 32)!;
      const batched = FusedDecoder.create(model, 3, 32)!;
      try {
        prompts.forEach((p, b) => {
          expect(batched.feed(b, p)).toEqual(alone.feed(b, p));
        });
        for (let t = 0; t < 6; t++) {
          // Row 1 sits out steps 2 and 3, as a finished row would.
          const rows = t === 2 || t === 3 ? [0, 2] : [0, 1, 2];
          const tokens = rows.map((r) => (t * 5 + r * 11) % 37);
          const want = rows.map((r, i) => alone.feed(r, [tokens[i]!]));
          projections = 0;
          const got = batched.step(rows, tokens);
          expect(projections).toBe(7 * config.numHiddenLayers + 1);
          expect(got).toEqual(want);
        }
        expect([0, 1, 2].map((r) => batched.length(r))).toEqual([11, 6, 15]);
        expect(() => batched.step([0, 0], [1, 2])).toThrow(/a row twice/);
        expect(() => batched.step([0], [37])).toThrow(/outside the vocabulary/);
      } finally {
        alone.dispose();
        batched.dispose();
      }
    });
  });

  it('generateBatch gives every row of stories260K the tokens it gets decoded alone (greedy and sampled)', async () => {
    const { model } = await loadLlama2cFile(stories260K.bin());
    const prompts = [
      [1],
      [1, 403],
      [1, 9, 24, 7],
      [1, 59],
      [1, 403, 9],
      [1, 24],
      [1, 7, 7],
      [1, 300],
    ];
    // A frequent token of stories as the stop token, so that rows finish at different steps.
    const stop = [stories260K.reference().greedy_from_bos[6]!];
    withBackend(wasm, () => {
      for (const opts of [
        { maxNewTokens: 40, eosTokenIds: stop },
        { maxNewTokens: 24, temperature: 0.9, seed: 3, eosTokenIds: stop },
      ]) {
        const batch = generateBatch(model, prompts, opts);
        const alone = prompts.map((p, b) =>
          generate(model, p, { ...opts, seed: (opts.seed ?? 0) + b }),
        );
        expect(batch).toEqual(alone);
        expect(new Set(batch.map((r) => r.tokens.length)).size).toBeGreaterThan(1);
      }
    });
  });

  it('falls back to the ops when a projection is wrapped by an adapter', () => {
    const config = tinyConfig();
    const model = randomModel(config, 5);
    const expected = withBackend(wasm, () => generate(model, [1, 2, 3], { maxNewTokens: 6 }));
    const layer = model.model.layers.at(1)!;
    const old = layer.self_attn.q_proj as Linear;
    const wrapped = new Doubled(old.inFeatures, old.outFeatures, { bias: false });
    wrapped.weight.data.set(old.weight.data);
    layer.self_attn.setSubmodule('q_proj', wrapped);
    withBackend(wasm, () => {
      expect(fusedDecodingUnavailable(model)).toMatch(/layer 1 q_proj/);
      expect(FusedDecoder.create(model, 1, 16)).toBeNull();
      expect(generate(model, [1, 2, 3], { maxNewTokens: 6 })).toEqual(expected);
    });
  });
});

describe('fused decoding elsewhere', () => {
  it('says so when the backend memory cannot hold the model, instead of silently running the slow ops', () => {
    const model = randomModel(tinyConfig(), 7);
    const full: Backend = {
      ...createJsBackend(),
      name: 'full',
      decodeKernels: () =>
        ({
          alloc: () => {
            throw new WasmMemoryError('wasm backend: 2,100 MiB of memory needed');
          },
          release: () => {},
        }) as unknown as DecodeKernels,
    };
    withBackend(full, () => {
      expect(fusedDecodingUnavailable(model)).toBeNull();
      expect(() => FusedDecoder.create(model, 1, 16)).toThrow(
        /cannot decode 1 row of up to 16 tokens with this model on the 'full' backend: wasm backend: 2,100 MiB of memory needed/,
      );
      expect(() => generate(model, [1, 2], { maxNewTokens: 5 })).toThrow(WasmMemoryError);
    });
  });

  it('is unavailable on a backend without decode kernels, and generation still works', () => {
    const model = randomModel(tinyConfig(), 6);
    // The js backend, explicitly: loading stories260K above made the default 'auto'.
    withBackend(createJsBackend(), () => {
      expect(getBackend().decodeKernels).toBeUndefined();
      expect(fusedDecodingUnavailable(model)).toMatch(/backend has no decode kernels/);
      expect(generate(model, [1], { maxNewTokens: 3 }).tokens).toHaveLength(3);
    });
  });
});
