import { describe, expect, it } from 'vitest';
import { ConfigError, expectedTensorShapes, parseHfConfig, toHfConfig } from '../src/index';

// config.json of public checkpoints (as published on the Hugging Face Hub).
const qwen25_05B = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: 'silu',
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.43.1',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};
const llama32_1B = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 32.0,
    high_freq_factor: 4.0,
    low_freq_factor: 1.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.45.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};
const tinyLlama = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 5632,
  max_position_embeddings: 2048,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 22,
  num_key_value_heads: 4,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.35.0',
  use_cache: true,
  vocab_size: 32000,
};
const smolLM2 = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 0,
  eos_token_id: 0,
  hidden_act: 'silu',
  hidden_size: 576,
  initializer_range: 0.041666666666666664,
  intermediate_size: 1536,
  is_llama_config: true,
  max_position_embeddings: 8192,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 9,
  num_hidden_layers: 30,
  num_key_value_heads: 3,
  pad_token_id: 2,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_interleaved: false,
  rope_scaling: null,
  rope_theta: 100000,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.42.3',
  'transformers.js_config': { kv_cache_dtype: { q4f16: 'float16', fp16: 'float16' } },
  use_cache: true,
  vocab_size: 49152,
};
const mistral7B = {
  architectures: ['MistralForCausalLM'],
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: 'mistral',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  sliding_window: 4096,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.34.0.dev0',
  use_cache: true,
  vocab_size: 32000,
};

const paramCount = (json: unknown) =>
  [...expectedTensorShapes(parseHfConfig(json)).values()].reduce(
    (n, s) => n + s.reduce((a, b) => a * b, 1),
    0,
  );

describe('config.json of real checkpoints', () => {
  it('gives the published parameter counts', () => {
    // Counts from the model cards / safetensors metadata of each checkpoint.
    expect(paramCount(qwen25_05B)).toBe(494_032_768);
    expect(paramCount(llama32_1B)).toBe(1_235_814_400);
    expect(paramCount(tinyLlama)).toBe(1_100_048_384);
    expect(paramCount(smolLM2)).toBe(134_515_008);
    expect(paramCount(mistral7B)).toBe(7_241_732_096);
  });

  it('reads grouped-query heads, biases, rope scaling and token ids', () => {
    const q = parseHfConfig(qwen25_05B);
    expect([
      q.modelType,
      q.qkvBias,
      q.oBias,
      q.headDim,
      q.numKeyValueHeads,
      q.tieWordEmbeddings,
    ]).toEqual(['qwen2', true, false, 64, 2, true]);
    expect(q.ropeTheta).toBe(1e6);
    const l = parseHfConfig(llama32_1B);
    expect(l.ropeScaling).toEqual({
      type: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    });
    expect(l.eosTokenIds).toEqual([128001, 128008, 128009]);
    const s = parseHfConfig(smolLM2);
    expect([s.padTokenId, s.bosTokenId, s.eosTokenIds, s.qkvBias]).toEqual([2, 0, [0], false]);
    expect(
      parseHfConfig({ ...tinyLlama, rope_scaling: { type: 'linear', factor: 2 } }).ropeScaling,
    ).toEqual({
      type: 'linear',
      factor: 2,
    });
    // transformers 5 moves rope settings into rope_parameters.
    const { rope_theta: _t, rope_scaling: _s, ...v5 } = llama32_1B;
    const fromV5 = parseHfConfig({
      ...v5,
      rope_parameters: { ...llama32_1B.rope_scaling, rope_theta: 500000 },
    });
    expect(fromV5.ropeTheta).toBe(500000);
    expect(fromV5.ropeScaling).toEqual(l.ropeScaling);
  });

  it('round-trips through toHfConfig', () => {
    for (const json of [qwen25_05B, llama32_1B, tinyLlama, smolLM2, mistral7B]) {
      const config = parseHfConfig(json);
      const { source: _a, ...want } = config;
      const { source: _b, ...got } = parseHfConfig(toHfConfig(config));
      expect(got).toEqual(want);
    }
  });

  it('rejects what it cannot run, naming the file and key', () => {
    const parse = (json: unknown) => () => parseHfConfig(json, { fileName: 'm/config.json' });
    expect(parse({ ...qwen25_05B, use_sliding_window: true })).toThrow(
      /m\/config\.json: use_sliding_window/,
    );
    expect(parse({ ...tinyLlama, hidden_act: 'gelu' })).toThrow(
      /hidden_act 'gelu' is not supported/,
    );
    expect(parse({ ...tinyLlama, num_key_value_heads: 5 })).toThrow(
      /not a multiple of num_key_value_heads 5/,
    );
    expect(parse({ ...tinyLlama, vocab_size: '32000' })).toThrow(/'vocab_size' must be an integer/);
    expect(parse({ ...tinyLlama, rope_scaling: { rope_type: 'dynamic', factor: 2 } })).toThrow(
      /'dynamic' is not supported/,
    );
    expect(parse({ ...tinyLlama, rope_scaling: { rope_type: 'llama3', factor: 2 } })).toThrow(
      /rope_scaling\.low_freq_factor/,
    );
    expect(parse({ ...tinyLlama, quantization_config: {} })).toThrow(ConfigError);
    expect(parse({ ...tinyLlama, quantization_config: {} })).toThrow(
      /unknown key 'quantization_config'/,
    );
    const { num_hidden_layers: _n, ...noLayers } = tinyLlama;
    expect(parse(noLayers)).toThrow(/m\/config\.json: missing key 'num_hidden_layers'/);
    expect(parse([])).toThrow(/expected a JSON object/);
  });
});
