/**
 * A Hugging Face `tokenizer.json` for tests: a BPE model over `vocab` and `merges` with
 * `<unk>`, `<s>`, `</s>` at ids 0–2 as special tokens and `<s>` prepended by the
 * post-processor — the files a real model folder holds, so no test needs a download.
 * Used by the llama and transformer2-runtime test fixtures (tests only).
 */
export function bpeTokenizerJson(
  vocab: Record<string, number>,
  merges: readonly string[],
): Record<string, unknown> {
  const special = (id: number, content: string) => ({
    id,
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
      merges: [...merges],
    },
  };
}
