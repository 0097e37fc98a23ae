import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  bf16DataOf,
  getBackend,
  noGrad,
  readSafetensorsFile,
  setBackend,
  type Tensor,
  writeSafetensorsFile,
} from '@t2/tensor-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FusedDecoder, type LlamaForCausalLM, loadHfFolder, saveHfFolder } from '../src/index';
import { withTempDir } from './helpers';
import { randomModel, tinyConfig } from './tiny-model';

// Column counts 24 and 36 cover the kernels' 8-value blocks and their 4-value tail;
// q/k/v biases as Qwen2 has them.
const configs = {
  tied: tinyConfig({
    hiddenSize: 24,
    intermediateSize: 36,
    vocabSize: 40,
    modelType: 'qwen2',
    qkvBias: true,
    oBias: false,
    tieWordEmbeddings: true,
    maxPositionEmbeddings: 128,
  }),
  untied: tinyConfig({
    hiddenSize: 24,
    intermediateSize: 36,
    vocabSize: 40,
    maxPositionEmbeddings: 128,
  }),
};

/** A projection's weight tensor by its parameter path. */
function weightOf(model: LlamaForCausalLM, layer: number, path: string): Tensor {
  return new Map(model.namedParameters()).get(`model.layers.${layer}.${path}.weight`)!;
}

function tokens(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7 + seed * 11 + ((i * i) % 5)) % 40);
}

/** Logits of a 70-token prompt (a 64-token chunk and a 6-token one), then 3 batched steps. */
function decodeAll(model: LlamaForCausalLM): Float32Array[] {
  const dec = FusedDecoder.create(model, 3, 80)!;
  try {
    const out = [dec.feed(0, tokens(70, 1)), dec.feed(1, [5]), dec.feed(2, tokens(3, 2))];
    out.push(...dec.step([0, 1, 2], [7, 8, 9]), ...dec.step([2, 0], [1, 2]));
    return out;
  } finally {
    dec.dispose();
  }
}

describe.each(Object.entries(configs))(
  'BF16 weights kept as stored (%s embeddings)',
  (_, config) => {
    beforeAll(async () => {
      await setBackend('wasm');
    });

    async function loadBoth(dir: string) {
      await saveHfFolder(randomModel(config, 3), dir, { dtype: 'BF16' });
      const kept = (await loadHfFolder(dir)).model;
      const widened = (await loadHfFolder(dir, { keepBf16: false })).model;
      return { kept, widened };
    }

    it('load into the wasm memory, where the fused decoder reads them in place, with the logits of float32 weights bit for bit', async () => {
      await withTempDir(async (dir) => {
        const { kept, widened } = await loadBoth(dir);
        const gate = weightOf(kept, 0, 'mlp.gate_proj');
        expect(bf16DataOf(gate)).not.toBeNull();
        expect(getBackend().decodeKernels!().residentBf16(bf16DataOf(gate)!.where)).not.toBeNull();
        expect(bf16DataOf(weightOf(widened, 0, 'mlp.gate_proj'))).toBeNull();
        const a = decodeAll(kept);
        const b = decodeAll(widened);
        expect(a).toEqual(b);
        // Decoding read the bits in place: nothing was widened.
        for (const [name, t] of kept.namedParameters()) {
          if (name.endsWith('proj.weight') || name.endsWith('embed_tokens.weight'))
            expect(bf16DataOf(t), name).not.toBeNull();
        }
      });
    });

    it('are widened exactly when an op reads them: the ops path gives the float32 logits', async () => {
      await withTempDir(async (dir) => {
        const { kept, widened } = await loadBoth(dir);
        const logits = (m: LlamaForCausalLM) =>
          noGrad(() => m.forward([tokens(12, 4)]).data.slice());
        expect(logits(kept)).toEqual(logits(widened));
        expect(bf16DataOf(weightOf(kept, 1, 'self_attn.q_proj'))).toBeNull();
        // Once widened, the fused decoder uses float32 copies and still agrees.
        expect(decodeAll(kept)).toEqual(decodeAll(widened));
      });
    });

    it('a decoder whose in-place weight was widened since refuses to run instead of reading freed memory', async () => {
      await withTempDir(async (dir) => {
        const { kept } = await loadBoth(dir);
        const dec = FusedDecoder.create(kept, 1, 16)!;
        expect(dec.feed(0, [1, 2])).toHaveLength(40);
        void weightOf(kept, 0, 'mlp.down_proj').data;
        expect(() => dec.feed(0, [3])).toThrow(/after release/);
        dec.dispose();
      });
    });
  },
);

describe('BF16 checkpoints and the finite check', () => {
  it('refuses a NaN among kept bfloat16 bits, naming the tensor and element, without widening', async () => {
    await setBackend('wasm');
    await withTempDir(async (dir) => {
      await saveHfFolder(randomModel(configs.untied, 5), dir, { dtype: 'BF16' });
      const file = join(dir, 'model.safetensors');
      const { tensors } = await readSafetensorsFile(file);
      tensors.get('model.layers.1.mlp.up_proj.weight')!.data[2 * 24 + 5] = Number.NaN;
      await writeSafetensorsFile(file, tensors, { dtype: 'BF16' });
      await expect(loadHfFolder(dir)).rejects.toThrow(
        /model\.layers\.1\.mlp\.up_proj\.weight.*holds NaN at \[2, 5\]/,
      );
      await writeFile(join(dir, 'unused'), '');
    });
  });
});
