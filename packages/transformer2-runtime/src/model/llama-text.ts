import {
  generateBatch,
  type LlamaForCausalLM,
  scoreCompletions,
  type TextTokenizer,
} from '@t2/llama';
import type { GenerateOptions, ScoreRequest } from './adaptable';
import type { TextModel } from './svf-adapter';

export interface LlamaTextOptions {
  /** Prompts decoded together (left-padded). Default 8. */
  batchSize?: number;
  /** Default most new tokens when a call gives none. Default 64. */
  maxNewTokens?: number;
}

/**
 * Generation and scoring on text for a @t2/llama model: prompts are encoded with the
 * tokenizer (BOS as its post-processor says), outputs decoded without special tokens.
 */
export function llamaTextModel(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  options: LlamaTextOptions = {},
): TextModel {
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`llamaTextModel: batchSize must be an integer ≥ 1, got ${batchSize}`);
  const encodePrompt = (text: string): number[] => {
    const ids = tokenizer.encode(text);
    // Generation needs at least one token to condition on.
    if (ids.length === 0 && tokenizer.bosTokenId !== null) return [tokenizer.bosTokenId];
    if (ids.length === 0)
      throw new Error(
        `llamaTextModel: the prompt ${JSON.stringify(text)} encodes to no tokens and the tokenizer has no BOS`,
      );
    return ids;
  };
  return {
    async generate(prompts: readonly string[], opts: GenerateOptions = {}): Promise<string[]> {
      const out: string[] = [];
      for (let start = 0; start < prompts.length; start += batchSize) {
        const chunk = prompts.slice(start, start + batchSize).map(encodePrompt);
        const results = generateBatch(model, chunk, {
          maxNewTokens: opts.maxNewTokens ?? options.maxNewTokens ?? 64,
          stopStrings: opts.stop,
          temperature: opts.temperature,
          topP: opts.topP,
          seed: opts.seed,
          tokenizer,
        });
        for (const r of results) out.push(r.text ?? '');
      }
      return out;
    },
    async score(requests: readonly ScoreRequest[]): Promise<number[]> {
      const items = requests.map(({ prompt, completion }) => {
        const promptIds = encodePrompt(prompt);
        // Encoding prompt and completion together keeps the tokens the model saw in
        // training (a BPE merge may cross the boundary); fall back to separate encodings
        // when the joint one does not start with the prompt's tokens.
        const joint = tokenizer.encode(prompt + completion);
        const prefixOk = promptIds.every((id, i) => joint[i] === id);
        const completionIds = prefixOk
          ? joint.slice(promptIds.length)
          : tokenizer.encode(completion, { addSpecialTokens: false });
        return { prompt: promptIds, completion: completionIds };
      });
      return scoreCompletions(model, items, { batchSize }).map((s) => s.logProb);
    },
  };
}
