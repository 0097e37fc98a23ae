import {
  Adam,
  fromArray,
  Linear,
  mean,
  mul,
  noGrad,
  Rng,
  randn,
  square,
  sub,
  sum,
  type Tensor,
} from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { inject, maskValues } from '../src/index';
import { OneLinear, relErr, TinyMlp } from './helpers';

function randomModel(inF: number, out: number, seed: number, bias = false) {
  const rng = new Rng(seed);
  const w = Array.from({ length: out * inF }, () => rng.normal());
  const model = new OneLinear(inF, out, w, bias);
  const b = (model.getSubmodule('proj') as Linear).bias;
  if (b) for (let i = 0; i < b.size; i++) b.data[i] = rng.normal();
  return model;
}

function lossOf(model: OneLinear, x: Tensor, dy: Tensor): Tensor {
  return sum(mul(model.forward(x), dy));
}

describe('SvfLinear gradient', () => {
  it.each([
    [5, 3, 1, false],
    [3, 7, 2.5, true],
    [6, 6, 0.7, false],
  ])(
    'matches central finite differences (in %i, out %i, maxMult %f, bias %s)',
    async (inF, out, maxMult, bias) => {
      const model = randomModel(inF, out, inF * 10 + out, bias);
      const svf = await inject(model, { targetModules: ['proj'], maxMult, seed: 3, initStd: 0.8 });
      const layer = svf.layers.get('proj')!;
      const rng = new Rng(99);
      const x = randn([4, inF], { rng });
      const dy = randn([4, out], { rng });
      lossOf(model, x, dy).backward();
      const analytic = layer.z.grad!.data.slice();
      // Float64 central differences of the float32 forward: a step of 1e-2 keeps rounding small.
      const h = 1e-2;
      const numeric = new Float64Array(layer.rank);
      for (let i = 0; i < layer.rank; i++) {
        const z0 = layer.z.data[i]!;
        const f = (v: number) => {
          layer.z.data[i] = v;
          return noGrad(() => lossOf(model, x, dy).item());
        };
        numeric[i] = (f(z0 + h) - f(z0 - h)) / (2 * h);
        layer.z.data[i] = z0;
      }
      expect(relErr(analytic, numeric)).toBeLessThan(2e-3);
      expect(Math.max(...Array.from(analytic, Math.abs))).toBeGreaterThan(1e-4);
    },
  );

  it('trains z only: a few Adam steps fit a target made by another expert', async () => {
    const model = randomModel(6, 4, 7);
    const svf = await inject(model, { targetModules: ['proj'], seed: 1 });
    const layer = svf.layers.get('proj')!;
    const x = randn([16, 6], { rng: new Rng(5) });
    layer.setMask([1, 0.2, 0.9, 0.1]);
    const target = noGrad(() => model.forward(x));
    layer.setMask(null);
    const wBefore = layer.weight.data.slice();
    const opt = new Adam(svf.trainableParameters(), { lr: 0.1 });
    const loss = () => mean(square(sub(model.forward(x), target)));
    const first = noGrad(() => loss().item());
    for (let step = 0; step < 60; step++) {
      opt.zeroGrad();
      loss().backward();
      opt.step();
    }
    const last = noGrad(() => loss().item());
    expect(last).toBeLessThan(first * 0.1);
    expect(layer.weight.data).toEqual(wBefore);
  });
});

