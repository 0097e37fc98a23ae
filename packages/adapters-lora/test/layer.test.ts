import {
  add,
  fromArray,
  linearWeightsOf,
  matmul,
  mul,
  noGrad,
  Rng,
  randn,
  sum,
} from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { inject } from '../src/index';
import { expectClose, OneLinear } from './helpers';

// Float64 reference written from the LoRA formula: y = x Wᵀ + b + s · (x Aᵀ) Bᵀ.
function loraRef(
  W: number[],
  bias: number[],
  A: number[],
  B: number[],
  x: number[],
  n: number,
  out: number,
  inF: number,
  r: number,
  s: number,
): number[] {
  const y: number[] = [];
  for (let t = 0; t < n; t++) {
    const h = Array.from({ length: r }, (_, i) => {
      let v = 0;
      for (let c = 0; c < inF; c++) v += x[t * inF + c]! * A[i * inF + c]!;
      return v;
    });
    for (let o = 0; o < out; o++) {
      let v = bias[o]!;
      for (let c = 0; c < inF; c++) v += x[t * inF + c]! * W[o * inF + c]!;
      for (let i = 0; i < r; i++) v += s * h[i]! * B[o * r + i]!;
      y.push(v);
    }
  }
  return y;
}

const [n, inF, out, r] = [3, 10, 6, 4];

function setup(opts: { alpha?: number; useRslora?: boolean; init?: boolean | 'gaussian' } = {}) {
  const model = new OneLinear(inF, out, { bias: true, rng: new Rng(1) });
  const handle = inject(
    model,
    {
      r,
      targetModules: ['proj'],
      loraAlpha: opts.alpha ?? 8,
      useRslora: opts.useRslora,
      initLoraWeights: opts.init ?? false,
    },
    { rng: new Rng(2) },
  );
  const layer = handle.layer('proj');
  const x = randn([n, inF], { rng: new Rng(3) });
  const ref = (xs = x) =>
    loraRef(
      [...layer.baseLayer.weight.data],
      [...layer.baseLayer.bias!.data],
      [...layer.loraAWeight('default').data],
      [...layer.loraBWeight('default').data],
      [...xs.data],
      xs.size / inF,
      out,
      inF,
      r,
      layer.adapterInfo('default').scaling,
    );
  return { model, handle, layer, x, ref };
}

