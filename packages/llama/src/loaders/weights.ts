import { InputError, type Module, type Rng, type Tensor, withEmptyInit } from '@t2/tensor-core';
import type { LlamaConfig } from '../model/config';
import { LlamaForCausalLM } from '../model/llama-model';

/** A checkpoint that does not fit the model; the message names the file and tensor. */
export class CheckpointError extends InputError {
  override name = 'CheckpointError';
}

/** Every parameter a model with this config has, by Hugging Face name, with its shape. */
export function expectedTensorShapes(config: LlamaConfig): Map<string, number[]> {
  const {
    hiddenSize: d,
    intermediateSize: f,
    numAttentionHeads: h,
    numKeyValueHeads: kv,
    headDim: hd,
  } = config;
  const out = new Map<string, number[]>();
  out.set('model.embed_tokens.weight', [config.vocabSize, d]);
  for (let i = 0; i < config.numHiddenLayers; i++) {
    const p = `model.layers.${i}.`;
    const lin = (name: string, o: number, n: number, bias: boolean) => {
      out.set(`${p}${name}.weight`, [o, n]);
      if (bias) out.set(`${p}${name}.bias`, [o]);
    };
    lin('self_attn.q_proj', h * hd, d, config.qkvBias);
    lin('self_attn.k_proj', kv * hd, d, config.qkvBias);
    lin('self_attn.v_proj', kv * hd, d, config.qkvBias);
    lin('self_attn.o_proj', d, h * hd, config.oBias);
    lin('mlp.gate_proj', f, d, config.mlpBias);
    lin('mlp.up_proj', f, d, config.mlpBias);
    lin('mlp.down_proj', d, f, config.mlpBias);
    out.set(`${p}input_layernorm.weight`, [d]);
    out.set(`${p}post_attention_layernorm.weight`, [d]);
  }
  out.set('model.norm.weight', [d]);
  if (!config.tieWordEmbeddings) out.set('lm_head.weight', [config.vocabSize, d]);
  return out;
}

/** Buffers some checkpoints carry that transformers recomputes and ignores on load. */
const IGNORABLE = /^model\.(layers\.\d+\.self_attn\.)?rotary_emb\.inv_freq$/;

export const CHECKPOINT_DTYPES = ['F32', 'F16', 'BF16'];

export interface FromTensorsOptions {
  /** Where the tensors came from, for error messages. */
  fileName?: string;
  /** Which file holds each tensor (sharded checkpoints), for error messages. */
  fileOf?: (tensor: string) => string;
  /** Stored dtype per tensor; anything but F32, F16 and BF16 is refused. */
  dtypes?: Map<string, string>;
}

/**
 * Builds a model around checkpoint tensors (adopted, not copied), after checking that
 * exactly the expected tensors are there with the expected shapes and dtypes.
 */
export function modelFromTensors(
  config: LlamaConfig,
  tensors: Map<string, Tensor>,
  opts: FromTensorsOptions = {},
): LlamaForCausalLM {
  const info = new Map<string, TensorInfo>();
  for (const [name, t] of tensors) {
    info.set(name, { shape: t.shape, dtype: opts.dtypes?.get(name) });
  }
  checkCheckpointLayout(config, info, opts);
  // Placeholders with shapes only: every parameter is replaced by a checkpoint tensor as
  // its layer is built, so initialising them would cost time and memory for nothing.
  return withEmptyInit(
    () => new LlamaForCausalLM(config, { rng: placeholderRng, adopt: adoptFrom(tensors) }),
  );
}

/** A tensor's name, shape and stored dtype, as a safetensors header gives them. */
export interface TensorInfo {
  shape: readonly number[];
  dtype?: string;
  /** The file that holds it (sharded checkpoints). */
  file?: string;
}

/**
 * Checks that exactly the tensors a model with this config needs are there, with its shapes
 * and a loadable dtype, from names, shapes and dtypes alone (a safetensors header): so a
 * checkpoint that does not fit is refused before any tensor data is read. The config is
 * sanity-checked against the weights first (a layer count far above what the weights hold
 * is a broken config.json, not thousands of missing tensors).
 */
export function checkCheckpointLayout(
  config: LlamaConfig,
  info: Map<string, TensorInfo>,
  opts: Omit<FromTensorsOptions, 'dtypes'> & { configFile?: string } = {},
): void {
  const file = opts.fileName ?? '<tensors>';
  const fileOf = (name: string) => info.get(name)?.file ?? opts.fileOf?.(name) ?? file;
  let layersInWeights = 0;
  for (const name of info.keys()) {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (m) layersInWeights = Math.max(layersInWeights, Number(m[1]) + 1);
  }
  if (config.numHiddenLayers > layersInWeights) {
    throw new CheckpointError(
      `${opts.configFile ?? 'config.json'}: num_hidden_layers is ${config.numHiddenLayers}, but ${file} holds ${layersInWeights} layer${layersInWeights === 1 ? '' : 's'} (model.layers.0 to model.layers.${layersInWeights - 1})`,
    );
  }
  const expected = expectedTensorShapes(config);
  const missing = [...expected.keys()].filter((k) => !info.has(k));
  if (missing.length) {
    throw new CheckpointError(
      `${file}: missing tensor${missing.length > 1 ? 's' : ''} ${listNames(missing)} (config: ${config.numHiddenLayers} layers, ` +
        `tie_word_embeddings ${config.tieWordEmbeddings}, q/k/v bias ${config.qkvBias})`,
    );
  }
  const extra = [...info.keys()].filter(
    (k) =>
      !expected.has(k) &&
      !IGNORABLE.test(k) &&
      !(k === 'lm_head.weight' && config.tieWordEmbeddings),
  );
  if (extra.length) {
    throw new CheckpointError(
      `${fileOf(extra[0]!)}: unexpected tensor${extra.length > 1 ? 's' : ''} ${listNames(extra)} (not part of a ${config.modelType} model with this config.json)`,
    );
  }
  for (const [name, shape] of expected) {
    const t = info.get(name)!;
    const dtype = t.dtype;
    if (dtype !== undefined && !CHECKPOINT_DTYPES.includes(dtype)) {
      throw new CheckpointError(
        `${fileOf(name)}: tensor '${name}' has dtype ${dtype}; weights must be ${CHECKPOINT_DTYPES.join(', ')}`,
      );
    }
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new CheckpointError(
        `${fileOf(name)}: tensor '${name}' has shape [${t.shape.join(', ')}], the config implies [${shape.join(', ')}]`,
      );
    }
  }
}

/** Nothing draws from it under withEmptyInit; it keeps the default generator untouched. */
const placeholderRng = { uniform: () => 0, normal: () => 0 } as unknown as Rng;

function adoptFrom(tensors: Map<string, Tensor>): (module: Module, prefix: string) => void {
  return (module, prefix) => {
    for (const [path, old] of module.namedParameters()) {
      const loaded = tensors.get(prefix + path)!;
      const dot = path.lastIndexOf('.');
      const owner = module.getSubmodule(dot < 0 ? '' : path.slice(0, dot));
      const name = path.slice(dot + 1);
      const fields = owner as unknown as Record<string, unknown>;
      if (fields[name] === old) fields[name] = loaded;
      owner.registerParameter(name, loaded);
      old.dispose();
    }
  };
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 8).map((n) => `'${n}'`);
  return names.length > 8 ? `${shown.join(', ')} and ${names.length - 8} more` : shown.join(', ');
}
