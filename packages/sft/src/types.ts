import type { Tensor } from '@t2/tensor-core';

/** One supervised example: a prompt and the completion the model should learn. */
export type SftExample =
  | { kind: 'completion'; prompt: string; completion: string }
  | { kind: 'chat'; messages: ChatMessage[] }
  | { kind: 'text'; text: string };

export interface ChatMessage {
  role: string;
  content: string;
}

/** What the trainer needs of a tokenizer (`@t2/llama`'s tokenizer fits). */
export interface SftTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  bosTokenId?: number | null;
  eosTokenId?: number | null;
  padTokenId?: number | null;
  /** Renders a conversation with the model's chat template. */
  applyChatTemplate?(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
}

/** What the trainer needs of a model (`@t2/llama`'s LlamaForCausalLM fits). */
export interface CausalLM {
  forward(
    inputIds: readonly (readonly number[])[],
    opts?: { attentionMask?: readonly (readonly number[])[] },
  ): Tensor;
  train(flag?: boolean): unknown;
  eval(): unknown;
}

/** Token ids with per-token labels; −100 marks tokens that carry no loss (the prompt). */
export interface EncodedExample {
  inputIds: number[];
  labels: number[];
}

/** A padded batch, ready for the model. */
export interface Batch {
  inputIds: number[][];
  attentionMask: number[][];
  /** Next-token targets per position (−100: no loss). */
  targets: number[][];
  /** Positions that carry loss. */
  numTargets: number;
}
