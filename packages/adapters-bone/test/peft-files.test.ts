import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  noGrad,
  Rng,
  randn,
  readSafetensorsFile,
  type Tensor,
  writeSafetensorsFile,
} from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { inject, load } from '../src/index';
import { snapshot, ToyModel } from './helpers';

const tmp = () => mkdtemp(join(tmpdir(), 't2-bone-'));
const x = () => randn([2, 3, 8], { rng: new Rng(11) });

function randomise(tensors: Tensor[], seed: number): void {
  const rng = new Rng(seed);
  for (const t of tensors) for (let i = 0; i < t.size; i++) t.data[i] = 0.1 * rng.normal();
}

describe.each([
  ['Bone', true],
  ['BAT', 'bat'],
] as const)('%s adapter folder', (_label, initWeights) => {
  it('save → load into a fresh model gives identical outputs', async () => {
    const dir = await tmp();
    const model = new ToyModel();
    const handle = inject(model, {
      r: 4,
      targetModules: ['q_proj', 'up_proj', 'down_proj'],
      initWeights,
      baseModelNameOrPath: 'toy',
    });
    randomise(handle.trainableParameters(), 3);
    const expected = noGrad(() => model.forward(x())).data.slice();
    await handle.save(dir);

    const fresh = new ToyModel();
    const loaded = await load(dir, fresh);
    expect(noGrad(() => fresh.forward(x())).data).toEqual(expected);
    expect(loaded.targets()).toEqual(handle.targets());
    expect(loaded.config().initWeights).toBe(initWeights);
    expect(fresh.numParameters(true)).toBe(handle.numTrainable());
  });

  it("writes PEFT's config fields and key names", async () => {
    const dir = await tmp();
    const handle = inject(new ToyModel(), {
      r: 4,
      targetModules: 'all-linear',
      initWeights,
      layersToTransform: [1],
    });
    await handle.save(dir, { baseModelNameOrPath: 'karpathy/stories260K' });
    const cfg = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      peft_type: 'BONE',
      task_type: 'CAUSAL_LM',
      bias: 'none',
      r: 4,
      init_weights: initWeights,
      base_model_name_or_path: 'karpathy/stories260K',
      layers_to_transform: [1],
      // 'all-linear' is saved as the names it stood for, as PEFT does.
      target_modules: ['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj'],
    });
    const file = await readSafetensorsFile(join(dir, 'adapter_model.safetensors'));
    expect(file.metadata).toEqual({ format: 'pt' });
    expect([...file.tensors.keys()].sort()).toEqual(
      handle
        .targets()
        .map((p) => `base_model.model.${p}.bone_block`)
        .sort(),
    );
    expect(
      file.tensors.get('base_model.model.model.layers.1.self_attn.q_proj.bone_block')!.shape,
    ).toEqual(initWeights === 'bat' ? [2, 4, 4] : [4, 8]);
  });
});

/** Writes a PEFT folder by hand, as Python would. */
async function writeFolder(
  dir: string,
  config: Record<string, unknown>,
  tensors: Map<string, Tensor>,
): Promise<void> {
  await writeFile(join(dir, 'adapter_config.json'), JSON.stringify(config));
  await writeSafetensorsFile(join(dir, 'adapter_model.safetensors'), tensors);
}

describe('loading', () => {
  const base = {
    peft_type: 'BONE',
    r: 4,
    init_weights: true,
    target_modules: ['q_proj'],
    task_type: 'CAUSAL_LM',
  };
  const key = (i: number, suffix = 'bone_block') =>
    `base_model.model.model.layers.${i}.self_attn.q_proj.${suffix}`;
  const blocks = (suffix = 'bone_block', shape = [4, 8]) =>
    new Map([0, 1].map((i) => [key(i, suffix), randn(shape, { rng: new Rng(i) })]));

  it("accepts MiSS files (peft_type 'MISS', '.miss_block' keys)", async () => {
    const dir = await tmp();
    const tensors = blocks('miss_block');
    await writeFolder(dir, { ...base, peft_type: 'MISS', miss_dropout: 0, mini_r: 1 }, tensors);
    const model = new ToyModel();
    const handle = await load(dir, model, { adapterName: 'miss' });
    expect(handle.activeAdapter).toBe('miss');
    expect(handle.layer('model.layers.1.self_attn.q_proj').block('miss').data).toEqual(
      tensors.get(key(1, 'miss_block'))!.data,
    );
  });

  it('names the module and both shapes when a block does not fit', async () => {
    const dir = await tmp();
    await writeFolder(dir, base, blocks('bone_block', [4, 6]));
    const model = new ToyModel();
    const before = snapshot(model);
    await expect(load(dir, model)).rejects.toThrow(
      /module 'model.layers.0.self_attn.q_proj' \(weight \[8, 8\]\) needs a block of shape \[4, 8\], but '.*q_proj.bone_block' has shape \[4, 6\]/,
    );
    expect(snapshot(model)).toEqual(before);
    expect(model.numParameters(true)).toBe(model.numParameters());
  });

  it('rejects other methods, missing and unexpected blocks', async () => {
    const other = await tmp();
    await writeFolder(other, { ...base, peft_type: 'LORA' }, blocks());
    await expect(load(other, new ToyModel())).rejects.toThrow(
      /peft_type "LORA" is not a Bone adapter/,
    );

    const missing = await tmp();
    await writeFolder(missing, base, new Map([[key(0), randn([4, 8])]]));
    await expect(load(missing, new ToyModel())).rejects.toThrow(
      /no bone_block for module\(s\) model.layers.1.self_attn.q_proj/,
    );

    const extra = await tmp();
    await writeFolder(extra, { ...base, layers_to_transform: [0] }, blocks());
    await expect(load(extra, new ToyModel())).rejects.toThrow(
      /blocks for model.layers.1.self_attn.q_proj are not selected/,
    );

    const absent = await tmp();
    await writeFolder(
      absent,
      base,
      new Map([
        ...blocks(),
        ['base_model.model.model.layers.9.self_attn.q_proj.bone_block', randn([4, 8])],
      ]),
    );
    await expect(load(absent, new ToyModel())).rejects.toThrow(
      /module 'model.layers.9.self_attn.q_proj', which the model does not have/,
    );

    const wrongKey = await tmp();
    await writeFolder(
      wrongKey,
      base,
      new Map([['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', randn([4, 8])]]),
    );
    await expect(load(wrongKey, new ToyModel())).rejects.toThrow(/is not a BONE block/);

    await expect(load(join(other, 'nowhere'), new ToyModel())).rejects.toThrow(
      /nowhere: no such adapter folder/,
    );
  });
});
