import { InputError } from '@t2/tensor-core';
/**
 * The decoder's hyper-parameters, read from a Hugging Face `config.json` (model_type
 * `llama`, `qwen2`, `mistral`) or built from a llama2.c header.
 */

export type ModelType = 'llama' | 'qwen2' | 'mistral';

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

export interface LlamaConfig {
  modelType: ModelType;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** Grouped-query attention: key/value heads shared by numAttentionHeads / numKeyValueHeads queries. */
  numKeyValueHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  /** Bias on q/k/v (Qwen2 always; LLaMA with attention_bias). */
  qkvBias: boolean;
  /** Bias on o_proj (LLaMA's attention_bias covers o_proj too; Qwen2 has none). */
  oBias: boolean;
  mlpBias: boolean;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  bosTokenId: number | null;
  /** Every id that ends generation (config.json may list several). */
  eosTokenIds: number[];
  padTokenId: number | null;
  /** The parsed config.json, kept so that saving writes back what was read. */
  source?: Record<string, unknown>;
}

export class ConfigError extends InputError {
  override name = 'ConfigError';
}

const MODEL_TYPES: readonly ModelType[] = ['llama', 'qwen2', 'mistral'];

/** Sizes in config.json are int32 in transformers; anything larger is a corrupt file. */
const MAX_CONFIG_INT = 2 ** 31 - 1;
/** Longest context accepted (64M positions; the largest released models have 10M). */
export const MAX_POSITION_EMBEDDINGS = 2 ** 26;

/** Keys t2 reads from config.json. */
const USED_KEYS = new Set([
  'model_type',
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'vocab_size',
  'rms_norm_eps',
  'rope_theta',
  'rope_scaling',
  'rope_parameters',
  'attention_bias',
  'mlp_bias',
  'tie_word_embeddings',
  'max_position_embeddings',
  'bos_token_id',
  'eos_token_id',
  'pad_token_id',
  'hidden_act',
  'use_sliding_window',
  'rope_interleaved',
  'layer_types',
  'use_mrope',
]);

/**
 * Keys that Hugging Face configs carry and that do not change the forward pass
 * (bookkeeping, training-only settings, or a sliding window t2 does not apply).
 */
const IGNORED_KEYS = new Set([
  'architectures',
  '_name_or_path',
  'name_or_path',
  'transformers_version',
  'torch_dtype',
  'dtype',
  'use_cache',
  'initializer_range',
  'attention_dropout',
  'pretraining_tp',
  'sliding_window',
  'max_window_layers',
  'is_llama_config',
  'transformers.js_config',
  'tokenizer_class',
  'return_dict',
  'output_attentions',
  'output_hidden_states',
  'torchscript',
  'id2label',
  'label2id',
  'problem_type',
  'finetuning_task',
  'task_specific_params',
  'chunk_size_feed_forward',
  'is_encoder_decoder',
  'is_decoder',
  'add_cross_attention',
  'tie_encoder_decoder',
  'bad_words_ids',
  'prefix',
  'sep_token_id',
  'decoder_start_token_id',
  'cross_attention_hidden_size',
  'pruned_heads',
  'model_name',
  'auto_map',
  'use_bfloat16',
  'bias',
  'embd_pdrop',
  'resid_pdrop',
]);

export interface ParseConfigOptions {
  /** Named in error messages (default 'config.json'). */
  fileName?: string;
  /** Accept keys t2 does not know (default false: an unknown key may change the architecture). */
  allowUnknownKeys?: boolean;
}

