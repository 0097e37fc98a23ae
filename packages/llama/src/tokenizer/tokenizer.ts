import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError, readTextFileChecked } from '@t2/tensor-core';

/** A tokenizer.json / tokenizer_config.json that cannot be used as it is; names the file. */
export class TokenizerError extends InputError {
  override name = 'TokenizerError';
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks what the tokenizers library would accept and then get silently wrong: a `vocab`
 * of the wrong kind (an array for BPE/WordLevel/WordPiece: every word becomes <unk>), and
 * special tokens of the post-processor that are not in the vocabulary (BOS would become
 * <unk>) or whose id differs from the vocabulary's.
 */
export function checkTokenizerJson(json: unknown, where: string): void {
  const fail = (msg: string): never => {
    throw new TokenizerError(`${where}: ${msg}`);
  };
  if (!isObject(json)) fail('expected a JSON object');
  const t = json as Record<string, unknown>;
  const model = t.model;
  if (!isObject(model))
    throw new TokenizerError(
      `${where}: no 'model' object (expected BPE, WordLevel, WordPiece or Unigram)`,
    );
  const type = typeof model.type === 'string' ? model.type : undefined;
  const vocab = model.vocab;
  const ids = new Map<string, number>();
  if (type === 'Unigram') {
    if (!Array.isArray(vocab))
      fail(`model.vocab of a Unigram model must be a list of [piece, score], got ${kindOf(vocab)}`);
    (vocab as unknown[]).forEach((entry, i) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number')
        fail(
          `model.vocab[${i}] must be [piece, score], got ${JSON.stringify(entry)?.slice(0, 60)}`,
        );
      ids.set((entry as [string, number])[0], i);
    });
  } else {
    if (!isObject(vocab))
      fail(
        `model.vocab of a ${type ?? 'BPE'} model must be an object {token: id}, got ${kindOf(vocab)} (every word would become <unk>)`,
      );
    for (const [token, id] of Object.entries(vocab as Record<string, unknown>)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0)
        fail(`model.vocab['${token.slice(0, 40)}'] must be a token id, got ${JSON.stringify(id)}`);
      ids.set(token, id as number);
    }
  }
  if (t.added_tokens !== undefined && t.added_tokens !== null) {
    if (!Array.isArray(t.added_tokens))
      fail(`added_tokens must be a list, got ${kindOf(t.added_tokens)}`);
    (t.added_tokens as unknown[]).forEach((a, i) => {
      if (
        !isObject(a) ||
        typeof a.content !== 'string' ||
        !Number.isInteger(a.id) ||
        (a.id as number) < 0
      )
        fail(`added_tokens[${i}] needs a string content and an integer id`);
      ids.set((a as { content: string }).content, (a as { id: number }).id);
    });
  }
  const known = (token: string, id: number | undefined, what: string) => {
    const have = ids.get(token);
    if (have === undefined)
      fail(
        `${what} names the special token '${token}', which is neither in the vocabulary nor in added_tokens`,
      );
    if (id !== undefined && have !== id)
      fail(`${what} gives '${token}' id ${id}, the vocabulary has ${have}`);
  };
  const checkProcessor = (pp: unknown, at: string): void => {
    if (pp === undefined || pp === null) return;
    if (!isObject(pp)) throw new TokenizerError(`${where}: ${at} must be an object`);
    if (pp.type === 'Sequence' && Array.isArray(pp.processors)) {
      pp.processors.forEach((p, i) => {
        checkProcessor(p, `${at}.processors[${i}]`);
      });
      return;
    }
    if (pp.type === 'TemplateProcessing' && isObject(pp.special_tokens)) {
      for (const [name, st] of Object.entries(pp.special_tokens)) {
        if (!isObject(st) || !Array.isArray(st.tokens) || !Array.isArray(st.ids))
          fail(`${at}.special_tokens['${name}'] needs tokens and ids lists`);
        const s = st as { tokens: unknown[]; ids: unknown[] };
        s.tokens.forEach((tok, i) => {
          known(String(tok), typeof s.ids[i] === 'number' ? (s.ids[i] as number) : undefined, at);
        });
      }
      for (const key of ['single', 'pair']) {
        const items = pp[key];
        if (!Array.isArray(items)) continue;
        for (const item of items) {
          const sp = isObject(item) ? item.SpecialToken : undefined;
          if (
            isObject(sp) &&
            typeof sp.id === 'string' &&
            !(sp.id in (pp.special_tokens as object))
          )
            fail(
              `${at}.${key} uses the special token '${sp.id}', which special_tokens does not define`,
            );
        }
      }
      return;
    }
    if (pp.type === 'BertProcessing' || pp.type === 'RobertaProcessing') {
      for (const key of ['sep', 'cls']) {
        const pair = pp[key];
        if (Array.isArray(pair) && typeof pair[0] === 'string')
          known(pair[0], typeof pair[1] === 'number' ? pair[1] : undefined, `${at}.${key}`);
      }
    }
  };
  checkProcessor(t.post_processor, 'post_processor');
}

