/**
 * A Hugging Face tokenizer.json for a 15-token BPE vocabulary (the files a real model
 * folder holds), so tokenizer tests need no download.
 */
export function tinyTokenizerJson(): Record<string, unknown> {
  const vocab = {
    '<unk>': 0,
    '<s>': 1,
    '</s>': 2,
    h: 3,
    e: 4,
    l: 5,
    o: 6,
    ' ': 7,
    w: 8,
    r: 9,
    d: 10,
    he: 11,
    ll: 12,
    hell: 13,
    hello: 14,
  };
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
      merges: ['h e', 'l l', 'he ll', 'hell o'],
    },
  };
}

export function tinyTokenizerConfig(): Record<string, unknown> {
  return {
    bos_token: '<s>',
    eos_token: { content: '</s>', special: true },
    chat_template:
      '{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}',
  };
}
