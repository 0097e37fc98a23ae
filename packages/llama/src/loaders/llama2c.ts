import { assertFinite, Tensor, useDefaultBackend } from '@t2/tensor-core';
import { createConfig, type LlamaConfig } from '../model/config';
import type { LlamaForCausalLM } from '../model/llama-model';
import { CheckpointError, modelFromTensors } from './weights';

const HEADER_BYTES = 7 * 4;
// llama2.c's versioned exports (export.py --version 1/2) start with "ak42".
const VERSIONED_MAGIC = 0x616b3432;

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  /** The classifier is the token embedding (a non-negative vocab_size in the header). */
  sharedClassifier: boolean;
  seqLen: number;
}

function readHeader(bytes: Uint8Array, file: string): Llama2cHeader {
  if (bytes.byteLength < HEADER_BYTES) {
    throw new CheckpointError(
      `${file}: truncated: ${bytes.byteLength} bytes, the llama2.c header alone needs ${HEADER_BYTES}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const v = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
  if (v[0] === VERSIONED_MAGIC) {
    throw new CheckpointError(
      `${file}: a versioned llama2.c export (magic "ak42", version ${v[1]}); only the legacy format ` +
        '(export.py --version 0) is supported',
    );
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = v as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const header: Llama2cHeader = {
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize: Math.abs(vocab),
    sharedClassifier: vocab > 0,
    seqLen,
  };
  const bad = (msg: string): never => {
    throw new CheckpointError(
      `${file}: not a llama2.c checkpoint: ${msg} (header ${JSON.stringify(v)})`,
    );
  };
  for (const [k, x] of Object.entries({ dim, hiddenDim, nLayers, nHeads, nKvHeads, seqLen })) {
    if (!(x > 0)) bad(`${k} = ${x}`);
  }
  if (vocab === 0) bad('vocab_size = 0');
  if (dim % nHeads !== 0) bad(`dim ${dim} is not a multiple of n_heads ${nHeads}`);
  if (nHeads % nKvHeads !== 0) bad(`n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`);
  if ((dim / nHeads) % 2 !== 0) bad(`head size ${dim / nHeads} is odd`);
  return header;
}

/** The config llama2.c's run.c implies: RMSNorm eps 1e-5, rope theta 10000, BOS 1, EOS 2. */
export function llama2cConfig(h: Llama2cHeader): LlamaConfig {
  return createConfig({
    modelType: 'llama',
    hiddenSize: h.dim,
    intermediateSize: h.hiddenDim,
    numHiddenLayers: h.nLayers,
    numAttentionHeads: h.nHeads,
    numKeyValueHeads: h.nKvHeads,
    vocabSize: h.vocabSize,
    maxPositionEmbeddings: h.seqLen,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: h.sharedClassifier,
    bosTokenId: 1,
    eosTokenIds: [2],
  });
}

/** The float arrays a legacy llama2.c file holds after its header, in order, and its size. */
function llama2cLayout(h: Llama2cHeader): { parts: [string, number][]; expectedBytes: number } {
  const { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen } = h;
  const headSize = dim / nHeads;
  const kvDim = nKvHeads * headSize;
  const parts: [string, number][] = [
    ['token_embedding_table', vocabSize * dim],
    ['rms_att_weight', nLayers * dim],
    ['wq', nLayers * dim * dim],
    ['wk', nLayers * kvDim * dim],
    ['wv', nLayers * kvDim * dim],
    ['wo', nLayers * dim * dim],
    ['rms_ffn_weight', nLayers * dim],
    ['w1', nLayers * hiddenDim * dim],
    ['w2', nLayers * dim * hiddenDim],
    ['w3', nLayers * hiddenDim * dim],
    ['rms_final_weight', dim],
    ['freq_cis_real', (seqLen * headSize) / 2],
    ['freq_cis_imag', (seqLen * headSize) / 2],
  ];
  if (!h.sharedClassifier) parts.push(['wcls', vocabSize * dim]);
  const floats = parts.reduce((s, [, n]) => s + n, 0);
  return { parts, expectedBytes: HEADER_BYTES + floats * 4 };
}

/** Checks a file of `byteLength` bytes against the size its header implies (before reading it). */
function checkLlama2cSize(h: Llama2cHeader, byteLength: number, fileName: string): void {
  const { parts, expectedBytes } = llama2cLayout(h);
  if (byteLength !== expectedBytes) {
    let offset = HEADER_BYTES;
    let cut = parts[parts.length - 1]![0];
    for (const [name, n] of parts) {
      if (offset + n * 4 > byteLength) {
        cut = name;
        break;
      }
      offset += n * 4;
    }
    throw new CheckpointError(
      byteLength < expectedBytes
        ? `${fileName}: truncated: ${byteLength} bytes, the header implies ${expectedBytes}; tensor '${cut}' is incomplete`
        : `${fileName}: ${byteLength - expectedBytes} bytes after the last tensor (header implies ${expectedBytes} bytes${h.sharedClassifier ? ', shared classifier' : ''})`,
    );
  }
}

/**
 * Reads a legacy llama2.c checkpoint (seven int32, then float32 weights) into Hugging Face
 * named tensors. q/k rows are reordered per head from llama2.c's interleaved rotary pairs
 * (2i, 2i+1) to rotate-half pairs (i, i + d/2), as transformers' conversion script does.
 */
export function parseLlama2c(
  bytes: Uint8Array,
  fileName = '<llama2.c bytes>',
): { config: LlamaConfig; tensors: Map<string, Tensor> } {
  const h = readHeader(bytes, fileName);
  const { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize } = h;
  const headSize = dim / nHeads;
  const kvDim = nKvHeads * headSize;
  checkLlama2cSize(h, bytes.byteLength, fileName);
  const { parts, expectedBytes } = llama2cLayout(h);
  const floats = (expectedBytes - HEADER_BYTES) / 4;
  // One aligned copy of the weights; tensors are views-by-copy of its ranges.
  const all = new Float32Array(floats);
  new Uint8Array(all.buffer).set(bytes.subarray(HEADER_BYTES, expectedBytes));
  const arrays = new Map<string, Float32Array>();
  let at = 0;
  for (const [name, n] of parts) {
    arrays.set(name, all.subarray(at, at + n));
    at += n;
  }
  const get = (name: string) => arrays.get(name)!;
  const tensors = new Map<string, Tensor>();
  const layer = (src: string, l: number, rows: number, cols: number) =>
    get(src).slice(l * rows * cols, (l + 1) * rows * cols);
  tensors.set(
    'model.embed_tokens.weight',
    new Tensor(get('token_embedding_table').slice(), [vocabSize, dim]),
  );
  for (let l = 0; l < nLayers; l++) {
    const p = `model.layers.${l}.`;
    tensors.set(
      `${p}self_attn.q_proj.weight`,
      new Tensor(toRotateHalf(layer('wq', l, dim, dim), nHeads, headSize, dim), [dim, dim]),
    );
    tensors.set(
      `${p}self_attn.k_proj.weight`,
      new Tensor(toRotateHalf(layer('wk', l, kvDim, dim), nKvHeads, headSize, dim), [kvDim, dim]),
    );
    tensors.set(
      `${p}self_attn.v_proj.weight`,
      new Tensor(layer('wv', l, kvDim, dim), [kvDim, dim]),
    );
    tensors.set(`${p}self_attn.o_proj.weight`, new Tensor(layer('wo', l, dim, dim), [dim, dim]));
    tensors.set(
      `${p}mlp.gate_proj.weight`,
      new Tensor(layer('w1', l, hiddenDim, dim), [hiddenDim, dim]),
    );
    tensors.set(
      `${p}mlp.down_proj.weight`,
      new Tensor(layer('w2', l, dim, hiddenDim), [dim, hiddenDim]),
    );
    tensors.set(
      `${p}mlp.up_proj.weight`,
      new Tensor(layer('w3', l, hiddenDim, dim), [hiddenDim, dim]),
    );
    tensors.set(
      `${p}input_layernorm.weight`,
      new Tensor(layer('rms_att_weight', l, 1, dim), [dim]),
    );
    tensors.set(
      `${p}post_attention_layernorm.weight`,
      new Tensor(layer('rms_ffn_weight', l, 1, dim), [dim]),
    );
  }
  tensors.set('model.norm.weight', new Tensor(get('rms_final_weight').slice(), [dim]));
  if (!h.sharedClassifier)
    tensors.set('lm_head.weight', new Tensor(get('wcls').slice(), [vocabSize, dim]));
  return { config: llama2cConfig(h), tensors };
}

/** Per head, rows [0, 2, 4, …, 1, 3, 5, …]: interleaved rotary pairs become halves. */
function toRotateHalf(
  w: Float32Array,
  heads: number,
  headSize: number,
  cols: number,
): Float32Array {
  const out = new Float32Array(w.length);
  const half = headSize / 2;
  for (let h = 0; h < heads; h++) {
    for (let r = 0; r < headSize; r++) {
      const src = r < half ? 2 * r : 2 * (r - half) + 1;
      const from = (h * headSize + src) * cols;
      out.set(w.subarray(from, from + cols), (h * headSize + r) * cols);
    }
  }
  return out;
}

/** A model from the bytes of a llama2.c checkpoint (browser-safe). */
export function modelFromLlama2c(
  bytes: Uint8Array,
  fileName?: string,
): { model: LlamaForCausalLM; config: LlamaConfig } {
  const { config, tensors } = parseLlama2c(bytes, fileName);
  assertFinite(tensors, fileName ?? '<llama2.c bytes>');
  return { model: modelFromTensors(config, tensors, { fileName }), config };
}

/** Loads a llama2.c `.bin` checkpoint (Node). */
export async function loadLlama2cFile(
  path: string,
): Promise<{ model: LlamaForCausalLM; config: LlamaConfig }> {
  const fs = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    // The header first: a file whose size does not match it (a device, another format, a
    // truncated copy) is refused before its bytes are read.
    const fh = await fs.open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) {
        throw new CheckpointError(
          `${path}: not a regular file (expected a llama2.c .bin or a Hugging Face folder)`,
        );
      }
      const head = new Uint8Array(Math.min(HEADER_BYTES, st.size));
      await fh.read(head, 0, head.byteLength, 0);
      checkLlama2cSize(readHeader(head, path), st.size, path);
    } finally {
      await fh.close();
    }
    bytes = await fs.readFile(path);
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError(`${path}: cannot read (${(err as Error).message})`);
  }
  const loaded = modelFromLlama2c(bytes, path);
  await useDefaultBackend();
  return loaded;
}
