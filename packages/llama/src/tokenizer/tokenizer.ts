import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';

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
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (err) {
      throw new Error(`${where}: cannot build the tokenizer (${(err as Error).message})`);
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
      throw new Error(`${where}: the chat template does not parse (${(err as Error).message})`);
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
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const read = async (name: string): Promise<string | null> => {
    try {
      return await fs.readFile(path.join(dir, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  };
  const parse = (name: string, text: string): Record<string, unknown> => {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new Error(`${path.join(dir, name)}: invalid JSON (${(err as Error).message})`);
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
