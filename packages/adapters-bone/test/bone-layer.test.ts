// BoneLinear's own rules (issue #19): PEFT names, initialisation bound, BAT's shape checks,
// deleting an adapter, and the errors that name the layer.
import { Linear, Rng, randn } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { BoneLinear } from '../src/index';

const layer = (inF = 16, out = 8) =>
  new BoneLinear(new Linear(inF, out, { bias: false, rng: new Rng(1) }), 'model.q');

describe('BoneLinear', () => {
  it("uses PEFT's names: peft type BONE, parameters bone_block.<adapter>", () => {
    const l = layer();
    l.addAdapter('default', 4, true);
    l.addAdapter('other', 2, true);
    expect(l.adapterType).toBe('BONE');
    const names = l.namedParameters().map(([n]) => n);
    expect(names).toContain('bone_block.default');
    expect(names).toContain('bone_block.other');
    expect(l.block('default').requiresGrad).toBe(true);
    expect(() => l.addAdapter('default', 4, true)).toThrow(
      "Bone: 'model.q' already has an adapter named 'default'",
    );
  });

  it('initWeights false draws Kaiming-uniform blocks within ±1/sqrt(fan_in)', () => {
    const l = layer(16, 64);
    // Bone block [r, out] = [4, 64]: fan_in 64, bound 1/8
    const b = l.addAdapter('a', 4, false, new Rng(2)).data;
    const max = Math.max(...b);
    const min = Math.min(...b);
    expect(max).toBeLessThanOrEqual(1 / 8);
    expect(min).toBeGreaterThanOrEqual(-1 / 8);
    expect(max).toBeGreaterThan(0.1);
    expect(min).toBeLessThan(-0.1);
    // zero init otherwise
    expect(Array.from(l.addAdapter('z', 4, true).data).every((v) => v === 0)).toBe(true);
  });

  it('deleting an adapter removes its block and keeps the others', () => {
    const l = layer();
    l.addAdapter('a', 4, true);
    l.addAdapter('b', 4, true);
    l.deleteAdapter('a');
    expect(l.namedParameters().some(([n]) => n === 'bone_block.a')).toBe(false);
    expect(l.namedParameters().some(([n]) => n === 'bone_block.b')).toBe(true);
    expect(l.adapterNames).toEqual(['b']);
  });

  it('BAT needs both dimensions divisible by r, and inputs of the right width', () => {
    expect(() => layer(6, 8).addAdapter('bat', 4, 'bat')).toThrow(
      "BAT: 'model.q' has weight [8, 6], which does not split into 4×4 blocks (both dimensions must be divisible by r = 4)",
    );
    expect(() => layer(8, 6).addAdapter('bat', 4, 'bat')).toThrow(/does not split into 4×4 blocks/);
    const l = layer(8, 8);
    l.addAdapter('bat', 4, 'bat');
    l.activeAdapter = 'bat';
    expect(() => l.forward(randn([2, 6]))).toThrow(
      "BAT 'model.q' (8→8): input [2, 6] has the wrong last axis",
    );
  });

  it('unmerging a BAT block whose I + B is singular names the layer and adapter', () => {
    const l = layer(4, 4);
    l.addAdapter('bat', 2, 'bat');
    // B = −I in every block: I + B = 0
    const b = l.block('bat').data;
    b.fill(0);
    for (let a = 0; a < 2; a++) for (let i = 0; i < 2; i++) b[a * 4 + i * 3] = -1;
    l.merge('bat');
    expect(() => l.unmerge()).toThrow(
      "BAT 'model.q' adapter 'bat': I + B[0] is singular, so BAT cannot be unmerged exactly",
    );
  });
});
