import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  bf16ToF32,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  noGrad,
  parseSafetensors,
  saveSafetensorsFolder,
  type Tensor,
} from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  type LlamaForCausalLM,
  loadHfFolder,
  loadLlama2cFile,
  loadModel,
  modelFromHfTensors,
  modelFromLlama2c,
  saveHfFolder,
  toHfConfig,
} from '../src/index';
import { stories260K, withTempDir } from './helpers';
import { randomModel, tinyConfig } from './tiny-model';

function expectSameParameters(
  a: LlamaForCausalLM,
  b: LlamaForCausalLM,
  map: (x: number) => number = (x) => x,
) {
  const sa = a.stateDict();
  const sb = b.stateDict();
  expect([...sb.keys()].sort()).toEqual([...sa.keys()].sort());
  for (const [name, t] of sa) {
    const u = sb.get(name)!;
    expect(u.shape, name).toEqual(t.shape);
    const want = Float32Array.from(t.data, map);
    // Bitwise: Float32Array equality through their bytes.
    expect(
      Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(
        Buffer.from(want.buffer),
      ),
      name,
    ).toBe(true);
  }
}

function logits(model: LlamaForCausalLM, ids: number[]): Float32Array {
  return noGrad(() => model.forward([ids]).data.slice());
}

describe('Hugging Face folders', () => {
  it('save → load is bit-identical (F32), for tied llama and untied qwen2', async () => {
    for (const overrides of [
      { tieWordEmbeddings: true },
      { modelType: 'qwen2' as const, qkvBias: true },
    ]) {
      const model = randomModel(tinyConfig(overrides), 2);
      await withTempDir(async (dir) => {
        await saveHfFolder(model, dir);
        const loaded = await loadHfFolder(dir);
        expectSameParameters(model, loaded.model);
        expect(loaded.config.tieWordEmbeddings).toBe(model.config.tieWordEmbeddings);
        expect(loaded.config.qkvBias).toBe(model.config.qkvBias);
        expect(loaded.model.lm_head === null).toBe(model.config.tieWordEmbeddings);
        expect(logits(loaded.model, [1, 2, 3])).toEqual(logits(model, [1, 2, 3]));
        // Saving what was loaded writes the same bytes.
        await saveHfFolder(loaded.model, join(dir, 'again'));
        expect(
          (await readFile(join(dir, 'again/model.safetensors'))).equals(
            await readFile(join(dir, 'model.safetensors')),
          ),
        ).toBe(true);
      });
    }
  });

  it.each([
    ['BF16', (x: number) => bf16ToF32(f32ToBf16(x))],
    ['F16', (x: number) => f16ToF32(f32ToF16(x))],
  ] as const)('loads %s weights as their float32 values', async (dtype, round) => {
    const model = randomModel(tinyConfig(), 4);
    await withTempDir(async (dir) => {
      await saveHfFolder(model, dir, { dtype });
      const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
      expect(config.torch_dtype).toBe(dtype === 'BF16' ? 'bfloat16' : 'float16');
      const loaded = await loadHfFolder(dir);
      expectSameParameters(model, loaded.model, round);
      const diff = logits(loaded.model, [4, 5, 6]).map((v, i) =>
        Math.abs(v - logits(model, [4, 5, 6])[i]!),
      );
      expect(Math.max(...diff)).toBeLessThan(dtype === 'BF16' ? 0.1 : 0.01);
      expect(Math.max(...diff)).toBeGreaterThan(0);
    });
  });

  it('loads sharded checkpoints through model.safetensors.index.json', async () => {
    const model = randomModel(tinyConfig({ tieWordEmbeddings: false }), 6);
    await withTempDir(async (dir) => {
      await saveHfFolder(model, dir, { maxShardBytes: 4096 });
      const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
      const shards = new Set(Object.values(index.weight_map as Record<string, string>));
      expect(shards.size).toBeGreaterThan(2);
      const loaded = await loadHfFolder(dir);
      expectSameParameters(model, loaded.model);
    });
  });

  it('builds a model from parsed files without touching the file system (browser path)', async () => {
    const config = JSON.parse(await readFile(join(stories260K.hf(), 'config.json'), 'utf8'));
    const parsed = parseSafetensors(
      await readFile(join(stories260K.hf(), 'model.safetensors')),
      'model.safetensors',
    );
    const { model } = modelFromHfTensors({
      config,
      tensors: parsed.tensors,
      dtypes: parsed.dtypes,
    });
    const reference = (await loadHfFolder(stories260K.hf())).model;
    expect(logits(model, [1, 461, 461])).toEqual(logits(reference, [1, 461, 461]));
    parsed.tensors.delete('model.norm.weight');
    expect(() =>
      modelFromHfTensors({ config, tensors: parsed.tensors, fileName: 'upload.safetensors' }),
    ).toThrow(/upload\.safetensors: missing tensor 'model\.norm\.weight'/);
  });

  it('the stories260K folder holds the .bin weights with q/k rows permuted like the reference converter', async () => {
    const fromBin = (await loadLlama2cFile(stories260K.bin())).model;
    const fromHf = (await loadHfFolder(stories260K.hf())).model;
    expectSameParameters(fromBin, fromHf);
    const dispatched = await loadModel(stories260K.bin());
    expect(dispatched.tokenizer).toBeUndefined();
    expect((await loadModel(stories260K.hf())).config.numKeyValueHeads).toBe(4);
  });
});

