// LoraLinear's own rules (issue #19): PEFT names, the seeded init, PiSSA's preconditions and
// flag, deleting an adapter, dropout and inference weights, y = W x + s·B A x by hand.
import { fromArray, Linear, Rng } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { LoraLinear } from '../src/index';

function layer(inF = 6, out = 4, seed = 1) {
  return new LoraLinear(new Linear(inF, out, { bias: false, rng: new Rng(seed) }), 'model.proj');
}

const opts = (over: Partial<Parameters<LoraLinear['addAdapter']>[1]> = {}) => ({
  r: 2,
  alpha: 2,
  scaling: 1,
  dropout: 0,
  init: true as const,
  ...over,
});

describe('LoraLinear', () => {
  it("uses PEFT's names: LORA, lora_A / lora_B / lora_dropout.<adapter>", () => {
    const l = layer();
    l.addAdapter('default', opts({ dropout: 0.1, rng: new Rng(2) }));
    expect(l.adapterType).toBe('LORA');
    const params = l.namedParameters().map(([n]) => n);
    expect(params).toContain('lora_A.default.weight');
    expect(params).toContain('lora_B.default.weight');
    expect(l.namedModules().map(([n]) => n)).toContain('lora_dropout.default');
    expect(l.adapterParameters('default').map(([n]) => n)).toEqual([
      'lora_A.weight',
      'lora_B.weight',
    ]);
    expect(() => l.addAdapter('default', opts())).toThrow(
      "LoRA: 'model.proj' already has an adapter named 'default'",
    );
  });

  it('draws A from the rng it is given', () => {
    const a = layer();
    const b = layer();
    a.addAdapter('x', opts({ rng: new Rng(5) }));
    b.addAdapter('x', opts({ rng: new Rng(5) }));
    expect(Array.from(a.loraAWeight('x').data)).toEqual(Array.from(b.loraAWeight('x').data));
    expect(a.loraAWeight('x').data.some((v) => v !== 0)).toBe(true);
  });

  it('computes y = W x + scaling · B A x', () => {
    const l = layer(3, 2);
    l.addAdapter('a', opts({ r: 1, scaling: 2.5, rng: new Rng(3) }));
    l.activeAdapter = 'a';
    l.loraAWeight('a').data.set([1, -1, 2]);
    l.loraBWeight('a').data.set([0.5, -2]);
    const W = l.baseLayer.weight.data;
    const x = [0.3, 0.2, -0.4];
    const ax = x[0]! - x[1]! + 2 * x[2]!;
    const want = [0, 1].map(
      (o) =>
        W[o * 3]! * x[0]! +
        W[o * 3 + 1]! * x[1]! +
        W[o * 3 + 2]! * x[2]! +
        2.5 * [0.5, -2][o]! * ax,
    );
    const y = l.forward(fromArray(x, [1, 3]));
    expect(y.data[0]).toBeCloseTo(want[0]!, 5);
    expect(y.data[1]).toBeCloseTo(want[1]!, 5);
    // the same update as inference weights W + s·B A
    const eff = l.inferenceWeights()!.weight.data;
    for (let o = 0; o < 2; o++)
      for (let c = 0; c < 3; c++)
        expect(eff[o * 3 + c]).toBeCloseTo(W[o * 3 + c]! + 2.5 * [0.5, -2][o]! * [1, -1, 2][c]!, 5);
  });

  it('inference weights exist without dropout, or with dropout in eval mode', () => {
    const l = layer();
    l.addAdapter('plain', opts());
    l.addAdapter('drop', opts({ dropout: 0.5 }));
    l.train();
    l.activeAdapter = 'plain';
    expect(l.inferenceWeights()).not.toBeNull();
    l.activeAdapter = 'drop';
    expect(l.inferenceWeights()).toBeNull();
    l.eval();
    expect(l.inferenceWeights()).not.toBeNull();
  });

  it('deleting an adapter keeps the others under their names', () => {
    const l = layer();
    l.addAdapter('a', opts({ dropout: 0.2 }));
    l.addAdapter('b', opts({ dropout: 0.2 }));
    l.deleteAdapter('a');
    const params = l.namedParameters().map(([n]) => n);
    expect(params).toContain('lora_A.b.weight');
    expect(params).toContain('lora_B.b.weight');
    expect(params.some((n) => n.includes('.a.'))).toBe(false);
    const modules = l.namedModules().map(([n]) => n);
    expect(modules).toContain('lora_dropout.b');
    expect(modules).not.toContain('lora_dropout.a');
    expect(l.loraAWeight('b').shape).toEqual([2, 6]);
  });

  it('PiSSA: flagged in adapterInfo, r up to the rank, refused on a merged layer', () => {
    const l = layer(6, 4);
    l.addAdapter('p', opts({ r: 4, init: 'pissa' }));
    expect(l.adapterInfo('p').pissa).toBe(true);
    l.addAdapter('q', opts());
    expect(l.adapterInfo('q').pissa).toBe(false);
    l.merge('q');
    expect(() => l.addAdapter('p2', opts({ init: 'pissa' }))).toThrow(
      "LoRA: 'model.proj' has merged adapters; unmerge before adding a PiSSA adapter",
    );
    expect(() => layer(6, 4).addAdapter('p', opts({ r: 5, init: 'pissa' }))).toThrow(
      "PiSSA: 'model.proj' has weight [4, 6], so r = 5 exceeds its rank",
    );
  });

  it("PiSSA's SVD names the weight it decomposes", () => {
    const l = layer(6, 4);
    l.baseLayer.weight.data[3] = Number.NaN;
    expect(() => l.addAdapter('p', opts({ init: 'pissa' }))).toThrow(/model\.proj\.weight/);
  });
});
