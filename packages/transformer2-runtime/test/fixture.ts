import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bpeTokenizerJson } from '../../../test-support/tokenizer-json';

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
  return bpeTokenizerJson(vocab, []);
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
