import { describe, expect, it } from 'vitest';
import * as t from './t';

// A minimal adapter method to drive the shared handle: a full ΔW beside each Linear,
// y = base(x) + x ΔWᵀ, merged as W += ΔW.

interface DeltaConfig extends t.TargetSelection {
  /** Layers whose path contains this fail to take the adapter (to test rollback). */
  failOn?: string;
}

/** The adapter weights, kept in a child that is rebuilt when one is removed. */
class Deltas extends t.Module {
  constructor(entries: [string, t.Tensor][] = []) {
    super();
    for (const [name, p] of entries) this.registerParameter(name, p, p.requiresGrad);
  }

  forward(): never {
    throw new Error('Deltas has no forward');
  }
}

class DeltaLayer extends t.AdapterLinear<{ delta: t.Tensor }> {
  private deltas = new Deltas();

  constructor(base: t.Linear, path: string) {
    super(base, path, 'Delta');
    this.registerModule('delta', this.deltas);
  }

  add(name: string, rng: t.Rng): void {
    this.checkNewAdapter(name);
    const delta = t.randn([this.outFeatures, this.inFeatures], { std: 0.1, rng });
    this.deltas.registerParameter(name, delta);
    this.info.set(name, { delta });
  }

  adapterParameters(name: string): [string, t.Tensor][] {
    return [['delta', this.infoOf(name).delta]];
  }

  protected removeAdapter(name: string): void {
    const rest = this.deltas.namedParameters().filter(([n]) => n !== name);
    this.deltas = this.registerModule('delta', new Deltas(rest));
  }

  protected foldUpdate(name: string, direction: 1 | -1): void {
    const w = this.baseLayer.weight.data;
    const d = this.infoOf(name).delta.data;
    for (let i = 0; i < w.length; i++) w[i]! += direction * d[i]!;
  }

  effectiveWeight(): t.Tensor {
    const name = this.unmergedActive();
    const w = this.baseLayer.weight;
    return t.noGrad(() => (name === null ? w.detach() : t.add(w, this.infoOf(name).delta)));
  }

  forward(x: t.Tensor): t.Tensor {
    const name = this.forwardAdapter();
    const y = this.baseLayer.forward(x);
    return name === null ? y : t.add(y, t.matmul(x, this.infoOf(name).delta, { transB: true }));
  }
}

// Two unrelated layer classes, so that two kinds of handle can share a model.
class DeltaLinear extends DeltaLayer {}
class OtherLinear extends DeltaLayer {}

class DeltaModel extends t.AdapterModel<DeltaConfig, DeltaConfig, DeltaLayer> {
  constructor(
    model: t.Module,
    layerClass: new (base: t.Linear, path: string) => DeltaLayer = DeltaLinear,
  ) {
    super(model, 'Delta', layerClass);
  }

  protected makeConfig(input: DeltaConfig): DeltaConfig {
    return { ...input };
  }

  protected addToLayer(layer: DeltaLayer, name: string, config: DeltaConfig, rng: t.Rng): void {
    if (config.failOn && layer.path.includes(config.failOn)) throw new Error('refused');
    layer.add(name, rng);
  }
}

class OtherModel extends DeltaModel {
  constructor(model: t.Module) {
    super(model, OtherLinear);
  }
}

function deltaOn(
  model: t.Module,
  name: string,
  config: DeltaConfig,
  kind: new (model: t.Module) => DeltaModel = DeltaModel,
) {
  const handle = t.adapterModelOf(model, kind) ?? new kind(model);
  handle.addAdapter(name, config, { rng: new t.Rng(3) });
  return handle;
}

class Two extends t.Module {
  constructor() {
    super();
    const rng = new t.Rng(1);
    this.registerModule('q_proj', new t.Linear(4, 4, { bias: false, rng }));
    this.registerModule('v_proj', new t.Linear(4, 3, { rng }));
  }

  forward(x: t.Tensor): t.Tensor {
    const q = this.getSubmodule('q_proj') as t.Linear;
    return (this.getSubmodule('v_proj') as t.Linear).forward(q.forward(x));
  }
}

const x = t.randn([2, 4], { rng: new t.Rng(2) });
const run = (m: t.Module) => Array.from(t.noGrad(() => (m as Two).forward(x)).data);
const weights = (m: t.Module) =>
  m.namedParameters().map(([n, p]): [string, number[]] => [n, Array.from(p.data)]);

