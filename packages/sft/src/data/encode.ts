import type { EncodedExample, SftExample, SftTokenizer } from '../types';

export interface EncodeOptions {
  /** Longer examples are cut from the end (the prompt's start is kept). */
  maxLength?: number;
  /** Append the EOS token to completions so the model learns to stop (default true). */
  appendEos?: boolean;
}

/**
 * Tokens and labels of one example: prompt tokens get −100 (no loss), completion tokens
 * their own id. A chat is split at its last assistant turn.
 */
export function encodeExample(
  ex: SftExample,
  tok: SftTokenizer,
  opts: EncodeOptions = {},
): EncodedExample {
  const { maxLength = 2048, appendEos = true } = opts;
  let promptIds: number[];
  let completionIds: number[];
  if (ex.kind === 'text') {
    promptIds = [];
    completionIds = tok.encode(ex.text);
  } else if (ex.kind === 'completion') {
    promptIds = tok.encode(ex.prompt);
    // Encode the completion on its own so the split is exact; no BOS in the middle.
    completionIds = tok.encode(ex.completion, { addSpecialTokens: false });
  } else {
    if (!tok.applyChatTemplate)
      throw new Error('encodeExample: this tokenizer has no chat template for "messages" data');
    const history = ex.messages.slice(0, -1);
    const prompt = tok.applyChatTemplate(history, { addGenerationPrompt: true });
    const full = tok.applyChatTemplate(ex.messages, { addGenerationPrompt: false });
    if (!full.startsWith(prompt))
      throw new Error('encodeExample: the chat template does not extend the prompt');
    promptIds = tok.encode(prompt, { addSpecialTokens: false });
    completionIds = tok.encode(full.slice(prompt.length), { addSpecialTokens: false });
  }
  const eos = tok.eosTokenId;
  if (appendEos && ex.kind !== 'text' && eos !== null && eos !== undefined) completionIds.push(eos);
  const inputIds = [...promptIds, ...completionIds].slice(0, maxLength);
  const labels = [...promptIds.map(() => -100), ...completionIds].slice(0, maxLength);
  return { inputIds, labels };
}
