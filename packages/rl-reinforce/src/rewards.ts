export interface RewardShaping {
  /** Subtract the batch mean and divide by the batch standard deviation. */
  normalize?: boolean;
  /** Clip to [−clip, clip] (after normalising). */
  clip?: number;
}

/** Weights of the log-probabilities from raw rewards; a constant batch normalises to zeros. */
export function shapeRewards(rewards: readonly number[], opts: RewardShaping = {}): number[] {
  let out = [...rewards];
  if (opts.normalize && out.length > 0) {
    const mean = out.reduce((s, r) => s + r, 0) / out.length;
    const std = Math.sqrt(out.reduce((s, r) => s + (r - mean) ** 2, 0) / out.length);
    out = out.map((r) => (r - mean) / (std + 1e-8));
  }
  if (opts.clip !== undefined) {
    const c = opts.clip;
    out = out.map((r) => Math.min(c, Math.max(-c, r)));
  }
  return out;
}
