/** Special tokens of t2's character-level tokenizers, in id order. */
export const CHAR_SPECIAL_TOKENS = ['<pad>', '<s>', '</s>', '<unk>'] as const;

/**
 * The printable characters t2's bundled models read: enough for every @t2/tasks prompt and
 * for plain English text.
 */
export const DEFAULT_CHARS = [
  ...' \n0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
  ...'+-*/=<>()[]{}:;,.!?\'"_#@&%|',
];

/**
 * A character-level tokenizer in Hugging Face's `tokenizer.json` format: a BPE model with
 * one token per character and no merges, so @huggingface/tokenizers (and Python's
 * `tokenizers`) run it as it is. BOS is prepended by the post-processor.
 */
export function charTokenizerFiles(chars: readonly string[] = DEFAULT_CHARS): {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  vocabSize: number;
} {
  const unique = [...new Set(chars)];
  if (unique.some((c) => [...c].length !== 1))
    throw new Error('charTokenizerFiles: every entry must be one character');
  const vocab: Record<string, number> = {};
  CHAR_SPECIAL_TOKENS.forEach((s, i) => {
    vocab[s] = i;
  });
  unique.forEach((c, i) => {
    vocab[c] = i + CHAR_SPECIAL_TOKENS.length;
  });
  const special = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: CHAR_SPECIAL_TOKENS.map((s, i) => special(s, i)),
    normalizer: null,
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
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
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: '<s>',
    eos_token: '</s>',
    pad_token: '<pad>',
    unk_token: '<unk>',
    add_bos_token: true,
    model_max_length: 512,
  };
  return { tokenizerJson, tokenizerConfig, vocabSize: CHAR_SPECIAL_TOKENS.length + unique.length };
}
