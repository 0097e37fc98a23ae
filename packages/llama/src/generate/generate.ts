import { noGrad, Rng, tidy } from '@t2/tensor-core';
import type { LlamaForCausalLM } from '../model/llama-model';
import type { TextTokenizer } from '../tokenizer/tokenizer';
import { FusedDecoder } from './fused-decoder';
import { checkSamplingOptions, type SamplingOptions, sampleToken } from './sampling';

export interface TokenEvent {
  /** Which prompt of the batch (0 for `generate`). */
  row: number;
  token: number;
  /** Index of the token among the generated ones. */
  index: number;
  /** Text that became final with this token ('' without a tokenizer, or while held back). */
  text: string;
}

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate per prompt (default 64); also capped by max_position_embeddings. */
  maxNewTokens?: number;
  /** Seed of the sampler (default 0); row b of a batch draws from Rng(seed + b). */
  seed?: number;
  /** One generator shared by all rows, instead of `seed`. */
  rng?: Rng;
  /** Tokens that end a row (default: the config's eos ids); [] never stops early. */
  eosTokenIds?: readonly number[];
  /** Texts that end a row; the returned text stops before them. Needs `tokenizer`. */
  stopStrings?: readonly string[];
  /** Decodes text for `text`, streaming and stop strings. */
  tokenizer?: TextTokenizer;
  /** Called for every generated token, in order, as soon as it is chosen. */
  onToken?: (event: TokenEvent) => void;
  /** Left padding of shorter prompts in a batch (default: pad_token_id, else 0; never attended to). */
  padTokenId?: number;
  /**
   * Decode with the backend's resident-buffer kernels when it has them and the model has
   * no adapter wrappers (default true); false always goes through the tensor ops.
   */
  fused?: boolean;
}

export type FinishReason = 'eos' | 'stop' | 'length';

export interface GenerateResult {
  /** Generated tokens, the final EOS included when generation ended on one. */
  tokens: number[];
  /** Decoded text of the generated tokens (EOS excluded, cut before a stop string); null without tokenizer. */
  text: string | null;
  finishReason: FinishReason;
}

/** Autoregressive decoding of one prompt with the KV cache. */
export function generate(
  model: LlamaForCausalLM,
  prompt: readonly number[],
  opts: GenerateOptions = {},
): GenerateResult {
  return generateBatch(model, [prompt], opts)[0]!;
}

/**
 * Decodes several prompts at once: shorter prompts are left-padded (masked, with positions
 * counting real tokens only), so each row gets what it would get alone.
 */
export function generateBatch(
  model: LlamaForCausalLM,
  prompts: readonly (readonly number[])[],
  opts: GenerateOptions = {},
): GenerateResult[] {
  checkSamplingOptions(opts);
  if (prompts.length === 0) return [];
  if (prompts.some((p) => p.length === 0))
    throw new Error('generate: every prompt needs at least one token (e.g. BOS)');
  const stopStrings = (opts.stopStrings ?? []).filter((s) => s.length > 0);
  if (stopStrings.length && !opts.tokenizer)
    throw new Error('generate: stop strings need a tokenizer');
  const maxNewTokens = opts.maxNewTokens ?? 64;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
    throw new Error(`generate: maxNewTokens must be an integer ≥ 0, got ${maxNewTokens}`);
  }
  const batch = prompts.length;
  const promptLen = Math.max(...prompts.map((p) => p.length));
  const budget = Math.min(maxNewTokens, model.config.maxPositionEmbeddings - promptLen);
  if (budget < 0) {
    throw new Error(
      `generate: a prompt of ${promptLen} tokens exceeds max_position_embeddings ${model.config.maxPositionEmbeddings}`,
    );
  }
  const eos = new Set(opts.eosTokenIds ?? model.config.eosTokenIds);
  const seed = opts.seed ?? 0;
  const rngs = prompts.map((_, b) => opts.rng ?? new Rng((seed + b) >>> 0));
  const rows = prompts.map((_, b) => new RowState(b, opts.tokenizer, stopStrings, opts.onToken));
  if (budget === 0) return rows.map((r) => r.finish('length'));

  // Samples a token for every unfinished row from its logits, until all rows finish;
  // `advance` feeds the newest tokens and returns the next logits of each row.
  const decode = (first: Float32Array[], advance: () => Float32Array[]): GenerateResult[] => {
    let logits = first;
    for (let step = 0; ; step++) {
      for (const row of rows) {
        if (row.done) continue;
        const token = sampleToken(logits[row.row]!, opts, rngs[row.row]!);
        row.push(token, eos.has(token), step === budget - 1);
      }
      if (rows.every((r) => r.done)) break;
      logits = advance();
    }
    return rows.map((r) => r.result());
  };
  const lastToken = (r: RowState) => r.tokens[r.tokens.length - 1]!;

  const fused = opts.fused === false ? null : FusedDecoder.create(model, batch, promptLen + budget);
  if (fused) {
    try {
      const logits = prompts.map((p, b) => fused.feed(b, p));
      // One pass over the weights per step for all unfinished rows (each with its own KV
      // cache; finished rows stop costing compute); each row's logits buffer is refilled
      // in place (sampling is done with it before the next step).
      return decode(logits, () => {
        const live = rows.filter((r) => !r.done);
        fused.step(
          live.map((r) => r.row),
          live.map(lastToken),
          live.map((r) => logits[r.row]!),
        );
        return logits;
      });
    } finally {
      fused.dispose();
    }
  }

  return noGrad(() => {
    const cache = model.createKVCache(batch);
    try {
      const pad = opts.padTokenId ?? model.config.padTokenId ?? 0;
      const ids = prompts.map((p) => [...new Array<number>(promptLen - p.length).fill(pad), ...p]);
      const padded = prompts.some((p) => p.length < promptLen);
      const mask = padded
        ? prompts.map((p) => ids[0]!.map((_, t) => (t >= promptLen - p.length ? 1 : 0)))
        : undefined;
      // Finished rows keep feeding their last token; their outputs are ignored.
      return decode(lastLogits(model, ids, { attentionMask: mask, cache }), () =>
        lastLogits(
          model,
          rows.map((r) => [lastToken(r)]),
          { cache },
        ),
      );
    } finally {
      cache.dispose();
    }
  });
}

