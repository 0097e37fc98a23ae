import { fileURLToPath } from 'node:url';
import { fusedDecodingUnavailable, generate, type LlamaForCausalLM, loadModel } from '@t2/llama';
import { type EncodedExample, evalLoss, trainSft } from '@t2/sft';
import { createWasmBackend, Rng, type WasmBackend, withBackend } from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHODS, prepareMethod } from '../src/lib/train-setup';

const shared =
  process.env.T2_SHARED ?? fileURLToPath(new URL('../../../../shared', import.meta.url));
const fixture = `${shared}/fixtures/stories260K/hf`;

/** A tiny generated task over the fixture's vocabulary: a prompt of ids, then the same ids shifted by one. */
function dataset(n: number, seed: number): EncodedExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const prompt = Array.from({ length: 5 }, () => 300 + rng.int(16));
    const completion = prompt.map((id) => id + 1);
    return {
      inputIds: [1, ...prompt, ...completion],
      labels: [-100, ...prompt.map(() => -100), ...completion],
    };
  });
}

async function finetune(
  method: (typeof METHODS)[number],
): Promise<{ before: number; after: number; losses: number[]; model: LlamaForCausalLM }> {
  const { model } = await loadModel(fixture);
  const data = dataset(32, 7);
  const trainable = prepareMethod(model, method, {
    r: 4,
    targets: 'all-linear',
    seed: 3,
    baseModel: fixture,
  });
  const before = evalLoss(model, data, 16);
  const res = await trainSft(model, trainable.params, data, {
    steps: 12,
    lr: method === 'full' ? 3e-3 : 1e-2,
    batchSize: 8,
    seed: 5,
  });
  return {
    before,
    after: evalLoss(model, data, 16),
    losses: res.history.map((h) => h.loss),
    model,
  };
}

describe('fine-tuning the stories260K checkpoint with every method', () => {
  let wasm: WasmBackend;
  beforeAll(async () => {
    wasm = await createWasmBackend({ threads: 1 });
  });
  afterAll(() => wasm.dispose());

  for (const method of METHODS) {
    it(`${method}: the loss falls, a second run with the same seed is identical, and the trained model decodes fused as through the ops`, async () => {
      const a = await finetune(method);
      const b = await finetune(method);
      expect(a.after).toBeLessThan(a.before);
      expect(b.losses).toEqual(a.losses);
      // The adapters stay unmerged: fused decoding reads their inference weights (W + ΔW).
      withBackend(wasm, () => {
        expect(fusedDecodingUnavailable(a.model)).toBeNull();
        const prompt = [1, 300, 305, 302];
        const fused = generate(a.model, prompt, { maxNewTokens: 16 }).tokens;
        expect(generate(a.model, prompt, { maxNewTokens: 16, fused: false }).tokens).toEqual(fused);
      });
    });
  }
});
