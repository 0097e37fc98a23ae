import { generateBatch, type LlamaForCausalLM } from '@t2/llama';
import type { Rng } from '@t2/tensor-core';
import type { PromptSample, RewardFunction, TokenCodec } from './types';

export interface AnswerOptions {
  maxNewTokens: number;
  /** 0 (greedy) by default. */
  temperature?: number;
  /** Needed when temperature > 0. */
  rng?: Rng;
  /** Stop tokens; the model config's EOS ids by default. */
  eosTokenIds?: readonly number[];
  padTokenId?: number;
  /** Prompts answered per batch. */
  batchSize?: number;
}

export interface GenerateAnswersOptions {
  maxNewTokens: number;
  temperature: number;
  rng?: Rng;
  eosTokenIds: readonly number[];
  padTokenId?: number;
}

/** One answer (token ids, final EOS kept) per prompt, batched with the KV cache. */
export function generateAnswers(
  model: LlamaForCausalLM,
  prompts: readonly (readonly number[])[],
  opts: GenerateAnswersOptions,
): number[][] {
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new Error(`generateAnswers: prompt ${i} encodes to no tokens`);
  });
  // One generator shared by the rows, so its state after a step is all a checkpoint needs.
  return generateBatch(model, prompts, {
    maxNewTokens: opts.maxNewTokens,
    temperature: opts.temperature,
    rng: opts.rng,
    eosTokenIds: opts.eosTokenIds,
    padTokenId: opts.padTokenId,
  }).map((r) => r.tokens);
}

/** Answer text without its stop token. */
export function decodeAnswer(
  codec: TokenCodec,
  answer: readonly number[],
  eos: readonly number[],
): string {
  const last = answer[answer.length - 1];
  const body = last !== undefined && eos.includes(last) ? answer.slice(0, -1) : answer;
  return codec.decode(body);
}

export interface ScoredAnswer<S> {
  sample: S;
  output: string;
  tokens: number[];
  reward: number;
}

export interface AnswerScores<S> {
  /** Share of answers with a positive reward. */
  accuracy: number;
  meanReward: number;
  results: ScoredAnswer<S>[];
}

/** Checks that a reward function returned a usable number, naming the sample. */
export function checkedReward(value: number, index: number, prompt: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(
      `reward: sample ${index} (prompt ${JSON.stringify(prompt.slice(0, 60))}) got ${value}, expected a finite number`,
    );
  }
  return value;
}

/**
 * Answers every sample (greedy unless a temperature is given) and scores it: what
 * validation and `t2 eval` report. A sample counts as correct when its reward is positive.
 */
export function scoreAnswers<S extends PromptSample>(
  model: LlamaForCausalLM,
  codec: TokenCodec,
  samples: readonly S[],
  reward: RewardFunction<S>,
  opts: AnswerOptions,
): AnswerScores<S> {
  const temperature = opts.temperature ?? 0;
  if (temperature > 0 && !opts.rng)
    throw new Error('scoreAnswers: sampling with temperature > 0 needs an rng');
  const eos = opts.eosTokenIds ?? model.config.eosTokenIds;
  const size = opts.batchSize ?? 16;
  const results: ScoredAnswer<S>[] = [];
  for (let start = 0; start < samples.length; start += size) {
    const chunk = samples.slice(start, start + size);
    const answers = generateAnswers(
      model,
      chunk.map((s) => codec.encode(s.prompt)),
      {
        maxNewTokens: opts.maxNewTokens,
        temperature,
        rng: opts.rng,
        eosTokenIds: eos,
        padTokenId: opts.padTokenId,
      },
    );
    chunk.forEach((sample, i) => {
      const output = decodeAnswer(codec, answers[i]!, eos);
      const r = checkedReward(reward(sample.prompt, output, sample), start + i, sample.prompt);
      results.push({ sample, output, tokens: answers[i]!, reward: r });
    });
  }
  const n = results.length;
  return {
    accuracy: n ? results.filter((r) => r.reward > 0).length / n : 0,
    meanReward: n ? results.reduce((s, r) => s + r.reward, 0) / n : 0,
    results,
  };
}
