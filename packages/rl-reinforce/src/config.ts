/**
 * REINFORCE hyper-parameters. The defaults are the Transformer² reference's
 * (SakanaAI/self-adaptive-llms, cfgs/optimization/reinforce.yaml and cfgs/config.yaml), except
 * the batch: the reference uses 256 prompts per step; 32 is the smallest batch whose gradient
 * pointed the way of the supervised direction reliably on t2-tiny (see experiments/REPORT.md).
 */
export interface ReinforceConfig {
  /** Adam learning rate. Default 2e-3 (reference 2e-3). */
  lr?: number;
  /** Adam betas. */
  betas?: [number, number];
  /** Global gradient-norm clip; Infinity turns it off. Default 1e-3 (reference 1e-3). */
  maxGradNorm?: number;
  /** Prompts per step, one answer each. Default 32 (reference 256). */
  batchSize?: number;
  /**
   * Sampling temperature for the training answers. Default 0, greedy (the reference generates
   * them with vLLM at temperature 0).
   */
  temperature?: number;
  /** Answer length cap in tokens. */
  maxNewTokens?: number;
  /**
   * Weight of KL(p_base ‖ p) summed over the answer tokens; needs `setAdaptersEnabled`.
   * Default 0 (reference `kl_ref_coeff` 0).
   */
  klCoeff?: number;
  /**
   * Subtract the batch mean and divide by the batch std before weighting log-probs. Default
   * false (reference `rw_norm` 0): with greedy answers a batch that is all wrong would give
   * no gradient at all.
   */
  normalizeRewards?: boolean;
  /** Clip the (normalised) rewards to [−rewardClip, rewardClip]. Default none (reference null). */
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
  batchSize: 32,
  temperature: 0,
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