/** Writes a legacy llama2.c file for a model, undoing the rotate-half reordering. */
function toLlama2c(model: LlamaForCausalLM): Uint8Array {
  const c = model.config;
  const s = model.stateDict();
  const hs = c.headDim;
  const interleave = (t: Tensor, heads: number) => {
    const out = new Float32Array(t.size);
    const cols = t.shape[1]!;
    for (let h = 0; h < heads; h++) {
      for (let r = 0; r < hs; r++) {
        // Row r of the rotate-half layout came from row 2r (first half) or 2(r − hs/2) + 1.
        const dst = r < hs / 2 ? 2 * r : 2 * (r - hs / 2) + 1;
        out.set(
          t.data.subarray((h * hs + r) * cols, (h * hs + r + 1) * cols),
          (h * hs + dst) * cols,
        );
      }
    }
    return out;
  };
  const layers = (f: (p: string) => Float32Array | Tensor) =>
    Array.from({ length: c.numHiddenLayers }, (_, l) => {
      const v = f(`model.layers.${l}.`);
      return v instanceof Float32Array ? v : v.data;
    });
  const parts: Float32Array[] = [
    s.get('model.embed_tokens.weight')!.data,
    ...layers((p) => s.get(`${p}input_layernorm.weight`)!),
    ...layers((p) => interleave(s.get(`${p}self_attn.q_proj.weight`)!, c.numAttentionHeads)),
    ...layers((p) => interleave(s.get(`${p}self_attn.k_proj.weight`)!, c.numKeyValueHeads)),
    ...layers((p) => s.get(`${p}self_attn.v_proj.weight`)!),
    ...layers((p) => s.get(`${p}self_attn.o_proj.weight`)!),
    ...layers((p) => s.get(`${p}post_attention_layernorm.weight`)!),
    ...layers((p) => s.get(`${p}mlp.gate_proj.weight`)!),
    ...layers((p) => s.get(`${p}mlp.down_proj.weight`)!),
    ...layers((p) => s.get(`${p}mlp.up_proj.weight`)!),
    s.get('model.norm.weight')!.data,
    new Float32Array(c.maxPositionEmbeddings * hs), // freq_cis_real and _imag, unused
  ];
  if (!c.tieWordEmbeddings) parts.push(s.get('lm_head.weight')!.data);
  const header = new Int32Array([
    c.hiddenSize,
    c.intermediateSize,
    c.numHiddenLayers,
    c.numAttentionHeads,
    c.numKeyValueHeads,
    c.tieWordEmbeddings ? c.vocabSize : -c.vocabSize,
    c.maxPositionEmbeddings,
  ]);
  const total = parts.reduce((n, p) => n + p.length, header.length);
  const out = new Float32Array(total);
  new Int32Array(out.buffer, 0, 7).set(header);
  let at = 7;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return new Uint8Array(out.buffer);
}

