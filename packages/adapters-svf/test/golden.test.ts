import { fromArray, mul, sum } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { inject, SvfLinear } from '../src/index';
import { flat, goldenCase, OneLinear, relErr } from './helpers';

const TOL = 1e-5;

describe.each(['svf_wide', 'svf_tall'] as const)('golden %s', (name) => {
  const c = goldenCase(name);
  const [out, inF] = [c.W.length, c.W[0]!.length];

  async function setup() {
    const model = new OneLinear(inF, out, flat(c.W));
    const svf = await inject(model, { targetModules: ['proj'], maxMult: c.max_mult });
    const layer = svf.layers.get('proj')!;
    layer.setZ(c.z);
    return { model, svf, layer };
  }

  it('decomposes W into the reference singular values', async () => {
    const { layer } = await setup();
    expect(relErr(layer.factors.singularValues.data, c.singular_values)).toBeLessThan(TOL);
  });

  it('composes W′ = U diag(σ⊙m) Vᵀ · Σσ/Σ(σ⊙m)', async () => {
    const { layer } = await setup();
    expect(layer).toBeInstanceOf(SvfLinear);
    expect(layer.adaptedWeight().shape).toEqual([out, inF]);
    expect(relErr(layer.adaptedWeight().data, flat(c.composed_W))).toBeLessThan(TOL);
  });

  it('computes y = x W′ᵀ and ∂/∂z of Σ dy⊙y', async () => {
    const { model, layer } = await setup();
    const x = fromArray(flat(c.x), [c.x.length, inF]);
    const y = model.forward(x);
    expect(relErr(y.data, flat(c.y))).toBeLessThan(TOL);
    sum(mul(y, fromArray(flat(c.upstream_dy), y.shape))).backward();
    expect(layer.z.grad).not.toBeNull();
    expect(relErr(layer.z.grad!.data, c.grad_z_of_sum_dy_times_y)).toBeLessThan(TOL);
    // The base factors and weight are constants.
    expect(layer.weight.grad).toBeNull();
    expect(layer.factors.U.grad).toBeNull();
  });
});
