import type { LlamaForCausalLM, TextTokenizer } from '@t2/llama';
import { decodeAnswer, generateAnswers } from './evaluate';
import type { TokenCodec } from './types';

/** A tokenizer as the trainer's codec: BOS is added to prompts, special tokens are dropped from answers. */
export function tokenizerCodec(tokenizer: TextTokenizer): TokenCodec {
  return {
    encode: (text) => tokenizer.encode(text),
    decode: (ids) => tokenizer.decode(ids, { skipSpecialTokens: true }),
  };
}

/**
 * The model's EOS ids plus the newline token when the tokenizer has a single one: task
 * answers end at the first newline, so nothing after it is ever scored and stopping there
 * saves the decoding steps.
 */
export function stopTokenIds(tokenizer: TextTokenizer, eos: readonly number[]): number[] {
  const ids = tokenizer.encode('\n', { addSpecialTokens: false });
  const stops = [...eos];
  if (ids.length === 1 && tokenizer.decode(ids) === '\n' && !stops.includes(ids[0]!)) {
    stops.push(ids[0]!);
  }
  return stops;
}

export interface GreedyAnswerOptions {
  maxNewTokens: number;
  /** Prompts decoded at once (default 32). */
  batch?: number;
  /** Called after each batch with the number of prompts answered so far. */
  onProgress?: (done: number) => void;
}

/**
 * Greedy answers of the model to `prompts`, decoded in batches and stopped at EOS or the
 * newline token (scoring then reads each answer line by its own rules).
 */
export function greedyAnswers(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  prompts: readonly string[],
  opts: GreedyAnswerOptions,
): string[] {
  const codec = tokenizerCodec(tokenizer);
  const stops = stopTokenIds(tokenizer, model.config.eosTokenIds);
  const batch = opts.batch ?? 32;
  const outputs: string[] = [];
  for (let start = 0; start < prompts.length; start += batch) {
    const answers = generateAnswers(
      model,
      prompts.slice(start, start + batch).map((p) => codec.encode(p)),
      {
        maxNewTokens: opts.maxNewTokens,
        temperature: 0,
        eosTokenIds: stops,
        padTokenId: model.config.padTokenId ?? 0,
      },
    );
    for (const a of answers) outputs.push(decodeAnswer(codec, a, stops));
    opts.onProgress?.(outputs.length);
  }
  return outputs;
}
