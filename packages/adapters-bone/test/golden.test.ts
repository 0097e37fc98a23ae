import { fromArray, type Linear, noGrad } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { type BoneLinear, batDelta, inject } from '../src/index';
import { expectClose, flat, golden, OneLinear } from './helpers';

/** A model whose only Linear holds the golden W, with an adapter holding the golden block. */
function setup(name: 'bone_div' | 'bone_pad' | 'bat') {
  const g = golden(name);
  const out = g.W.length;
  const inF = g.W[0]!.length;
  const model = new OneLinear(inF, out, { bias: false });
  (model.getSubmodule('proj') as Linear).weight.data.set(flat(g.W));
  const r = name === 'bat' ? (g.block as number[][][])[0]!.length : g.block.length;
  const handle = inject(model, {
    r,
    targetModules: ['proj'],
    initWeights: name === 'bat' ? 'bat' : true,
  });
  const layer = handle.layer('proj');
  layer.block('default').data.set(flat(g.block));
  const x = fromArray(flat(g.x), [g.x.length, inF]);
  return { g, model, handle, layer, x };
}

describe.each(['bone_div', 'bone_pad', 'bat'] as const)('golden %s', (name) => {
  it('forward matches y', () => {
    const { g, model, x } = setup(name);
    expectClose(noGrad(() => model.forward(x)).data, flat(g.y));
  });

  it('merge gives merged_W, the merged forward still gives y, unmerge restores W', () => {
    const { g, model, handle, layer, x } = setup(name);
    handle.merge();
    expect(handle.merged).toBe(true);
    expectClose(layer.baseLayer.weight.data, flat(g.merged_W));
    expectClose(noGrad(() => model.forward(x)).data, flat(g.y));
    handle.unmerge();
    expect(handle.merged).toBe(false);
    expectClose(layer.baseLayer.weight.data, flat(g.W));
  });

  it('effectiveWeight equals merged_W without touching the base weight', () => {
    const { g, layer } = setup(name);
    const before = Float32Array.from(layer.baseLayer.weight.data);
    expectClose((layer as BoneLinear).effectiveWeight().data, flat(g.merged_W));
    expect(layer.baseLayer.weight.data).toEqual(before);
  });
});

describe('golden bat delta', () => {
  it('batDelta(W, B) equals delta_W', () => {
    const g = golden('bat');
    const W = fromArray(flat(g.W), [g.W.length, g.W[0]!.length]);
    const B = fromArray(flat(g.block), [2, 4, 4]);
    expectClose(batDelta(W, B).data, flat(g.delta_W));
  });
});
