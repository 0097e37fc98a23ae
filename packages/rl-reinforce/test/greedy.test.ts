import { fileURLToPath } from 'node:url';
import { generateBatch, type LlamaForCausalLM, loadModel, type TextTokenizer } from '@t2/llama';
import { beforeAll, describe, expect, it } from 'vitest';
import { greedyAnswers, stopTokenIds, tokenizerCodec } from '../src/index';

const bundled = fileURLToPath(new URL('../../../models/t2-tiny', import.meta.url));
const prompts = ['12+35=', '7+8=', 'rev abc=', '3+4=', '40+2='];
let model: LlamaForCausalLM;
let tokenizer: TextTokenizer;

beforeAll(async () => {
  const loaded = await loadModel(bundled);
  model = loaded.model;
  tokenizer = loaded.tokenizer!;
  model.eval();
});

describe('greedyAnswers', () => {
  it('answers each prompt up to its answer line, the same in any batch size', () => {
    const done: number[] = [];
    const batched = greedyAnswers(model, tokenizer, prompts, {
      maxNewTokens: 16,
      batch: 2,
      onProgress: (n) => done.push(n),
    });
    expect(done).toEqual([2, 4, 5]);
    expect(batched).toHaveLength(prompts.length);
    for (const a of batched) expect(a).not.toContain('\n');
    expect(greedyAnswers(model, tokenizer, prompts, { maxNewTokens: 16, batch: 1 })).toEqual(
      batched,
    );
  });

  it('gives the answer line that text generation stopped at a newline gives', () => {
    const answers = greedyAnswers(model, tokenizer, prompts, { maxNewTokens: 16 });
    const texts = generateBatch(
      model,
      prompts.map((p) => tokenizer.encode(p)),
      { maxNewTokens: 16, tokenizer, stopStrings: ['\n'] },
    ).map((r) => (r.text ?? '').split('\n')[0]);
    expect(answers).toEqual(texts);
  });
});

describe('stopTokenIds and tokenizerCodec', () => {
  it('add the single newline token to the EOS ids, once', () => {
    const newline = tokenizer.encode('\n', { addSpecialTokens: false });
    expect(newline).toHaveLength(1);
    const stops = stopTokenIds(tokenizer, model.config.eosTokenIds);
    expect(stops).toEqual([...model.config.eosTokenIds, newline[0]]);
    expect(stopTokenIds(tokenizer, stops)).toEqual(stops);
  });

  it('encode with BOS and decode without special tokens', () => {
    const codec = tokenizerCodec(tokenizer);
    const ids = codec.encode('12+35=');
    expect(ids.length).toBeGreaterThan(
      tokenizer.encode('12+35=', { addSpecialTokens: false }).length,
    );
    expect(codec.decode(ids)).toBe('12+35=');
  });
});