describe('SvfLinear masks and modes', () => {
  it('a constant mask reproduces W (the sum ratio undoes the scale)', async () => {
    const model = randomModel(5, 8, 1);
    const svf = await inject(model, { targetModules: ['proj'] });
    const layer = svf.layers.get('proj')!;
    layer.setMask(new Float32Array(5).fill(0.37));
    expect(relErr(layer.adaptedWeight().data, layer.weight.data)).toBeLessThan(1e-5);
  });

  it('recomposes the cached W′ when the mask or z changes in place', async () => {
    const model = randomModel(4, 4, 2);
    const svf = await inject(model, { targetModules: ['proj'], initStd: 0.5 });
    const layer = svf.layers.get('proj')!;
    const x = randn([2, 4], { rng: new Rng(1) });
    const y1 = noGrad(() => model.forward(x)).data.slice();
    expect(noGrad(() => model.forward(x)).data).toEqual(y1);
    layer.z.data[0]! += 1; // what an optimizer step does
    const y2 = noGrad(() => model.forward(x)).data.slice();
    expect(relErr(y2, y1)).toBeGreaterThan(1e-4);
    layer.setMask([1, 1, 0, 0]);
    const y3 = noGrad(() => model.forward(x)).data.slice();
    expect(relErr(y3, y2)).toBeGreaterThan(1e-4);
    // The cached path and the autograd path agree.
    layer.setMask(null);
    expect(relErr(model.forward(x).data, y2)).toBeLessThan(1e-6);
  });

  it('disable() gives exactly the base layer; withBase restores the state', async () => {
    const model = randomModel(4, 6, 3, true);
    const x = randn([3, 4], { rng: new Rng(2) });
    const base = noGrad(() => model.forward(x)).data.slice();
    const svf = await inject(model, { targetModules: ['proj'], initStd: 1 });
    const adapted = noGrad(() => model.forward(x)).data.slice();
    expect(relErr(adapted, base)).toBeGreaterThan(1e-3);
    svf.disable();
    expect(noGrad(() => model.forward(x)).data).toEqual(base);
    svf.enable();
    expect(svf.withBase(() => noGrad(() => model.forward(x)).data.slice())).toEqual(base);
    expect(svf.enabled).toBe(true);
    expect(noGrad(() => model.forward(x)).data).toEqual(adapted);
  });

  it('merge() bakes W′ into the weight and unmerge() restores it bit for bit', async () => {
    const model = randomModel(7, 5, 4, true);
    const x = randn([3, 7], { rng: new Rng(3) });
    const w0 = (model.getSubmodule('proj') as unknown as { weight: Tensor }).weight.data.slice();
    const svf = await inject(model, { targetModules: ['proj'], initStd: 1 });
    const layer = svf.layers.get('proj')!;
    const adapted = noGrad(() => model.forward(x)).data.slice();
    svf.merge();
    expect(layer.isMerged).toBe(true);
    expect(relErr(layer.weight.data, w0)).toBeGreaterThan(1e-3);
    expect(relErr(noGrad(() => model.forward(x)).data, adapted)).toBeLessThan(1e-6);
    expect(() => layer.setMask(new Float32Array(5))).toThrow(/unmerge/);
    svf.disable();
    svf.enable();
    svf.unmerge();
    expect(layer.weight.data).toEqual(w0);
    expect(relErr(noGrad(() => model.forward(x)).data, adapted)).toBeLessThan(1e-6);
  });

  it('unload() puts plain Linears back, with W′ baked in when merging', async () => {
    const x = randn([3, 5], { rng: new Rng(6) });
    const model = randomModel(5, 4, 8, true);
    const base = noGrad(() => model.forward(x)).data.slice();
    const svf = await inject(model, { targetModules: ['proj'], initStd: 1 });
    const adapted = noGrad(() => model.forward(x)).data.slice();
    const merged = svf.unload({ merge: true });
    expect(merged.getSubmodule('proj')).toBeInstanceOf(Linear);
    expect(merged.namedParameters().map(([n]) => n)).toEqual(['proj.weight', 'proj.bias']);
    expect(relErr(noGrad(() => merged.forward(x)).data, adapted)).toBeLessThan(1e-6);
    const again = randomModel(5, 4, 8, true);
    const plain = (await inject(again, { targetModules: ['proj'], initStd: 1 })).unload();
    expect(noGrad(() => plain.forward(x)).data).toEqual(base);
  });

  it('rejects wrong lengths and inputs with the layer path', async () => {
    const model = randomModel(4, 6, 5);
    const svf = await inject(model, { targetModules: ['proj'] });
    const layer = svf.layers.get('proj')!;
    expect(() => layer.setZ([1, 2])).toThrow(/'proj'.*2 values, expected 4/);
    expect(() => layer.setMask([1, 2, 3, Number.NaN])).toThrow(/mask\[3\]/);
    expect(() => model.forward(fromArray([1, 2, 3], [1, 3]))).toThrow(/'proj'.*wrong last axis/);
  });
});

describe('inject', () => {
  it('targets the MLP projections by default and draws z = 0.1 + 0.01·N(0,1) from the seed', async () => {
    const a = await inject(new TinyMlp(8, 12), { seed: 42 });
    expect(a.targets).toEqual(['gate_proj', 'up_proj', 'down_proj']);
    expect(a.numTrainable()).toBe(24);
    expect(a.namedTrainableParameters().map(([n]) => n)).toEqual([
      'gate_proj.svf_z',
      'up_proj.svf_z',
      'down_proj.svf_z',
    ]);
    expect(a.model.trainableParameters()).toEqual(a.trainableParameters());
    const z = a.trainableParameters().flatMap((t) => Array.from(t.data));
    const mu = z.reduce((s, v) => s + v, 0) / z.length;
    const sd = Math.sqrt(z.reduce((s, v) => s + (v - mu) ** 2, 0) / z.length);
    expect(Math.abs(mu - 0.1)).toBeLessThan(0.01);
    expect(sd).toBeGreaterThan(0.005);
    expect(sd).toBeLessThan(0.02);
    const b = await inject(new TinyMlp(8, 12), { seed: 42 });
    const c = await inject(new TinyMlp(8, 12), { seed: 43 });
    expect(b.expert().z).toEqual(a.expert().z);
    expect(c.expert().z).not.toEqual(a.expert().z);
    expect(a.currentMasks().get('up_proj')).toEqual(maskValues(a.layers.get('up_proj')!.z.data, 1));
  });

  it('accepts any target list, including regular expressions, and fails clearly on none', async () => {
    const svf = await inject(new TinyMlp(4, 6), { targetModules: ['o_proj', /gate/] });
    expect(svf.targets).toEqual(['gate_proj', 'o_proj']);
    await expect(inject(new TinyMlp(4, 6), { targetModules: ['q_proj'] })).rejects.toThrow(
      /no Linear layer matches targetModules \[q_proj\]/,
    );
    await expect(inject(svf.model, { targetModules: ['o_proj'] })).rejects.toThrow(/already carry/);
    await expect(inject(new TinyMlp(4, 6), { maxMult: 0 })).rejects.toThrow(/maxMult/);
  });
});
