import { Linear, noGrad, Rng, randn } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { BoneLinear, boneModelOf, findTargetModules, inject } from '../src/index';
import { expectClose, snapshot, ToyModel } from './helpers';

const input = () => randn([2, 3, 8], { rng: new Rng(11) });

/** Fills every block of the active adapter with small random values. */
function randomise(handle: ReturnType<typeof inject>, seed = 4, std = 0.1): void {
  const rng = new Rng(seed);
  for (const t of handle.trainableParameters())
    for (let i = 0; i < t.size; i++) t.data[i] = std * rng.normal();
}

describe('target modules', () => {
  const model = new ToyModel();
  const names = (sel: Parameters<typeof findTargetModules>[1]) => findTargetModules(model, sel);

  it('matches suffixes, exact names and regexes like PEFT', () => {
    expect(names({ targetModules: ['q_proj', 'v_proj'] })).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.v_proj',
    ]);
    expect(names({ targetModules: ['model.layers.1.mlp.up_proj'] })).toEqual([
      'model.layers.1.mlp.up_proj',
    ]);
    expect(names({ targetModules: String.raw`.*\.1\.mlp\.(up|down)_proj` })).toEqual([
      'model.layers.1.mlp.up_proj',
      'model.layers.1.mlp.down_proj',
    ]);
    // A regex must match the whole name.
    expect(() => names({ targetModules: 'q_proj' })).toThrow(/matched no Linear layer/);
  });

  it("'all-linear' takes every Linear except lm_head", () => {
    const all = names({ targetModules: 'all-linear' });
    expect(all).toHaveLength(14);
    expect(all).not.toContain('lm_head');
  });

  it('layersToTransform and excludeModules narrow the match', () => {
    expect(names({ targetModules: ['q_proj', 'down_proj'], layersToTransform: 1 })).toEqual([
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.mlp.down_proj',
    ]);
    expect(
      names({ targetModules: ['q_proj'], layersToTransform: [0], layersPattern: 'layers' }),
    ).toEqual(['model.layers.0.self_attn.q_proj']);
    expect(
      names({ targetModules: 'all-linear', excludeModules: ['mlp.gate_proj', 'o_proj'] }),
    ).toHaveLength(10);
  });

  it('rejects non-Linear targets, empty matches, and regex + layersToTransform', () => {
    expect(() => names({ targetModules: ['norm'] })).toThrow(
      /'model.norm' is a RMSNorm; only Linear/,
    );
    expect(() => names({ targetModules: ['nope'] })).toThrow(/\["nope"\] matched no Linear layer/);
    expect(() => names({ targetModules: ['q_proj'], layersToTransform: 7 })).toThrow(
      /in layers \[7\]/,
    );
    expect(() => names({ targetModules: '.*q_proj', layersToTransform: 0 })).toThrow(/regex/);
  });
});