/** Reads a Hugging Face config.json object into a LlamaConfig, rejecting what t2 cannot run. */
export function parseHfConfig(json: unknown, opts: ParseConfigOptions = {}): LlamaConfig {
  const file = opts.fileName ?? 'config.json';
  const fail = (msg: string): never => {
    throw new ConfigError(`${file}: ${msg}`);
  };
  if (!json || typeof json !== 'object' || Array.isArray(json)) fail('expected a JSON object');
  const c = json as Record<string, unknown>;

  const modelType = c.model_type;
  if (modelType === undefined) fail("missing key 'model_type'");
  if (!MODEL_TYPES.includes(modelType as ModelType)) {
    fail(
      `model_type '${String(modelType)}' is not supported (supported: ${MODEL_TYPES.join(', ')})`,
    );
  }

  if (!opts.allowUnknownKeys) {
    const unknown = Object.keys(c).filter((k) => !USED_KEYS.has(k) && !IGNORED_KEYS.has(k));
    if (unknown.length) {
      fail(
        `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} ` +
          '(t2 cannot tell whether they change the model; pass allowUnknownKeys to load anyway)',
      );
    }
  }

  const int = (key: string, fallback?: number, min = 1, max = MAX_CONFIG_INT): number => {
    const v = c[key];
    if (v === undefined || v === null) {
      if (fallback === undefined) fail(`missing key '${key}'`);
      return fallback!;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      fail(`'${key}' must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  const num = (key: string, fallback: number): number => {
    const v = c[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      fail(`'${key}' must be a positive number, got ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = c[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') fail(`'${key}' must be true or false, got ${JSON.stringify(v)}`);
    return v as boolean;
  };
  const optionalId = (key: string): number | null => {
    const v = c[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      fail(`'${key}' must be a token id, got ${JSON.stringify(v)}`);
    return v as number;
  };

  const hiddenAct = c.hidden_act ?? 'silu';
  if (hiddenAct !== 'silu')
    fail(`hidden_act '${String(hiddenAct)}' is not supported (only 'silu')`);
  if (bool('use_sliding_window', false)) fail('use_sliding_window: true is not supported');
  if (bool('rope_interleaved', false)) fail('rope_interleaved: true is not supported');
  if (bool('use_mrope', false)) fail('use_mrope: true is not supported');
  if (c.layer_types !== undefined && c.layer_types !== null) {
    const lt = c.layer_types;
    if (!Array.isArray(lt) || lt.some((t) => t !== 'full_attention')) {
      fail("layer_types other than 'full_attention' (sliding-window layers) are not supported");
    }
  }

  const hiddenSize = int('hidden_size');
  const numAttentionHeads = int('num_attention_heads');
  const numKeyValueHeads = int('num_key_value_heads', numAttentionHeads);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    fail(
      `num_attention_heads ${numAttentionHeads} is not a multiple of num_key_value_heads ${numKeyValueHeads}`,
    );
  }
  const defaultHeadDim = hiddenSize / numAttentionHeads;
  if (!Number.isInteger(defaultHeadDim) && (c.head_dim === undefined || c.head_dim === null)) {
    fail(
      `hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numAttentionHeads}, and no 'head_dim' says the size of a head`,
    );
  }
  const headDim = int('head_dim', Number.isInteger(defaultHeadDim) ? defaultHeadDim : undefined);
  if (headDim % 2 !== 0) fail(`head_dim ${headDim} must be even for rotary embeddings`);

  // transformers ≥ 5 moves rope_theta and rope_scaling into rope_parameters.
  const ropeParams = c.rope_parameters as Record<string, unknown> | undefined | null;
  let ropeTheta = num('rope_theta', 10000);
  let scalingRaw = c.rope_scaling as Record<string, unknown> | undefined | null;
  if (
    ropeParams !== undefined &&
    ropeParams !== null &&
    (typeof ropeParams !== 'object' || Array.isArray(ropeParams))
  )
    fail(`'rope_parameters' must be an object, got ${JSON.stringify(ropeParams)}`);
  if (ropeParams && typeof ropeParams === 'object') {
    const t = ropeParams.rope_theta;
    if (t !== undefined && t !== null) {
      if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0)
        fail(`'rope_parameters.rope_theta' must be a positive number, got ${JSON.stringify(t)}`);
      ropeTheta = t as number;
    }
    scalingRaw = ropeParams;
  }

  const isQwen2 = modelType === 'qwen2';
  const attentionBias = bool('attention_bias', false);
  const eos = c.eos_token_id;
  let eosTokenIds: number[] = [];
  if (Array.isArray(eos)) eosTokenIds = eos.map((e) => Number(e));
  else if (typeof eos === 'number') eosTokenIds = [eos];
  else if (eos !== undefined && eos !== null)
    fail(`'eos_token_id' must be an id or a list of ids, got ${JSON.stringify(eos)}`);
  if (eosTokenIds.some((e) => !Number.isInteger(e) || e < 0))
    fail(`'eos_token_id' has an invalid id: ${JSON.stringify(eos)}`);

  const config: LlamaConfig = {
    modelType: modelType as ModelType,
    hiddenSize,
    intermediateSize: int('intermediate_size'),
    numHiddenLayers: int('num_hidden_layers'),
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    vocabSize: int('vocab_size'),
    // Defaults are those of the transformers config classes.
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta,
    ropeScaling: parseRopeScaling(scalingRaw, fail),
    qkvBias: isQwen2 || attentionBias,
    oBias: !isQwen2 && attentionBias,
    mlpBias: bool('mlp_bias', false),
    tieWordEmbeddings: bool('tie_word_embeddings', false),
    maxPositionEmbeddings: int(
      'max_position_embeddings',
      isQwen2 ? 32768 : 2048,
      1,
      MAX_POSITION_EMBEDDINGS,
    ),
    bosTokenId: optionalId('bos_token_id'),
    eosTokenIds,
    padTokenId: optionalId('pad_token_id'),
    source: { ...c },
  };
  const { vocabSize } = config;
  for (const [key, id] of [
    ['bos_token_id', config.bosTokenId],
    ['pad_token_id', config.padTokenId],
    ...eosTokenIds.map((e) => ['eos_token_id', e] as const),
  ] as const) {
    if (id !== null && id >= vocabSize)
      fail(
        `'${key}' ${id} is outside the vocabulary (vocab_size ${vocabSize}: ids 0 to ${vocabSize - 1})`,
      );
  }
  return config;
}

function parseRopeScaling(
  raw: Record<string, unknown> | undefined | null,
  fail: (m: string) => never,
): RopeScaling | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object')
    fail(`rope_scaling must be an object or null, got ${JSON.stringify(raw)}`);
  const type = raw.rope_type ?? raw.type ?? 'default';
  const factor = (): number => {
    const f = raw.factor;
    if (typeof f !== 'number' || !(f > 0))
      fail(`rope_scaling.factor must be a positive number, got ${JSON.stringify(f)}`);
    return f as number;
  };
  if (type === 'default') return null;
  if (type === 'linear') return { type: 'linear', factor: factor() };
  if (type === 'llama3') {
    const need = (k: string): number => {
      const v = raw[k];
      if (typeof v !== 'number' || !(v > 0))
        fail(`rope_scaling.${k} must be a positive number, got ${JSON.stringify(v)}`);
      return v as number;
    };
    return {
      type: 'llama3',
      factor: factor(),
      lowFreqFactor: need('low_freq_factor'),
      highFreqFactor: need('high_freq_factor'),
      originalMaxPositionEmbeddings: need('original_max_position_embeddings'),
    };
  }
  return fail(`rope_scaling type '${String(type)}' is not supported (supported: linear, llama3)`);
}

/** Builds a complete config from the essentials, filling the LLaMA defaults. */
export function createConfig(
  c: Pick<
    LlamaConfig,
    'hiddenSize' | 'intermediateSize' | 'numHiddenLayers' | 'numAttentionHeads' | 'vocabSize'
  > &
    Partial<LlamaConfig>,
): LlamaConfig {
  const numKeyValueHeads = c.numKeyValueHeads ?? c.numAttentionHeads;
  const headDim = c.headDim ?? c.hiddenSize / c.numAttentionHeads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new ConfigError(`createConfig: head dim ${headDim} must be an even integer`);
  }
  if (c.numAttentionHeads % numKeyValueHeads !== 0) {
    throw new ConfigError(
      `createConfig: ${c.numAttentionHeads} attention heads not a multiple of ${numKeyValueHeads} key/value heads`,
    );
  }
  const modelType = c.modelType ?? 'llama';
  const defined = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
  return {
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    ropeScaling: null,
    qkvBias: modelType === 'qwen2',
    oBias: false,
    mlpBias: false,
    tieWordEmbeddings: false,
    maxPositionEmbeddings: 2048,
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: null,
    ...(defined as typeof c),
    modelType,
    numKeyValueHeads,
    headDim,
  };
}

