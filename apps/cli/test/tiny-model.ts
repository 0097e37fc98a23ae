import { mkdir, writeFile } from 'node:fs/promises';
import { createConfig, LlamaForCausalLM, saveHfFolder } from '@t2/llama';
import { Rng } from '@t2/tensor-core';
import { BOS_TEMPLATE, specialToken } from '../../../test-support/tokenizer-json';
import { charTokenizerFiles } from '../src/pretrain/char-tokenizer';

/**
 * Writes a small randomly initialised LLaMA with a character tokenizer to `dir` (a Hugging
 * Face folder), for CLI tests that need text in and out.
 */
export async function writeTinyModelFolder(
  dir: string,
  opts: { seed?: number; dim?: number; layers?: number } = {},
): Promise<string> {
  const { tokenizerJson, tokenizerConfig, vocabSize } = charTokenizerFiles();
  const dim = opts.dim ?? 32;
  const config = createConfig({
    hiddenSize: dim,
    intermediateSize: dim * 2,
    numHiddenLayers: opts.layers ?? 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    vocabSize,
    maxPositionEmbeddings: 256,
    rmsNormEps: 1e-5,
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: 0,
    tieWordEmbeddings: true,
  });
  const model = new LlamaForCausalLM(config, { rng: new Rng(opts.seed ?? 0) });
  await mkdir(dir, { recursive: true });
  await saveHfFolder(model, dir);
  await writeFile(`${dir}/tokenizer.json`, JSON.stringify(tokenizerJson));
  await writeFile(`${dir}/tokenizer_config.json`, JSON.stringify(tokenizerConfig));
  return dir;
}

/**
 * A Hugging Face `tokenizer.json` with a word-level model over `words` (ids in list order),
 * splitting on whitespace and prepending `<s>`; the first three words are the special tokens
 * `<unk>`, `<s>`, `</s>`.
 */
export function wordLevelTokenizerJson(words: readonly string[]): Record<string, unknown> {
  return {
    version: '1.0',
    added_tokens: [0, 1, 2].map((id) => specialToken(id, words[id]!)),
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: BOS_TEMPLATE,
    decoder: null,
    model: {
      type: 'WordLevel',
      vocab: Object.fromEntries(words.map((w, i) => [w, i])),
      unk_token: '<unk>',
    },
  };
}

/**
 * Writes `n` training lines `{"prompt": "a+b=", "<key>": "sum"}` (the sums the CLI's training
 * tests fit) to `path`, one JSON object per line.
 */
export async function writeSumData(
  path: string,
  opts: { n?: number; key?: 'answer' | 'completion' } = {},
): Promise<string> {
  const { n = 16, key = 'completion' } = opts;
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ prompt: `${i % 4}+${i % 3}=`, [key]: String((i % 4) + (i % 3)) }),
  );
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}
