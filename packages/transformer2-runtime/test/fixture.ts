import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** /work/shared, or $T2_SHARED. */
export function sharedDir(): string {
  return process.env.T2_SHARED ?? fileURLToPath(new URL('../../../../shared/', import.meta.url));
}

export function stories260KDir(): string {
  return join(sharedDir(), 'fixtures/stories260K/hf');
}

/**
 * A character-level tokenizer.json for stories260K's 512 ids: `<unk> <s> </s>`, the
 * printable ASCII characters and a newline, then filler tokens up to 512. The fixture
 * ships no vocabulary, so its text is meaningless, but it makes a real text model folder.
 */
export function charTokenizerJson(vocabSize = 512): Record<string, unknown> {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2, '\n': 3 };
  let id = 4;
  for (let c = 32; c < 127; c++) vocab[String.fromCharCode(c)] = id++;
  while (id < vocabSize) vocab[`<x${id}>`] = id++;
  const special = (i: number, content: string) => ({
    id: i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: { type: 'Fuse' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: [],
    },
  };
}

/** A copy of stories260K's HF folder with the character tokenizer added, in `dir`. */
export function textModelFolder(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of ['config.json', 'model.safetensors'])
    copyFileSync(join(stories260KDir(), f), join(dir, f));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(charTokenizerJson()));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ bos_token: '<s>', eos_token: '</s>' }),
  );
  return dir;
}
