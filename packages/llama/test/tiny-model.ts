import { Rng } from '@t2/tensor-core';
import { createConfig, type LlamaConfig, LlamaForCausalLM } from '../src/index';

/** A small config exercising grouped-query attention; override what a test needs. */
export function tinyConfig(overrides: Partial<LlamaConfig> = {}): LlamaConfig {
  return createConfig({
    hiddenSize: 16,
    intermediateSize: 24,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    vocabSize: 32,
    maxPositionEmbeddings: 64,
    rmsNormEps: 1e-5,
    ...overrides,
  });
}

/** A randomly initialised model whose norms and embeddings are far from their defaults. */
export function randomModel(config: LlamaConfig, seed = 1): LlamaForCausalLM {
  const rng = new Rng(seed);
  const model = new LlamaForCausalLM(config, { rng });
  for (const [name, t] of model.namedParameters()) {
    if (name.endsWith('norm.weight'))
      for (let i = 0; i < t.size; i++) t.data[i] = 1 + 0.3 * rng.normal();
    else if (name === 'model.embed_tokens.weight')
      for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
    else if (name.endsWith('.bias'))
      for (let i = 0; i < t.size; i++) t.data[i] = 0.3 * rng.normal();
  }
  return model;
}