describe('LoRA layer', () => {
  it("has PEFT's shapes and init: lora_A [r, in] Kaiming-uniform, lora_B [out, r] zero", () => {
    const model = new OneLinear(64, 32, { bias: false });
    const x = randn([2, 64], { rng: new Rng(4) });
    const before = noGrad(() => model.forward(x)).data.slice();
    const handle = inject(model, { r: 8, targetModules: ['proj'] }, { rng: new Rng(5) });
    const layer = handle.layer('proj');
    const a = layer.loraAWeight('default');
    expect(a.shape).toEqual([8, 64]);
    expect(layer.loraBWeight('default').shape).toEqual([32, 8]);
    expect(layer.loraBWeight('default').data.every((v) => v === 0)).toBe(true);
    const bound = 1 / Math.sqrt(64);
    const maxAbs = a.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(maxAbs).toBeLessThanOrEqual(bound);
    expect(maxAbs).toBeGreaterThan(0.9 * bound);
    // Uniform on [-b, b] has variance b²/3.
    const variance = a.data.reduce((s, v) => s + v * v, 0) / a.size;
    expect(variance).toBeGreaterThan((0.8 * (bound * bound)) / 3);
    expect(variance).toBeLessThan((1.2 * (bound * bound)) / 3);
    expect(noGrad(() => model.forward(x)).data).toEqual(before);
    expect(handle.numTrainable()).toBe(8 * (64 + 32));
    expect(layer.adapterInfo('default').scaling).toBe(1);
  });

  it("'gaussian' draws A with std 1/r", () => {
    const model = new OneLinear(200, 8, { bias: false });
    const handle = inject(
      model,
      { r: 4, targetModules: ['proj'], initLoraWeights: 'gaussian' },
      { rng: new Rng(6) },
    );
    const a = handle.layer('proj').loraAWeight('default');
    const std = Math.sqrt(a.data.reduce((s, v) => s + v * v, 0) / a.size);
    expect(std).toBeGreaterThan(0.9 / 4);
    expect(std).toBeLessThan(1.1 / 4);
    expect(
      handle
        .layer('proj')
        .loraBWeight('default')
        .data.every((v) => v === 0),
    ).toBe(true);
  });

  it.each([
    ['alpha/r', { alpha: 8 }, 2],
    ['alpha/sqrt(r) (rsLoRA)', { alpha: 8, useRslora: true }, 4],
  ] as const)('forward matches the float64 reference with scaling %s', (_l, opts, scaling) => {
    const { model, layer, x, ref } = setup(opts);
    expect(layer.adapterInfo('default').scaling).toBe(scaling);
    expectClose(noGrad(() => model.forward(x)).data, ref(), 1e-5);
  });

  it('gradients w.r.t. A, B and x match finite differences of the reference', () => {
    const { model, layer, x, ref } = setup({ alpha: 8 });
    x.requireGrad();
    const rng = new Rng(7);
    const R = Array.from({ length: n * out }, () => rng.normal());
    sum(mul(model.forward(x), fromArray(R, [n, out]))).backward();
    const loss = () => ref().reduce((s, v, i) => s + v * R[i]!, 0);
    const numeric = (data: Float32Array) => {
      // Float32 storage: a larger step, still tiny against the values (~0.3).
      const eps = 1e-3;
      return Array.from(data, (orig, i) => {
        data[i] = orig + eps;
        const up = loss();
        data[i] = orig - eps;
        const down = loss();
        data[i] = orig;
        return (up - down) / (2 * eps);
      });
    };
    const A = layer.loraAWeight('default');
    const B = layer.loraBWeight('default');
    expectClose(A.grad!.data, numeric(A.data), 1e-3);
    expectClose(B.grad!.data, numeric(B.data), 1e-3);
    expectClose(x.grad!.data, numeric(x.data), 1e-3);
    expect(layer.baseLayer.weight.grad).toBeNull();
    expect(layer.baseLayer.bias!.grad).toBeNull();
  });

  it('merge → unmerge restores W within 1e-5; merged forward is unchanged', () => {
    const { model, handle, layer, x } = setup({ alpha: 8 });
    const W = layer.baseLayer.weight.data.slice();
    const y = noGrad(() => model.forward(x)).data.slice();
    expectClose(
      layer.effectiveWeight().data,
      (() => {
        handle.merge();
        return layer.baseLayer.weight.data.slice();
      })(),
      1e-6,
    );
    expectClose(noGrad(() => model.forward(x)).data, y, 1e-5);
    handle.unmerge();
    expectClose(layer.baseLayer.weight.data, W, 1e-5);
  });

  it('dropout acts on the LoRA path in training only', () => {
    const model = new OneLinear(inF, out, { bias: false, rng: new Rng(1) });
    const handle = inject(
      model,
      { r, targetModules: ['proj'], loraDropout: 0.5, initLoraWeights: false },
      { rng: new Rng(2) },
    );
    const x = randn([n, inF], { rng: new Rng(3) });
    const evalY = noGrad(() => model.eval().forward(x)).data.slice();
    const trainY = noGrad(() => model.train().forward(x)).data.slice();
    expect(trainY).not.toEqual(evalY);
    const base = handle.withDisabled(() => noGrad(() => model.forward(x)).data.slice());
    expect(noGrad(() => model.train().forward(x)).data).not.toEqual(base);
    // With B = 0 the LoRA path vanishes and dropout cannot touch the base output.
    handle.layer('proj').loraBWeight('default').data.fill(0);
    expect(noGrad(() => model.train().forward(x)).data).toEqual(base);
  });

  it('gives inference weights W + s·B A in eval mode, none while dropout is random', () => {
    const model = new OneLinear(inF, out, { bias: true, rng: new Rng(1) });
    inject(
      model,
      { r, targetModules: ['proj'], loraDropout: 0.5, initLoraWeights: false },
      { rng: new Rng(2) },
    );
    const layer = model.getSubmodule('proj');
    const x = randn([n, inF], { rng: new Rng(3) });
    model.eval();
    const w = linearWeightsOf(layer)!;
    const y = noGrad(() => add(matmul(x, w.weight, { transB: true }), w.bias!)).data;
    expectClose(y, noGrad(() => model.forward(x)).data, 1e-5);
    model.train();
    expect(linearWeightsOf(layer)).toBeNull();
  });
});
