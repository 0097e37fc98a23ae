/** REINFORCE hyper-parameters; the defaults are the Transformer² reference's. */
export interface ReinforceConfig {
  /** Adam learning rate (reference 2e-3). */
  lr?: number;
  /** Adam betas. */
  betas?: [number, number];
  /** Global gradient-norm clip (reference 1e-3); Infinity turns it off. */
  maxGradNorm?: number;
  /** Prompts per step, one sampled answer each. */
  batchSize?: number;
  /** Sampling temperature for the training answers (0: greedy). */
  temperature?: number;
  /** Answer length cap in tokens. */
  maxNewTokens?: number;
  /** Weight of KL(p ‖ p_base) summed over the answer tokens; needs `setAdaptersEnabled`. */
  klCoeff?: number;
  /** Subtract the batch mean and divide by the batch std before weighting log-probs. */
  normalizeRewards?: boolean;
  /** Clip the (normalised) rewards to [−rewardClip, rewardClip]. */
  rewardClip?: number;
  /** Stop an answer at any of these tokens (kept in the answer); the model's EOS ids by default. */
  eosTokenIds?: readonly number[];
  /** Filler id for padded positions (never attended to, never scored). */
  padTokenId?: number;
  /** Seeds the token sampler and the order of training samples. */
  seed?: number;
  /** Validate every N steps (0: only when asked). */
  validateEvery?: number;
  /** Answers are generated for this many validation prompts at once. */
  validationBatchSize?: number;
}

export type ResolvedReinforceConfig = Required<
  Omit<ReinforceConfig, 'rewardClip' | 'eosTokenIds'>
> & {
  rewardClip: number | undefined;
  eosTokenIds: readonly number[] | undefined;
};

export const REINFORCE_DEFAULTS: Readonly<ResolvedReinforceConfig> = Object.freeze({
  lr: 2e-3,
  betas: [0.9, 0.999] as [number, number],
  maxGradNorm: 1e-3,
  batchSize: 8,
  temperature: 1,
  maxNewTokens: 16,
  klCoeff: 0,
  normalizeRewards: false,
  rewardClip: undefined,
  eosTokenIds: undefined,
  padTokenId: 0,
  seed: 0,
  validateEvery: 0,
  validationBatchSize: 16,
});

export function resolveReinforceConfig(config: ReinforceConfig = {}): ResolvedReinforceConfig {
  const c: ResolvedReinforceConfig = { ...REINFORCE_DEFAULTS };
  for (const [k, v] of Object.entries(config))
    if (v !== undefined) (c as Record<string, unknown>)[k] = v;
  const positive = (name: keyof ResolvedReinforceConfig, value: number, integer = false) => {
    if (!(value > 0) || (integer ? !Number.isInteger(value) : Number.isNaN(value))) {
      throw new Error(
        `ReinforceConfig: ${name} must be ${integer ? 'a positive integer' : '> 0'}, got ${value}`,
      );
    }
  };
  positive('lr', c.lr);
  positive('maxGradNorm', c.maxGradNorm);
  positive('batchSize', c.batchSize, true);
  positive('maxNewTokens', c.maxNewTokens, true);
  positive('validationBatchSize', c.validationBatchSize, true);
  if (!(c.temperature >= 0) || !Number.isFinite(c.temperature)) {
    throw new Error(`ReinforceConfig: temperature must be finite and ≥ 0, got ${c.temperature}`);
  }
  if (!(c.klCoeff >= 0) || !Number.isFinite(c.klCoeff)) {
    throw new Error(`ReinforceConfig: klCoeff must be finite and ≥ 0, got ${c.klCoeff}`);
  }
  if (c.rewardClip !== undefined && !(c.rewardClip > 0)) {
    throw new Error(`ReinforceConfig: rewardClip must be > 0, got ${c.rewardClip}`);
  }
  if (!Number.isInteger(c.seed))
    throw new Error(`ReinforceConfig: seed must be an integer, got ${c.seed}`);
  if (!Number.isInteger(c.validateEvery) || c.validateEvery < 0) {
    throw new Error(
      `ReinforceConfig: validateEvery must be an integer ≥ 0, got ${c.validateEvery}`,
    );
  }
  if (!Number.isInteger(c.padTokenId) || c.padTokenId < 0) {
    throw new Error(`ReinforceConfig: padTokenId must be a token id, got ${c.padTokenId}`);
  }
  return c;
}
