import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTokenizerFits, loadHfFolder, saveHfFolder } from '../src/index';
import { randomModel, tinyConfig } from './tiny-model';
import { tinyTokenizerConfig, tinyTokenizerJson } from './tiny-tokenizer';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-vocab-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A model folder with `vocabSize` embedding rows and the 15-id tiny tokenizer. */
async function folder(name: string, vocabSize: number): Promise<string> {
  const out = join(dir, name);
  await saveHfFolder(randomModel(tinyConfig({ vocabSize })), out);
  await writeFile(join(out, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
  await writeFile(join(out, 'tokenizer_config.json'), JSON.stringify(tinyTokenizerConfig()));
  return out;
}

describe('a tokenizer must fit the model embedding', () => {
  it('refuses a tokenizer with more ids than the embedding has rows, naming both sizes and files', async () => {
    const out = await folder('small', 12);
    const err = await loadHfFolder(out).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toBe(
      `${join(out, 'tokenizer.json')}: the tokenizer has 15 token ids but the model's embedding in ${join(out, 'model.safetensors')} has 12 rows: ids ≥ 12 have no embedding (is it this model's tokenizer?)`,
    );
    expect(err?.message).not.toContain('\n');
  });

  it('accepts an embedding padded beyond the tokenizer (as Qwen2.5 and Phi-2 checkpoints are)', async () => {
    const loaded = await loadHfFolder(await folder('padded', 32));
    expect(loaded.tokenizer?.idLimit).toBe(15);
    expect(loaded.model.config.vocabSize).toBe(32);
    expect(() => checkTokenizerFits(151_665, 151_936, 'tokenizer.json', 'model')).not.toThrow();
    expect(() => checkTokenizerFits(50_295, 51_200, 'tokenizer.json', 'model')).not.toThrow();
    expect(() => checkTokenizerFits(49_152, 49_152, 'tokenizer.json', 'model')).not.toThrow();
  });

  it('refuses a tokenizer that covers far fewer ids than the embedding (a 32k tokenizer in a 49k model)', async () => {
    expect(() =>
      checkTokenizerFits(32_000, 49_152, 'tok/tokenizer.json', 'm/model.safetensors'),
    ).toThrow(
      "tok/tokenizer.json: the tokenizer has 32,000 token ids but the model's embedding in m/model.safetensors has 49,152 rows: the model's ids ≥ 32000 would decode to nothing (is it this model's tokenizer?)",
    );
    await expect(loadHfFolder(await folder('wide', 15 + 4097))).rejects.toThrow(
      /the tokenizer has 15 token ids but the model's embedding in .* has 4,112 rows/,
    );
  });

  it('skipTokenizer loads the weights of a folder whose tokenizer does not fit', async () => {
    const loaded = await loadHfFolder(join(dir, 'small'), { skipTokenizer: true });
    expect(loaded.tokenizer).toBeUndefined();
  });
});