/** The config.json that Hugging Face transformers reads for this model. */
export function toHfConfig(config: LlamaConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(config.source ?? {}) };
  // rope_parameters (transformers ≥ 5) would override what is written below.
  delete out.rope_parameters;
  const arch = {
    llama: 'LlamaForCausalLM',
    qwen2: 'Qwen2ForCausalLM',
    mistral: 'MistralForCausalLM',
  }[config.modelType];
  Object.assign(out, {
    architectures: out.architectures ?? [arch],
    model_type: config.modelType,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numHiddenLayers,
    num_attention_heads: config.numAttentionHeads,
    num_key_value_heads: config.numKeyValueHeads,
    head_dim: config.headDim,
    vocab_size: config.vocabSize,
    max_position_embeddings: config.maxPositionEmbeddings,
    rms_norm_eps: config.rmsNormEps,
    rope_theta: config.ropeTheta,
    rope_scaling: ropeScalingToHf(config.ropeScaling),
    hidden_act: 'silu',
    tie_word_embeddings: config.tieWordEmbeddings,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : config.eosTokenIds,
    torch_dtype: 'float32',
  });
  if (config.modelType !== 'qwen2') out.attention_bias = config.qkvBias;
  else if (!config.qkvBias)
    throw new ConfigError('toHfConfig: a qwen2 model always has q/k/v biases');
  if (config.modelType === 'llama') out.mlp_bias = config.mlpBias;
  else if (config.mlpBias)
    throw new ConfigError(`toHfConfig: ${config.modelType} has no mlp_bias option`);
  if (config.oBias !== (config.modelType !== 'qwen2' && config.qkvBias)) {
    throw new ConfigError(
      'toHfConfig: an o_proj bias without q/k/v biases has no Hugging Face config',
    );
  }
  if (config.padTokenId !== null) out.pad_token_id = config.padTokenId;
  return out;
}

function ropeScalingToHf(s: RopeScaling | null): Record<string, unknown> | null {
  if (!s) return null;
  if (s.type === 'linear') return { rope_type: 'linear', factor: s.factor };
  return {
    rope_type: 'llama3',
    factor: s.factor,
    low_freq_factor: s.lowFreqFactor,
    high_freq_factor: s.highFreqFactor,
    original_max_position_embeddings: s.originalMaxPositionEmbeddings,
  };
}
