import type { Rng } from './rng';

/** The reward of the paper's REINFORCE setup: +1 for a correct answer, −1 otherwise. */
export type Reward = 1 | -1;

/**
 * Scores a model output. `output` is the model's continuation of `prompt` (not the
 * prompt itself); `answer` is the reference answer of the sample. User reward
 * modules may return any finite number.
 */
export type RewardFn = (prompt: string, output: string, answer: string) => number;

/** A prompt and its reference answer. */
export interface Problem {
  prompt: string;
  answer: string;
}

/** A problem with where it came from: what evaluators and routers consume. */
export interface Sample extends Problem {
  /** The expert domain (`math`, `string`, `logic`) or a user label. */
  category?: string;
  /** The task family that generated it; absent for user data. */
  family?: string;
}

/** The three disjoint data splits. */
export type Split = 'train' | 'validation' | 'test';

/** A generated task: how to draw a problem, read an answer from an output, and score it. */
export interface TaskFamily {
  readonly name: string;
  /** The expert domain a router should pick for it; held-out families borrow the closest one. */
  readonly category: string;
  /** Held-out families are kept out of expert training and used for few-shot adaptation. */
  readonly heldOut: boolean;
  readonly description: string;
  /** Draws one problem; the same generator state always gives the same problem. */
  generate(rng: Rng): Problem;
  /** The answer the output commits to ('' when there is none). */
  extract(output: string): string;
  /** Exact match of the extracted answer: +1 or −1. */
  reward(prompt: string, output: string, answer: string): Reward;
  /**
   * The answer written in the family's competing convention (`47.0` for `47`, `"cba"` for
   * `cba`, `(T)` for `T`). Pretraining text uses it in a share of the examples, so the base
   * model hedges between two ways of answering; the reward refuses it, so an expert has a
   * convention to pick. Absent: the family has one convention.
   */
  distractor?(answer: string): string;
  /**
   * A held-out family whose answers follow other families' conventions at once: each of
   * these families' distractors applies independently, innermost first.
   */
  readonly conventions?: readonly TaskFamily[];
}
