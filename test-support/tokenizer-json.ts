/**
 * A Hugging Face `tokenizer.json` for tests: a BPE model over `vocab` and `merges` with
 * `<unk>`, `<s>`, `</s>` at ids 0–2 as special tokens and `<s>` prepended by the
 * post-processor — the files a real model folder holds, so no test needs a download.
 * Used by the llama, transformer2-runtime and CLI test fixtures (tests only).
 */
export function bpeTokenizerJson(
  vocab: Record<string, number>,
  merges: readonly string[],
): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [specialToken(0, '<unk>'), specialToken(1, '<s>'), specialToken(2, '</s>')],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: BOS_TEMPLATE,
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
      merges: [...merges],
    },
  };
}

/** An `added_tokens` entry of a special token. */
export function specialToken(id: number, content: string): Record<string, unknown> {
  return {
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  };
}

/** The post-processor that prepends `<s>` (id 1) to a single sequence. */
export const BOS_TEMPLATE = {
  type: 'TemplateProcessing',
  single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
  pair: [],
  special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
};