describe('inject', () => {
  it('wraps the targets, freezes the base and leaves the output unchanged (zero init)', () => {
    const model = new ToyModel();
    const x = input();
    const before = noGrad(() => model.forward(x)).data.slice();
    const nBase = model.numParameters();
    const handle = inject(model, { r: 4, targetModules: ['q_proj', 'v_proj', 'down_proj'] });
    expect(handle.targets()).toHaveLength(6);
    for (const path of handle.targets())
      expect(model.getSubmodule(path)).toBeInstanceOf(BoneLinear);
    // Bone: r × out per layer; q/v are 8 → 8, down_proj 12 → 8.
    expect(handle.numTrainable()).toBe(6 * 4 * 8);
    expect(model.numParameters(true)).toBe(handle.numTrainable());
    expect(model.numParameters()).toBe(nBase + handle.numTrainable());
    const summary = handle.trainableSummary();
    expect(summary.trainable).toBe(192);
    expect(summary.percent).toBeCloseTo((100 * 192) / (nBase + 192), 10);
    expect(model.trainableParameters()).toEqual(handle.trainableParameters());
    expect(noGrad(() => model.forward(x)).data).toEqual(before);
    // PEFT's in-memory names.
    expect(model.stateDict().has('model.layers.0.self_attn.q_proj.base_layer.weight')).toBe(true);
    expect(model.stateDict().has('model.layers.0.self_attn.q_proj.bone_block.default')).toBe(true);
    expect(boneModelOf(model)).toBe(handle);
  });

  it('BAT blocks are (out/r, r, r) and need divisible shapes', () => {
    const model = new ToyModel({ inter: 12 });
    const handle = inject(model, { r: 4, targetModules: 'all-linear', initWeights: 'bat' });
    expect(handle.layer('model.layers.0.mlp.up_proj').block('default').shape).toEqual([3, 4, 4]);
    const bad = new ToyModel({ inter: 10 });
    const before = snapshot(bad);
    expect(() => inject(bad, { r: 4, targetModules: 'all-linear', initWeights: 'bat' })).toThrow(
      /BAT: 'model.layers.0.mlp.gate_proj' has weight \[10, 8\], which does not split into 4×4 blocks/,
    );
    // Nothing was wrapped or frozen by the failed call.
    expect(bad.namedModules().some(([, m]) => m instanceof BoneLinear)).toBe(false);
    expect(snapshot(bad)).toEqual(before);
    expect(bad.numParameters(true)).toBe(bad.numParameters());
  });

  it('Bone pads when in % r != 0', () => {
    const model = new ToyModel({ inter: 10 });
    const handle = inject(model, { r: 4, targetModules: ['down_proj'] });
    randomise(handle);
    const layer = handle.layer('model.layers.0.mlp.down_proj');
    expect(layer.block('default').shape).toEqual([4, 8]);
    const x = randn([3, 10], { rng: new Rng(2) });
    const y = noGrad(() => layer.forward(x));
    const merged = noGrad(() => new Linear(10, 8, { bias: false }));
    merged.weight.data.set(layer.effectiveWeight().data);
    expectClose(y.data, noGrad(() => merged.forward(x)).data, 1e-5);
  });

  it('validates the config', () => {
    const model = new ToyModel();
    expect(() => inject(model, { r: 0, targetModules: ['q_proj'] })).toThrow(
      /r must be a positive integer/,
    );
    expect(() =>
      inject(model, { r: 2, targetModules: ['q_proj'], initWeights: 'mini' as never }),
    ).toThrow(/initWeights/);
  });
});

describe('several adapters', () => {
  it('setActive switches the forward pass and what is trainable', () => {
    const model = new ToyModel();
    const x = input();
    const base = noGrad(() => model.forward(x)).data.slice();
    const handle = inject(
      model,
      { r: 4, targetModules: ['q_proj', 'up_proj'] },
      { adapterName: 'a' },
    );
    randomise(handle, 1);
    const yA = noGrad(() => model.forward(x)).data.slice();
    expect(
      inject(
        model,
        { r: 2, targetModules: ['v_proj', 'up_proj'], initWeights: 'bat' },
        { adapterName: 'b' },
      ),
    ).toBe(handle);
    expect(handle.activeAdapter).toBe('b');
    randomise(handle, 2);
    const yB = noGrad(() => model.forward(x)).data.slice();
    expect(yA).not.toEqual(base);
    expect(yB).not.toEqual(yA);
    expect(handle.adapterNames).toEqual(['a', 'b']);
    // up_proj carries both adapters.
    expect(handle.layer('model.layers.0.mlp.up_proj').adapterNames).toEqual(['a', 'b']);
    expect(handle.trainableParameters().every((t) => t.requiresGrad)).toBe(true);
    expect(handle.trainableParameters('a').some((t) => t.requiresGrad)).toBe(false);
    handle.setActive('a');
    expect(noGrad(() => model.forward(x)).data).toEqual(yA);
    expect(model.numParameters(true)).toBe(handle.numTrainable('a'));
    expect(() => inject(model, { r: 4, targetModules: ['q_proj'] }, { adapterName: 'a' })).toThrow(
      /already has an adapter named 'a'/,
    );
    expect(() => handle.setActive('zzz')).toThrow(/no adapter named 'zzz'/);
    handle.deleteAdapter('a');
    expect(handle.adapterNames).toEqual(['b']);
    expect(handle.activeAdapter).toBe('b');
    expect(model.getSubmodule('model.layers.0.self_attn.q_proj')).toBeInstanceOf(Linear);
    expect(noGrad(() => model.forward(x)).data).toEqual(yB);
  });

  it('disable / withDisabled give the base model', () => {
    const model = new ToyModel();
    const x = input();
    const base = noGrad(() => model.forward(x)).data.slice();
    const handle = inject(model, { r: 4, targetModules: 'all-linear' });
    randomise(handle);
    const adapted = noGrad(() => model.forward(x)).data.slice();
    expect(handle.withDisabled(() => noGrad(() => model.forward(x)).data.slice())).toEqual(base);
    expect(noGrad(() => model.forward(x)).data).toEqual(adapted);
    handle.merge();
    // Disabling takes the merged update back out first.
    expectClose(
      handle.withDisabled(() => noGrad(() => model.forward(x)).data.slice()),
      base,
      1e-5,
    );
    expect(handle.merged).toBe(false);
    handle.disable();
    expectClose(noGrad(() => model.forward(x)).data, base, 1e-6);
    handle.enable();
    expectClose(noGrad(() => model.forward(x)).data, adapted, 1e-5);
  });
});