function lastLogits(
  model: LlamaForCausalLM,
  ids: number[][],
  opts: Parameters<LlamaForCausalLM['forward']>[1],
): Float32Array[] {
  return tidy(() => {
    const logits = model.forward(ids, { ...opts, lastOnly: true });
    const vocab = logits.shape[2]!;
    return ids.map((_, b) => logits.data.slice(b * vocab, (b + 1) * vocab));
  });
}

/** One row's tokens and text, streaming text that no stop string can still claim. */
class RowState {
  readonly tokens: number[] = [];
  done = false;
  private reason: FinishReason = 'length';
  private emitted = '';
  private finalText: string | null = null;
  private eosAtEnd = false;

  constructor(
    readonly row: number,
    private readonly tokenizer: TextTokenizer | undefined,
    private readonly stopStrings: string[],
    private readonly onToken: ((e: TokenEvent) => void) | undefined,
  ) {}

  /** Adds a token; `last` says the token budget is spent. */
  push(token: number, isEos: boolean, last: boolean): void {
    this.tokens.push(token);
    const index = this.tokens.length - 1;
    if (isEos) {
      this.eosAtEnd = true;
      this.finish('eos');
      this.onToken?.({ row: this.row, token, index, text: this.flush() });
      return;
    }
    let text = '';
    if (this.tokenizer) {
      const full = this.decode();
      const stopAt = this.firstStop(full);
      if (stopAt >= 0) {
        this.finalText = full.slice(0, stopAt);
        this.finish('stop');
        text = this.flush();
      } else if (last) {
        this.finish('length');
        text = this.flush();
      } else {
        text = this.advance(full.slice(0, full.length - this.heldBack(full)));
      }
    } else if (last) {
      this.finish('length');
    }
    this.onToken?.({ row: this.row, token, index, text });
  }

  finish(reason: FinishReason): GenerateResult {
    if (!this.done) {
      this.done = true;
      this.reason = reason;
    }
    return this.result();
  }

  result(): GenerateResult {
    let text: string | null = null;
    if (this.tokenizer) text = this.finalText ?? this.decode();
    return { tokens: [...this.tokens], text, finishReason: this.reason };
  }

  private decode(): string {
    const toks = this.eosAtEnd ? this.tokens.slice(0, -1) : this.tokens;
    return this.tokenizer!.decode(toks, { skipSpecialTokens: true });
  }

  /** The rest of the final text, once the row is done. */
  private flush(): string {
    if (!this.tokenizer) return '';
    return this.advance(this.finalText ?? this.decode());
  }

  private advance(upTo: string): string {
    // Decoding more tokens can rewrite earlier text (merged bytes, cleaned spaces): wait until it agrees.
    if (!upTo.startsWith(this.emitted)) return '';
    const delta = upTo.slice(this.emitted.length);
    this.emitted = upTo;
    return delta;
  }

  private firstStop(text: string): number {
    let first = -1;
    for (const s of this.stopStrings) {
      const i = text.indexOf(s);
      if (i >= 0 && (first < 0 || i < first)) first = i;
    }
    return first;
  }

  /** Characters at the end that may still become a stop string or an incomplete UTF-8 sequence. */
  private heldBack(text: string): number {
    let hold = text.endsWith('\uFFFD') ? 1 : 0;
    for (const s of this.stopStrings) {
      for (let k = Math.min(s.length - 1, text.length); k > hold; k--) {
        if (text.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    return hold;
  }
}
