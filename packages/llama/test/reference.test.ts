import { noGrad } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { generate, type LlamaForCausalLM, loadHfFolder, loadLlama2cFile } from '../src/index';
import { maxAbsDiff, stories260K } from './helpers';

const ref = stories260K.reference();

function logitsAt(model: LlamaForCausalLM, tokens: number[], pos: number): Float32Array {
  return noGrad(() => {
    const logits = model.forward([tokens]);
    const vocab = logits.shape[2]!;
    return logits.data.slice(pos * vocab, (pos + 1) * vocab);
  });
}

describe.each([
  ['llama2.c .bin', async () => (await loadLlama2cFile(stories260K.bin())).model],
  ['Hugging Face folder', async () => (await loadHfFolder(stories260K.hf())).model],
])('stories260K from the %s matches llama2.c', (_name, load) => {
  it('reproduces logits at positions 0 and 5 within 1e-4', async () => {
    const model = await load();
    expect(maxAbsDiff(logitsAt(model, [1], 0), ref.logits_pos0)).toBeLessThan(1e-4);
    expect(
      maxAbsDiff(logitsAt(model, ref.greedy_from_bos.slice(0, 6), 5), ref.logits_pos5),
    ).toBeLessThan(1e-4);
  });

  it('reproduces the 33-token greedy sequence from BOS', async () => {
    const model = await load();
    const n = ref.greedy_from_bos.length - 1;
    const out = generate(model, [1], { maxNewTokens: n, eosTokenIds: [] });
    expect([1, ...out.tokens]).toEqual(ref.greedy_from_bos);
    expect(out.finishReason).toBe('length');
  });
});
