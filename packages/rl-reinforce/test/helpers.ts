import { fileURLToPath } from 'node:url';
import { type LlamaForCausalLM, loadHfFolder } from '@t2/llama';
import { noGrad, softmax } from '@t2/tensor-core';
import type { TokenCodec } from '../src/index';

/** /work/shared, or $T2_SHARED. */
export function sharedDir(): string {
  return process.env.T2_SHARED ?? fileURLToPath(new URL('../../../../shared/', import.meta.url));
}

export async function loadStories(): Promise<LlamaForCausalLM> {
  return (await loadHfFolder(`${sharedDir()}fixtures/stories260K/hf`)).model;
}

/** stories260K ships no tokenizer: prompts and outputs are space-separated token ids. */
export const idCodec: TokenCodec = {
  encode: (text) => text.split(' ').map(Number),
  decode: (ids) => ids.join(' '),
};

/** p(token | prompt) for the next token. */
export function nextTokenProb(model: LlamaForCausalLM, prompt: string, token: number): number {
  return noGrad(
    () => softmax(model.forward([idCodec.encode(prompt)], { lastOnly: true })).data[token]!,
  );
}
