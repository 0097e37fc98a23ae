import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHfFolder, loadTokenizerFolder, saveHfFolder, TextTokenizer } from '../src/index';
import { withTempDir } from './helpers';
import { randomModel, tinyConfig } from './tiny-model';
import { tinyTokenizerConfig, tinyTokenizerJson } from './tiny-tokenizer';

describe('TextTokenizer', () => {
  const tok = new TextTokenizer(tinyTokenizerJson(), tinyTokenizerConfig());

  it('encodes with BOS through the post-processor and decodes back', () => {
    expect(tok.encode('hello world')).toEqual([1, 14, 7, 8, 6, 9, 5, 10]);
    expect(tok.encode('hello', { addSpecialTokens: false })).toEqual([14]);
    expect(tok.decode(tok.encode('hello world'), { skipSpecialTokens: true })).toBe('hello world');
    expect(tok.decode([1, 11, 12])).toBe('<s>hell');
    expect(tok.bosTokenId).toBe(1);
    expect(tok.eosTokenId).toBe(2);
    expect(tok.vocabSize).toBe(15);
  });

  it('renders the chat template', () => {
    const text = tok.applyChatTemplate([{ role: 'user', content: 'hello' }]);
    expect(text).toBe('<s><user>hello<assistant>');
    expect(
      tok.applyChatTemplate([{ role: 'user', content: 'he' }], { addGenerationPrompt: false }),
    ).toBe('<s><user>he');
    const plain = new TextTokenizer(tinyTokenizerJson(), { bos_token: '<s>' });
    expect(plain.hasChatTemplate).toBe(false);
    expect(() => plain.applyChatTemplate([])).toThrow(/no chat template/);
  });

  it('loads from a model folder, with chat_template.jinja taking precedence', async () => {
    await withTempDir(async (dir) => {
      expect(await loadTokenizerFolder(dir)).toBeNull();
      await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
      await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tinyTokenizerConfig()));
      expect((await loadTokenizerFolder(dir))!.encode('hell')).toEqual([1, 13]);
      await writeFile(
        join(dir, 'chat_template.jinja'),
        '{% for m in messages %}[{{ m.content }}]{% endfor %}',
      );
      expect(
        (await loadTokenizerFolder(dir))!.applyChatTemplate([{ role: 'user', content: 'x' }]),
      ).toBe('[x]');

      const model = randomModel(tinyConfig({ vocabSize: 15 }));
      await saveHfFolder(model, join(dir, 'copy'), { copyTokenizerFrom: dir });
      const loaded = await loadHfFolder(join(dir, 'copy'));
      expect(loaded.tokenizer!.encode('hello')).toEqual([1, 14]);
      await writeFile(join(dir, 'tokenizer_config.json'), '{ not json');
      await expect(loadTokenizerFolder(dir)).rejects.toThrow(
        /tokenizer_config\.json: invalid JSON/,
      );
    });
  });
});
