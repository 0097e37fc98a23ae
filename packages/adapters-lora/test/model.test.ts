import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdamW,
  Linear,
  mean,
  noGrad,
  Rng,
  randn,
  readSafetensorsFile,
  square,
  sub,
  type Tensor,
  tidy,
  writeSafetensorsFile,
} from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { findTargetModules, inject, LoraLinear, load, loraModelOf } from '../src/index';
import { expectClose, snapshot, ToyModel } from './helpers';

const tmp = () => mkdtemp(join(tmpdir(), 't2-lora-'));
const input = () => randn([2, 3, 8], { rng: new Rng(11) });

function randomise(tensors: Tensor[], seed: number, std = 0.1): void {
  const rng = new Rng(seed);
  for (const t of tensors) for (let i = 0; i < t.size; i++) t.data[i] = std * rng.normal();
}

describe('target modules (the copy in this package)', () => {
  const model = new ToyModel();
  it('suffixes, regex, all-linear without lm_head, layersToTransform', () => {
    expect(findTargetModules(model, { targetModules: ['o_proj'] })).toEqual([
      'model.layers.0.self_attn.o_proj',
      'model.layers.1.self_attn.o_proj',
    ]);
    expect(
      findTargetModules(model, { targetModules: String.raw`model\.layers\.0\.mlp\..*` }),
    ).toHaveLength(3);
    expect(findTargetModules(model, { targetModules: 'all-linear' })).not.toContain('lm_head');
    expect(findTargetModules(model, { targetModules: ['k_proj'], layersToTransform: [1] })).toEqual(
      ['model.layers.1.self_attn.k_proj'],
    );
    expect(() => findTargetModules(model, { targetModules: ['norm'] })).toThrow(
      /only Linear layers/,
    );
  });
});

describe('LoraModel', () => {
  it('freezes the base, counts r·(in+out) per layer, several adapters, disable', () => {
    const model = new ToyModel();
    const x = input();
    const base = noGrad(() => model.forward(x)).data.slice();
    const handle = inject(
      model,
      { r: 2, targetModules: ['q_proj', 'down_proj'] },
      { adapterName: 'a' },
    );
    expect(handle.numTrainable()).toBe(2 * (2 * (8 + 8) + 2 * (12 + 8)));
    expect(model.numParameters(true)).toBe(handle.numTrainable());
    expect(model.stateDict().has('model.layers.1.mlp.down_proj.lora_A.a.weight')).toBe(true);
    expect(noGrad(() => model.forward(x)).data).toEqual(base);
    randomise(handle.trainableParameters(), 1);
    const yA = noGrad(() => model.forward(x)).data.slice();
    inject(model, { r: 4, loraAlpha: 8, targetModules: 'all-linear' }, { adapterName: 'b' });
    expect(loraModelOf(model)!.activeAdapter).toBe('b');
    randomise(handle.trainableParameters(), 2);
    const yB = noGrad(() => model.forward(x)).data.slice();
    expect(yB).not.toEqual(yA);
    expect(model.numParameters(true)).toBe(handle.numTrainable('b'));
    handle.setActive('a');
    expect(noGrad(() => model.forward(x)).data).toEqual(yA);
    expect(model.numParameters(true)).toBe(handle.numTrainable('a'));
    expect(handle.withDisabled(() => noGrad(() => model.forward(x)).data.slice())).toEqual(base);
    handle.deleteAdapter('a');
    expect(handle.activeAdapter).toBe('b');
    expect(noGrad(() => model.forward(x)).data).toEqual(yB);
  });

  it('rank_pattern and alpha_pattern set per-module r and alpha', () => {
    const model = new ToyModel();
    const handle = inject(model, {
      r: 2,
      loraAlpha: 4,
      targetModules: ['q_proj', 'up_proj'],
      rankPattern: { up_proj: 6 },
      alphaPattern: { 'layers.1.self_attn.q_proj': 1 },
    });
    expect(handle.layer('model.layers.0.mlp.up_proj').adapterInfo('default')).toMatchObject({
      r: 6,
      scaling: 4 / 6,
    });
    expect(handle.layer('model.layers.0.self_attn.q_proj').adapterInfo('default')).toMatchObject({
      r: 2,
      scaling: 2,
    });
    expect(handle.layer('model.layers.1.self_attn.q_proj').adapterInfo('default')).toMatchObject({
      r: 2,
      scaling: 0.5,
    });
  });

  it('merge → unmerge, mergeAndUnload to plain Hugging Face names', () => {
    const model = new ToyModel();
    const names = [...model.stateDict().keys()];
    const x = input();
    const handle = inject(model, { r: 4, loraAlpha: 8, targetModules: 'all-linear' });
    randomise(handle.trainableParameters(), 3, 0.2);
    const original = snapshot(model);
    const y = noGrad(() => model.forward(x)).data.slice();
    handle.merge();
    expectClose(noGrad(() => model.forward(x)).data, y, 1e-5);
    handle.unmerge();
    for (const [name, w] of snapshot(model)) expectClose(w, original.get(name)!, 1e-5);
    handle.mergeAndUnload();
    expect([...model.stateDict().keys()]).toEqual(names);
    expect(model.namedModules().some(([, m]) => m instanceof LoraLinear)).toBe(false);
    expect(model.getSubmodule('lm_head')).toBeInstanceOf(Linear);
    expectClose(noGrad(() => model.forward(x)).data, y, 1e-5);
  });

  it('AdamW on A and B lowers the loss and leaves the base untouched', () => {
    const model = new ToyModel();
    const target = noGrad(() => new ToyModel({ seed: 2 }).forward(input()));
    const handle = inject(
      model,
      { r: 4, loraAlpha: 8, targetModules: 'all-linear' },
      { rng: new Rng(1) },
    );
    const base = snapshot(model);
    const opt = new AdamW(handle.trainableParameters(), { lr: 1e-2, weightDecay: 0 });
    const x = input();
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      losses.push(
        tidy(() => {
          opt.zeroGrad();
          const l = mean(square(sub(model.forward(x), target)));
          l.backward();
          opt.step();
          return l.item();
        }),
      );
    }
    expect(losses.at(-1)!).toBeLessThan(0.8 * losses[0]!);
    for (const [name, w] of snapshot(model)) {
      if (name.includes('.lora_')) continue;
      expect(w).toEqual(base.get(name));
    }
  });
});