describe('llama2.c checkpoints', () => {
  it.each([true, false])('round-trips a model (shared classifier: %s)', (tied) => {
    const model = randomModel(tinyConfig({ tieWordEmbeddings: tied, rmsNormEps: 1e-5 }), 8);
    const { model: loaded, config } = modelFromLlama2c(toLlama2c(model), 'tiny.bin');
    expect(config.tieWordEmbeddings).toBe(tied);
    expectSameParameters(model, loaded);
    expect(logits(loaded, [1, 9, 3])).toEqual(logits(model, [1, 9, 3]));
  });

  it('rejects truncated files, trailing bytes and versioned exports, naming the file', () => {
    const bytes = toLlama2c(randomModel(tinyConfig({ tieWordEmbeddings: false })));
    expect(() => modelFromLlama2c(bytes.subarray(0, bytes.length - 100), 'cut.bin')).toThrow(
      /cut\.bin: truncated: .* tensor 'wcls' is incomplete/,
    );
    expect(() => modelFromLlama2c(bytes.subarray(0, 20), 'tiny.bin')).toThrow(
      /tiny\.bin: truncated/,
    );
    const longer = new Uint8Array(bytes.length + 8);
    longer.set(bytes);
    expect(() => modelFromLlama2c(longer, 'long.bin')).toThrow(
      /long\.bin: 8 bytes after the last tensor/,
    );
    const versioned = bytes.slice();
    new DataView(versioned.buffer).setInt32(0, 0x616b3432, true);
    expect(() => modelFromLlama2c(versioned, 'v1.bin')).toThrow(
      /v1\.bin: a versioned llama2\.c export/,
    );
    const badHeader = bytes.slice();
    new DataView(badHeader.buffer).setInt32(12, 5, true);
    expect(() => modelFromLlama2c(badHeader, 'bad.bin')).toThrow(
      /bad\.bin: not a llama2\.c checkpoint: dim 16 is not a multiple of n_heads 5/,
    );
  });
});