function expectNear(a: number[], b: number[], tol = 1e-6): void {
  expect(a.length).toBe(b.length);
  const worst = Math.max(0, ...a.map((v, i) => Math.abs(v - b[i]!)));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('AdapterModel', () => {
  it('wraps the targets, freezes the base and trains only the active adapter', () => {
    const model = new Two();
    const base = run(model);
    const h = deltaOn(model, 'a', { targetModules: 'all-linear' });
    expect(h.targets()).toEqual(['q_proj', 'v_proj']);
    expect(model.getSubmodule('q_proj')).toBeInstanceOf(DeltaLinear);
    expect(model.stateDict().has('q_proj.delta.a')).toBe(true);
    expect(h.namedAdapterParameters().map(([n]) => n)).toEqual(['q_proj.delta', 'v_proj.delta']);
    expect(model.trainableParameters()).toEqual(h.trainableParameters());
    expect(h.numTrainable()).toBe(16 + 12);
    expect(h.trainableSummary()).toEqual({
      trainable: 28,
      total: 28 + 16 + 15,
      percent: (100 * 28) / 59,
    });
    expect(run(model)).not.toEqual(base);
    expect(t.adapterModelOf(model, DeltaModel)).toBe(h);

    deltaOn(model, 'b', { targetModules: ['v_proj'] });
    expect(h.activeAdapter).toBe('b');
    expect(h.layer('q_proj').activeAdapter).toBeNull();
    expect(h.trainableParameters('a').some((p) => p.requiresGrad)).toBe(false);
    expect(model.numParameters(true)).toBe(12);
    h.setActive('a');
    expect(model.numParameters(true)).toBe(28);
  });

  it('names the method in its errors', () => {
    const model = new Two();
    const h = deltaOn(model, 'a', { targetModules: ['q_proj'] });
    expect(() => h.addAdapter('a', { targetModules: ['v_proj'] })).toThrow(
      "Delta: the model already has an adapter named 'a'",
    );
    expect(() => h.setActive('z')).toThrow("Delta: no adapter named 'z' (has: a)");
    expect(() => h.layer('v_proj')).toThrow("Delta: 'v_proj' is not a Delta layer");
    expect(() => h.layer('q_proj').adapterParameters('z')).toThrow(
      "Delta: 'q_proj' has no adapter named 'z' (has: a)",
    );
    expect(() => h.addAdapter('x.y', { targetModules: ['q_proj'] })).toThrow(
      "Delta: adapter name 'x.y' must be non-empty without '.'",
    );
    h.merge();
    expect(() => h.layer('q_proj').deleteAdapter('a')).toThrow(
      "Delta: 'q_proj': unmerge 'a' before deleting it",
    );
    h.layer('q_proj').disabled = true;
    expect(() => run(model)).toThrow(
      "Delta: 'q_proj' is disabled but has merged adapters; unmerge first",
    );
  });

  it('a layer that refuses the adapter leaves the model and the registry as they were', () => {
    const model = new Two();
    const before = weights(model);
    expect(() => deltaOn(model, 'a', { targetModules: 'all-linear', failOn: 'v_' })).toThrow(
      'refused',
    );
    expect(model.getSubmodule('q_proj')).toBeInstanceOf(t.Linear);
    expect(weights(model)).toEqual(before);
    expect(model.numParameters(true)).toBe(model.numParameters());
    expect(t.adapterModelOf(model, DeltaModel)).toBeUndefined();

    // On a layer that already has an adapter, the new one is taken off again.
    const h = deltaOn(model, 'a', { targetModules: ['q_proj'] });
    expect(() => h.addAdapter('b', { targetModules: 'all-linear', failOn: 'v_' })).toThrow();
    expect(h.layer('q_proj').adapterNames).toEqual(['a']);
    expect(h.adapterNames).toEqual(['a']);
    expect(model.getSubmodule('v_proj')).toBeInstanceOf(t.Linear);
  });

  it('merges, disables and unloads', () => {
    const model = new Two();
    const base = run(model);
    const original = weights(model);
    const h = deltaOn(model, 'a', { targetModules: 'all-linear' });
    const adapted = run(model);
    h.merge();
    h.merge();
    expect(h.merged).toBe(true);
    expectNear(run(model), adapted);
    expectNear(
      h.withDisabled(() => run(model)),
      base,
    );
    expect(h.merged).toBe(false);
    expect(h.disabled).toBe(false);
    h.disable();
    expectNear(run(model), base);
    h.enable();
    expectNear(run(model), adapted);

    // A second adapter: deleting the active one makes the remaining one active.
    deltaOn(model, 'b', { targetModules: ['q_proj'] });
    h.deleteAdapter('b');
    expect(h.activeAdapter).toBe('a');
    expectNear(run(model), adapted);

    expect(h.unload()).toBe(model);
    expect(model.getSubmodule('q_proj')).toBeInstanceOf(t.Linear);
    // Merging and unmerging leave only float32 rounding in the base weights.
    const now = weights(model);
    expect(now.map(([n]) => n)).toEqual(original.map(([n]) => n));
    expectNear(
      now.flatMap(([, v]) => v),
      original.flatMap(([, v]) => v),
    );
    expect(t.adapterModelOf(model, DeltaModel)).toBeUndefined();
    expect(() => h.activeAdapter).toThrow('Delta: the model has no adapter');
  });

  it('an adapter added while disabled stays off until enable', () => {
    const model = new Two();
    const base = run(model);
    const h = deltaOn(model, 'a', { targetModules: ['q_proj'] });
    h.disable();
    deltaOn(model, 'b', { targetModules: ['v_proj'] });
    expect(h.layer('v_proj').disabled).toBe(true);
    expect(run(model)).toEqual(base);
    h.enable();
    expect(run(model)).not.toEqual(base);
  });

  it('mergeAndUnload leaves plain Linears holding the update', () => {
    const model = new Two();
    const h = deltaOn(model, 'a', { targetModules: 'all-linear' });
    const adapted = run(model);
    h.mergeAndUnload();
    expect(model.namedModules().some(([, m]) => m instanceof DeltaLayer)).toBe(false);
    expect(model.stateDict().has('q_proj.weight')).toBe(true);
    expectNear(run(model), adapted);
    expect(t.adapterModelOf(model, DeltaModel)).toBeUndefined();
  });

  it('gives the inference weights a Linear would need to compute its forward pass', () => {
    const model = new Two();
    const h = deltaOn(model, 'a', { targetModules: 'all-linear' });
    const layer = h.layer('v_proj');
    const plainOf = (w: { weight: t.Tensor; bias: t.Tensor | null }) => {
      const lin = new t.Linear(4, 3);
      lin.weight.data.set(w.weight.data);
      lin.bias!.data.set(w.bias!.data);
      return lin;
    };
    const y = Array.from(t.noGrad(() => layer.forward(x)).data);
    const viaWeights = t.linearWeightsOf(layer)!;
    expect(viaWeights.weight.data).not.toEqual(layer.baseLayer.weight.data);
    expectNear(Array.from(t.noGrad(() => plainOf(viaWeights).forward(x)).data), y);
    // Disabled, and merged: the base weight as it is.
    h.disable();
    expect(t.linearWeightsOf(layer)!.weight.data).toEqual(layer.baseLayer.weight.data);
    h.enable();
    h.merge();
    expect(t.linearWeightsOf(layer)!.weight.data).toEqual(layer.baseLayer.weight.data);
    expectNear(Array.from(t.noGrad(() => plainOf(t.linearWeightsOf(layer)!).forward(x)).data), y);
  });

  it('keeps one handle per kind on a model', () => {
    const model = new Two();
    const a = deltaOn(model, 'a', { targetModules: ['q_proj'] });
    const b = deltaOn(model, 'a', { targetModules: ['v_proj'] }, OtherModel);
    expect(b).not.toBe(a);
    expect(t.adapterModelOf(model, DeltaModel)).toBe(a);
    expect(t.adapterModelOf(model, OtherModel)).toBe(b);
    expect(b.layers().map((l) => l.path)).toEqual(['v_proj']);
    expect(() => a.layer('v_proj')).toThrow("Delta: 'v_proj' is not a Delta layer");
    a.unload();
    expect(t.adapterModelOf(model, DeltaModel)).toBeUndefined();
    expect(t.adapterModelOf(model, OtherModel)).toBe(b);
  });
});

describe('PEFT adapter_config.json', () => {
  const sel: t.PeftSelection = {
    targetModules: 'all-linear',
    excludeModules: null,
    layersToTransform: [0, 2],
    layersPattern: 'layers',
    baseModelNameOrPath: 'org/model',
  };

  it('writes the shared fields with sorted keys and expands all-linear', () => {
    const json = t.peftConfigJson('TOY', sel, ['model.layers.0.q_proj', 'model.layers.2.v_proj'], {
      r: 4,
      init_weights: true,
    });
    expect(Object.keys(json)).toEqual(Object.keys(json).sort());
    expect(json).toEqual({
      auto_mapping: null,
      base_model_name_or_path: 'org/model',
      bias: 'none',
      exclude_modules: null,
      inference_mode: true,
      init_weights: true,
      layers_pattern: 'layers',
      layers_to_transform: [0, 2],
      modules_to_save: null,
      peft_type: 'TOY',
      r: 4,
      revision: null,
      target_modules: ['q_proj', 'v_proj'],
      task_type: 'CAUSAL_LM',
    });
    const regex = t.peftConfigJson(
      'TOY',
      { ...sel, targetModules: '.*q', layersToTransform: 1 },
      [],
      {},
    );
    expect(regex.target_modules).toBe('.*q');
    expect(regex.layers_to_transform).toBe(1);
  });

  it('reads the shared fields back and refuses what t2 adapters do not have', () => {
    const json = t.peftConfigJson('TOY', { ...sel, targetModules: ['q_proj'] }, [], { r: 4 });
    const read = t.readPeftConfig(json, 'f.json', 'Toy', ['TOY', 'TOY2']);
    expect(read.peftType).toBe('TOY');
    expect(read.json.r).toBe(4);
    expect(read.selection).toEqual({ ...sel, targetModules: ['q_proj'] });
    expect(
      t.readPeftConfig({ peft_type: 'TOY2', target_modules: 'x' }, 'f', 'Toy', ['TOY2']),
    ).toMatchObject({ selection: { excludeModules: null, baseModelNameOrPath: null } });
    const bad = (j: unknown) => () => t.readPeftConfig(j, 'f.json', 'Toy', ['TOY', 'TOY2']);
    expect(bad(null)).toThrow('f.json: not a JSON object');
    expect(bad({ ...json, peft_type: 'LORA' })).toThrow(
      'f.json: peft_type "LORA" is not a Toy adapter (expected "TOY" or "TOY2")',
    );
    expect(bad({ ...json, bias: 'all' })).toThrow('f.json: bias "all" is not supported');
    expect(bad({ ...json, modules_to_save: ['lm_head'] })).toThrow(
      'f.json: modules_to_save (lm_head) is not supported',
    );
    expect(bad({ ...json, target_modules: null })).toThrow('f.json: target_modules is missing');
  });
});

describe('PEFT file checks', () => {
  it('finds the Linear a file tensor is for, through a wrapper', () => {
    const model = new Two();
    expect(t.withoutPeftPrefix('base_model.model.q_proj.x')).toBe('q_proj.x');
    expect(t.withoutPeftPrefix('q_proj.x')).toBe('q_proj.x');
    expect(t.linearFeaturesAt(model, 'v_proj', 'k', 'src')).toEqual({
      inFeatures: 4,
      outFeatures: 3,
    });
    deltaOn(model, 'a', { targetModules: ['v_proj'] });
    expect(t.linearFeaturesAt(model, 'v_proj', 'k', 'src')).toEqual({
      inFeatures: 4,
      outFeatures: 3,
    });
    expect(() => t.linearFeaturesAt(model, 'k_proj', 'key', 'src')).toThrow(
      "src: tensor 'key' is for module 'k_proj', which the model does not have",
    );
    model.registerModule('norm', new t.RMSNorm(4));
    expect(() => t.linearFeaturesAt(model, 'norm', 'key', 'src')).toThrow(
      "src: tensor 'key' is for module 'norm', which is not a Linear layer",
    );
  });

  it('removes the adapter again when the file and the targets differ', () => {
    const what = { missing: 'deltas', extra: 'Deltas' };
    const model = new Two();
    const h = deltaOn(model, 'a', { targetModules: 'all-linear' });
    t.checkFileCoversTargets(h, 'a', ['v_proj', 'q_proj'], 'src', what);
    expect(h.adapterNames).toEqual(['a']);
    expect(() => t.checkFileCoversTargets(h, 'a', ['q_proj'], 'src', what)).toThrow(
      'src: no deltas for module(s) v_proj selected by target_modules',
    );
    expect(h.adapterNames).toEqual([]);
    const h2 = deltaOn(model, 'b', { targetModules: ['q_proj'] });
    expect(() => t.checkFileCoversTargets(h2, 'b', ['q_proj', 'v_proj'], 'src', what)).toThrow(
      "src: Deltas for v_proj are not selected by the config's target_modules",
    );
    expect(model.getSubmodule('q_proj')).toBeInstanceOf(t.Linear);
  });
});
