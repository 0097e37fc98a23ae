import type { Mixing } from '@t2/adapters-svf';

/** How a mixture combines experts: @t2/adapters-svf's `Mixing`. */
export type { Mixing };

/** Decoding settings for one pass; adapters map them onto their model's generate. */
export interface GenerateOptions {
  /** Upper bound on generated tokens. */
  maxNewTokens?: number;
  /** Generation stops at the first of these strings (which is not part of the output). */
  stop?: readonly string[];
  /** 0 (default) decodes greedily. */
  temperature?: number;
  topP?: number;
  /** Seed of the sampler when temperature > 0. */
  seed?: number;
}

/** A completion to score: `log p(completion | prompt)`, summed over its tokens. */
export interface ScoreRequest {
  prompt: string;
  completion: string;
}

/** Mixture coefficients as `mix` of @t2/adapters-svf takes them: `[K]` or `[K, targets]`. */
export type AlphaTable = readonly number[] | readonly (readonly number[])[];

/**
 * What the runtime needs from a model with experts: compose adapted weights for a mixture
 * (the expensive step, which the runtime caches by α), switch between composed weights and
 * the base model, generate and score. `E` is an expert, `W` a set of composed weights.
 * `adaptSvfModel` wires @t2/llama and @t2/adapters-svf into this shape; tests use stubs.
 */
export interface AdaptableModel<E, W> {
  /** Adapted weights per expert: the number of columns of a per-layer α. */
  readonly numTargets: number;
  /** Names of the adapted weights, in the order of a per-layer α's columns (for traces). */
  readonly targetNames?: readonly string[];
  /**
   * Builds the weights of the mixture `Σ_k α_k expert_k` (α already normalised), or with
   * `mixing` 'additive' of each expert's change added up (see `Mixing` in @t2/adapters-svf).
   */
  compose(experts: readonly E[], alpha: AlphaTable, mixing?: Mixing): W;
  /** Makes later `generate`/`score` calls use `weights`; null means the base model. */
  use(weights: W | null): void;
  /** Frees weights the runtime no longer holds (they are not in use when this is called). */
  release?(weights: W): void;
  /** Puts the model back as it was handed over (e.g. its SVF layers, to train or save experts). */
  restore?(): void;
  /** One output per prompt, continuing it (the prompt is not repeated). */
  generate(prompts: readonly string[], options?: GenerateOptions): Promise<string[]>;
  /** `log p(completion | prompt)` for each request, summed over the completion's tokens. */
  score(requests: readonly ScoreRequest[]): Promise<number[]>;
}
