/** A training or validation example: at least a prompt; the reward sees the whole sample. */
export interface PromptSample {
  prompt: string;
}

/**
 * Scores one answer: `output` is the decoded continuation of `prompt` (not the prompt).
 * The paper's reward is +1 correct / −1 wrong; any finite number is accepted.
 */
export type RewardFunction<S extends PromptSample = PromptSample> = (
  prompt: string,
  output: string,
  sample: S,
) => number;

/** Text ↔ token ids. Prompts are encoded with whatever prefix (BOS) the model expects. */
export interface TokenCodec {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}