describe('adapter folders', () => {
  it("save → load gives identical outputs and PEFT's config and keys", async () => {
    const dir = await tmp();
    const model = new ToyModel();
    const handle = inject(model, {
      r: 4,
      loraAlpha: 16,
      loraDropout: 0.05,
      targetModules: 'all-linear',
      layersToTransform: [0],
    });
    randomise(handle.trainableParameters(), 4);
    const x = input();
    const y = noGrad(() => model.eval().forward(x)).data.slice();
    await handle.save(dir, { baseModelNameOrPath: 'karpathy/stories260K' });
    const cfg = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      bias: 'none',
      r: 4,
      lora_alpha: 16,
      lora_dropout: 0.05,
      init_lora_weights: true,
      layers_to_transform: [0],
      base_model_name_or_path: 'karpathy/stories260K',
      target_modules: ['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj'],
    });
    const file = await readSafetensorsFile(join(dir, 'adapter_model.safetensors'));
    expect(
      file.tensors.get('base_model.model.model.layers.0.mlp.down_proj.lora_A.weight')!.shape,
    ).toEqual([4, 12]);
    expect(
      file.tensors.get('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight')!.shape,
    ).toEqual([8, 4]);
    expect(file.tensors.size).toBe(14);
    const fresh = new ToyModel();
    await load(dir, fresh);
    expect(noGrad(() => fresh.eval().forward(x)).data).toEqual(y);
  });

  async function folder(
    config: Record<string, unknown>,
    tensors: Map<string, Tensor>,
  ): Promise<string> {
    const dir = await tmp();
    await writeFile(join(dir, 'adapter_config.json'), JSON.stringify(config));
    await writeSafetensorsFile(join(dir, 'adapter_model.safetensors'), tensors);
    return dir;
  }
  const cfg = {
    peft_type: 'LORA',
    r: 2,
    lora_alpha: 4,
    target_modules: ['q_proj'],
    layers_to_transform: [0],
  };
  const key = (w: 'A' | 'B') => `base_model.model.model.layers.0.self_attn.q_proj.lora_${w}.weight`;

  it('names the module and both shapes when weights do not fit', async () => {
    const dir = await folder(
      cfg,
      new Map([
        [key('A'), randn([2, 8])],
        [key('B'), randn([6, 2])],
      ]),
    );
    const model = new ToyModel();
    const before = snapshot(model);
    await expect(load(dir, model)).rejects.toThrow(
      /module 'model.layers.0.self_attn.q_proj' \(weight \[8, 8\], r = 2\) needs lora_B of shape \[8, 2\], but '.*lora_B.weight' has shape \[6, 2\]/,
    );
    expect(snapshot(model)).toEqual(before);
  });

  it('rejects what t2 cannot reproduce', async () => {
    const ok = new Map([
      [key('A'), randn([2, 8])],
      [key('B'), randn([8, 2])],
    ]);
    await expect(
      load(await folder({ ...cfg, use_dora: true }, ok), new ToyModel()),
    ).rejects.toThrow(/use_dora: true is not supported/);
    await expect(
      load(await folder({ ...cfg, init_lora_weights: 'olora' }, ok), new ToyModel()),
    ).rejects.toThrow(/init_lora_weights "olora" is not supported/);
    await expect(
      load(await folder({ ...cfg, peft_type: 'BONE' }, ok), new ToyModel()),
    ).rejects.toThrow(/is not a LoRA adapter/);
    await expect(
      load(await folder({ ...cfg, layers_to_transform: [0, 1] }, ok), new ToyModel()),
    ).rejects.toThrow(/no LoRA weights for module\(s\) model.layers.1.self_attn.q_proj/);
    await expect(
      load(await folder(cfg, new Map([[key('A'), randn([2, 8])]])), new ToyModel()),
    ).rejects.toThrow(/has no lora_B.weight/);
  });
});