function kindOf(v: unknown): string {
  return Array.isArray(v)
    ? 'a list'
    : v === null
      ? 'null'
      : typeof v === 'object'
        ? 'an object'
        : typeof v;
}

export interface ChatMessage {
  role: string;
  content: string;
}

export interface TokenizerOptions {
  /** A chat template that overrides tokenizer_config.json's (e.g. from chat_template.jinja). */
  chatTemplate?: string;
  /** Named in error messages. */
  fileName?: string;
}

/**
 * A Hugging Face tokenizer (`tokenizer.json` + `tokenizer_config.json`, parsed objects,
 * so it works in the browser) run by @huggingface/tokenizers, with the chat template
 * rendered by @huggingface/jinja.
 */
export class TextTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly template: Template | null;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;

  constructor(
    tokenizerJson: object,
    readonly tokenizerConfig: Record<string, unknown> = {},
    opts: TokenizerOptions = {},
  ) {
    const where = opts.fileName ?? 'tokenizer.json';
    checkTokenizerJson(tokenizerJson, where);
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (err) {
      throw new TokenizerError(`${where}: cannot build the tokenizer (${(err as Error).message})`);
    }
    this.bosToken = tokenText(tokenizerConfig.bos_token);
    this.eosToken = tokenText(tokenizerConfig.eos_token);
    this.bosTokenId =
      this.bosToken === null ? null : (this.tokenizer.token_to_id(this.bosToken) ?? null);
    this.eosTokenId =
      this.eosToken === null ? null : (this.tokenizer.token_to_id(this.eosToken) ?? null);
    const source = opts.chatTemplate ?? chatTemplateOf(tokenizerConfig.chat_template);
    try {
      this.template = source ? new Template(source) : null;
    } catch (err) {
      throw new TokenizerError(
        `${where}: the chat template does not parse (${(err as Error).message})`,
      );
    }
  }

  /** Token ids of `text`; special tokens (BOS) are added as tokenizer.json's post-processor says. */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode([...ids], {
      skip_special_tokens: opts.skipSpecialTokens ?? false,
    });
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }

  /** Vocabulary size including added tokens. */
  get vocabSize(): number {
    return this.tokenizer.get_vocab(true).size;
  }

  /** One past the largest token id (added tokens included): the embedding rows it needs. */
  get idLimit(): number {
    let max = -1;
    for (const id of this.tokenizer.get_vocab(true).values()) if (id > max) max = id;
    return max + 1;
  }

  get hasChatTemplate(): boolean {
    return this.template !== null;
  }

  /** The prompt text for a conversation, as transformers' apply_chat_template(tokenize=False) renders it. */
  applyChatTemplate(
    messages: readonly ChatMessage[],
    opts: { addGenerationPrompt?: boolean } = {},
  ): string {
    if (!this.template) throw new Error('applyChatTemplate: this tokenizer has no chat template');
    return this.template.render({
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: opts.addGenerationPrompt ?? true,
      bos_token: this.bosToken ?? '',
      eos_token: this.eosToken ?? '',
    });
  }
}

/** A special token given as a string or as an AddedToken object ({ content }). */
function tokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (
    value &&
    typeof value === 'object' &&
    typeof (value as { content?: unknown }).content === 'string'
  ) {
    return (value as { content: string }).content;
  }
  return null;
}

/** chat_template is a string, or a list of named templates of which 'default' is used. */
function chatTemplateOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.find((t) => t?.name === 'default') ?? value[0];
    return typeof named?.template === 'string' ? named.template : null;
  }
  return null;
}

/**
 * The tokenizer of a Hugging Face folder (Node), or null when it has no tokenizer.json.
 * A chat_template.jinja file, where present, is the chat template.
 */
export async function loadTokenizerFolder(dir: string): Promise<TextTokenizer | null> {
  const path = await import('node:path');
  // Regular files of sane size only (a symlink to /dev/zero would hang readFile).
  const read = (name: string): Promise<string | null> =>
    readTextFileChecked(path.join(dir, name), { optional: true });
  const parse = (name: string, text: string): Record<string, unknown> => {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new TokenizerError(`${path.join(dir, name)}: invalid JSON (${(err as Error).message})`);
    }
  };
  const tokenizerText = await read('tokenizer.json');
  if (tokenizerText === null) return null;
  const configText = await read('tokenizer_config.json');
  const chatTemplate = (await read('chat_template.jinja')) ?? undefined;
  return new TextTokenizer(
    parse('tokenizer.json', tokenizerText),
    configText === null ? {} : parse('tokenizer_config.json', configText),
    { chatTemplate, fileName: path.join(dir, 'tokenizer.json') },
  );
}
