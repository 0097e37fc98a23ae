import { bpeTokenizerJson } from '../../../test-support/tokenizer-json';

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
  return bpeTokenizerJson(vocab, ['h e', 'l l', 'he ll', 'hell o']);
}

export function tinyTokenizerConfig(): Record<string, unknown> {
  return {
    bos_token: '<s>',
    eos_token: { content: '</s>', special: true },
    chat_template:
      '{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}',
  };
}
