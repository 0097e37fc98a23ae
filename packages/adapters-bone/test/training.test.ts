import { AdamW, mean, noGrad, Rng, randn, square, sub, tidy } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { inject } from '../src/index';
import { snapshot, ToyModel } from './helpers';

describe.each([
  ['Bone', true],
  ['BAT', 'bat'],
] as const)('%s training', (_label, initWeights) => {
  it('AdamW on the adapter lowers the loss and changes only the adapter', () => {
    const model = new ToyModel();
    const teacher = new ToyModel({ seed: 2 });
    const x = randn([4, 3, 8], { rng: new Rng(1) });
    const target = noGrad(() => teacher.forward(x));
    const handle = inject(model, { r: 4, targetModules: 'all-linear', initWeights });
    const base = snapshot(model);
    const opt = new AdamW(handle.trainableParameters(), { lr: 1e-2, weightDecay: 0 });
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      const loss = tidy(() => {
        opt.zeroGrad();
        const l = mean(square(sub(model.forward(x), target)));
        l.backward();
        opt.step();
        return l.item();
      });
      losses.push(loss);
    }
    expect(losses.at(-1)!).toBeLessThan(0.8 * losses[0]!);
    for (const [name, values] of snapshot(model)) {
      if (name.includes('bone_block')) expect(values).not.toEqual(base.get(name));
      else expect(values).toEqual(base.get(name));
    }
  });
});