describe('checkpoint errors name the file and the tensor', () => {
  async function savedFolder(dir: string, edit?: (config: Record<string, unknown>) => void) {
    const model = randomModel(tinyConfig(), 3);
    await saveHfFolder(model, dir);
    if (edit) {
      const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
      edit(config);
      await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    }
    return model;
  }

  it('missing, unknown and unsupported config keys', async () => {
    await withTempDir(async (dir) => {
      await savedFolder(dir, (c) => delete c.hidden_size);
      await expect(loadHfFolder(dir)).rejects.toThrow(/config\.json: missing key 'hidden_size'/);
    });
    await withTempDir(async (dir) => {
      await savedFolder(dir, (c) => (c.use_magic_attention = true));
      await expect(loadHfFolder(dir)).rejects.toThrow(
        /config\.json: unknown key 'use_magic_attention'/,
      );
      expect((await loadHfFolder(dir, { allowUnknownConfigKeys: true })).config.hiddenSize).toBe(
        16,
      );
    });
    await withTempDir(async (dir) => {
      await savedFolder(dir, (c) => (c.model_type = 'gpt2'));
      await expect(loadHfFolder(dir)).rejects.toThrow(/model_type 'gpt2' is not supported/);
    });
    await withTempDir(async (dir) => {
      await savedFolder(dir, (c) => (c.rope_scaling = { rope_type: 'yarn', factor: 4 }));
      await expect(loadHfFolder(dir)).rejects.toThrow(/rope_scaling type 'yarn' is not supported/);
    });
    await withTempDir(async (dir) => {
      await expect(loadHfFolder(dir)).rejects.toThrow(/no config\.json/);
    });
  });

  it('missing and extra tensors', async () => {
    await withTempDir(async (dir) => {
      const model = await savedFolder(dir);
      const state = model.stateDict();
      state.delete('model.layers.1.mlp.up_proj.weight');
      await saveSafetensorsFolder(dir, state);
      await expect(loadHfFolder(dir)).rejects.toThrow(
        /model\.safetensors: missing tensor 'model\.layers\.1\.mlp\.up_proj\.weight'/,
      );
      const extra = model.stateDict();
      extra.set(
        'model.layers.0.self_attn.q_proj.lora_A',
        model.stateDict().get('model.norm.weight')!,
      );
      await saveSafetensorsFolder(dir, extra);
      await expect(loadHfFolder(dir)).rejects.toThrow(
        /unexpected tensor 'model\.layers\.0\.self_attn\.q_proj\.lora_A'/,
      );
    });
  });

  it('shape mismatches', async () => {
    await withTempDir(async (dir) => {
      await savedFolder(dir, (c) => (c.intermediate_size = 20));
      await expect(loadHfFolder(dir)).rejects.toThrow(
        /model\.safetensors: tensor 'model\.layers\.0\.mlp\.gate_proj\.weight' has shape \[24, 16\], the config implies \[20, 16\]/,
      );
    });
  });

  it('truncated weight files', async () => {
    await withTempDir(async (dir) => {
      await savedFolder(dir);
      const file = join(dir, 'model.safetensors');
      const size = (await readFile(file)).length;
      await truncate(file, size - 64);
      await expect(loadHfFolder(dir)).rejects.toThrow(/model\.safetensors: tensor '.*'.*truncated/);
    });
  });

  it('unsupported dtypes', async () => {
    await withTempDir(async (dir) => {
      const model = await savedFolder(dir);
      // A safetensors file written by hand with one F64 tensor.
      const entries: Record<string, unknown> = {};
      const chunks: Uint8Array[] = [];
      let offset = 0;
      for (const [name, t] of model.stateDict()) {
        const f64 = name === 'model.norm.weight';
        const data = f64
          ? new Uint8Array(Float64Array.from(t.data).buffer)
          : new Uint8Array(t.data.slice().buffer);
        entries[name] = {
          dtype: f64 ? 'F64' : 'F32',
          shape: t.shape,
          data_offsets: [offset, offset + data.length],
        };
        chunks.push(data);
        offset += data.length;
      }
      let json = JSON.stringify(entries);
      json += ' '.repeat((8 - (json.length % 8)) % 8);
      const header = new Uint8Array(8);
      new DataView(header.buffer).setBigUint64(0, BigInt(json.length), true);
      await writeFile(
        join(dir, 'model.safetensors'),
        Buffer.concat([header, Buffer.from(json), ...chunks]),
      );
      await expect(loadHfFolder(dir)).rejects.toThrow(
        /model\.safetensors: tensor 'model\.norm\.weight' has dtype F64/,
      );
    });
  });

  it('saving refuses a model whose parameters are not the base model', async () => {
    const model = randomModel(tinyConfig());
    model
      .getSubmodule('model.layers.0.self_attn')
      .registerParameter('extra', model.stateDict().get('model.norm.weight')!);
    await withTempDir(async (dir) => {
      await expect(saveHfFolder(model, dir)).rejects.toThrow(
        /extra: model\.layers\.0\.self_attn\.extra/,
      );
    });
  });

  it('loadModel reports a path that does not exist', async () => {
    await expect(loadModel('/nonexistent/model')).rejects.toThrow(
      /\/nonexistent\/model: not found/,
    );
  });

  it('writes config.json that parses back to the same config', async () => {
    const model = randomModel(tinyConfig({ modelType: 'qwen2', qkvBias: true, ropeTheta: 1e6 }));
    await withTempDir(async (dir) => {
      await saveHfFolder(model, dir);
      const loaded = await loadHfFolder(dir);
      const { source: _a, ...want } = model.config;
      const { source: _b, ...got } = loaded.config;
      expect(got).toEqual(want);
      expect(toHfConfig(loaded.config).model_type).toBe('qwen2');
      await rm(join(dir, 'model.safetensors'));
      await expect(loadHfFolder(dir)).rejects.toThrow(
        /no model\.safetensors or model\.safetensors\.index\.json/,
      );
    });
  });
});