describe.each([
  ['Bone', true],
  ['BAT', 'bat'],
] as const)('%s merge and unload', (_label, initWeights) => {
  it('merge → unmerge restores the weights; merged forward equals adapted forward', () => {
    const model = new ToyModel();
    const x = input();
    const handle = inject(model, { r: 4, targetModules: 'all-linear', initWeights });
    randomise(handle, 6, 0.2);
    const original = snapshot(model);
    const adapted = noGrad(() => model.forward(x)).data.slice();
    handle.merge();
    handle.merge(); // merging twice is a no-op
    expectClose(noGrad(() => model.forward(x)).data, adapted, 1e-5);
    handle.unmerge();
    for (const [name, values] of snapshot(model)) expectClose(values, original.get(name)!, 1e-5);
  });

  it('mergeAndUnload leaves plain Linear layers with Hugging Face names', () => {
    const model = new ToyModel();
    const names = [...model.stateDict().keys()];
    const x = input();
    const handle = inject(model, { r: 4, targetModules: 'all-linear', initWeights });
    randomise(handle, 7, 0.2);
    const adapted = noGrad(() => model.forward(x)).data.slice();
    expect(handle.mergeAndUnload()).toBe(model);
    expect([...model.stateDict().keys()]).toEqual(names);
    expect(model.namedModules().some(([, m]) => m instanceof BoneLinear)).toBe(false);
    expectClose(noGrad(() => model.forward(x)).data, adapted, 1e-5);
    expect(boneModelOf(model)).toBeUndefined();
  });

  it('unload restores the original model', () => {
    const model = new ToyModel();
    const original = snapshot(model);
    const x = input();
    const base = noGrad(() => model.forward(x)).data.slice();
    const handle = inject(model, { r: 4, targetModules: 'all-linear', initWeights });
    randomise(handle);
    handle.merge();
    handle.unload();
    expect([...model.stateDict().keys()]).toEqual([...original.keys()]);
    expectClose(noGrad(() => model.forward(x)).data, base, 1e-5);
  });
});

describe('adapter parameter names', () => {
  it("names each trainable block <layer path>.bone_block, PEFT's key without the adapter", () => {
    const model = new ToyModel();
    const handle = inject(model, { r: 4, targetModules: ['q_proj'] });
    const named = handle.namedAdapterParameters();
    expect(named.map(([n]) => n)).toEqual([
      'model.layers.0.self_attn.q_proj.bone_block',
      'model.layers.1.self_attn.q_proj.bone_block',
    ]);
    // the same tensors the optimizer gets
    expect(named.map(([, t]) => t)).toEqual(handle.trainableParameters());
  });
});
