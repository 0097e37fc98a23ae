import { describe, expect, it } from 'vitest';
import * as t from '../src/index';
import { expectClose } from './gradcheck';

function param(values: number[]): t.Tensor {
  const p = t.fromArray(values).requireGrad();
  p.isParameter = true;
  return p;
}

function setGrad(p: t.Tensor, g: number[]): void {
  p.grad = t.fromArray(g);
}

describe('optimizers', () => {
  it('SGD with momentum follows PyTorch’s update', () => {
    const p = param([1, -1]);
    const opt = new t.SGD([p], { lr: 0.1, momentum: 0.9 });
    setGrad(p, [1, 2]);
    opt.step();
    expectClose(p.data, [0.9, -1.2]);
    setGrad(p, [1, 2]);
    opt.step();
    // buf = 0.9·g + g = 1.9 g
    expectClose(p.data, [0.9 - 0.19, -1.2 - 0.38]);
  });

  it('Adam matches the bias-corrected update computed by hand', () => {
    const p = param([0.5]);
    const opt = new t.Adam([p], { lr: 0.01 });
    const grads = [0.3, -0.1, 0.2];
    let m = 0;
    let v = 0;
    let w = 0.5;
    grads.forEach((g, i) => {
      setGrad(p, [g]);
      opt.step();
      m = 0.9 * m + 0.1 * g;
      v = 0.999 * v + 0.001 * g * g;
      const mh = m / (1 - 0.9 ** (i + 1));
      const vh = v / (1 - 0.999 ** (i + 1));
      w -= (0.01 * mh) / (Math.sqrt(vh) + 1e-8);
    });
    expectClose(p.data, [w], 1e-6, 1e-5);
  });

  it('AdamW decays weights directly; Adam adds L2 to the gradient', () => {
    const a = param([2]);
    const optW = new t.AdamW([a], { lr: 0.1, weightDecay: 0.5 });
    setGrad(a, [0]);
    optW.step();
    // zero gradient: only the decoupled decay moves the weight
    expectClose(a.data, [2 - 0.1 * 0.5 * 2]);
    const b = param([2]);
    const optL2 = new t.Adam([b], { lr: 0.1, weightDecay: 0.5 });
    setGrad(b, [0]);
    optL2.step();
    // L2 turns into a gradient of 1, normalised by Adam to a step of lr
    expectClose(b.data, [1.9], 1e-6);
  });

  it('state round-trips for resuming', () => {
    const p = param([1, 2]);
    const opt = new t.Adam([p], { lr: 0.05 });
    setGrad(p, [0.1, 0.2]);
    opt.step();
    const saved = JSON.parse(JSON.stringify(opt.stateDict()));
    const q = param(Array.from(p.data));
    const opt2 = new t.Adam([q], { lr: 0.05 });
    opt2.loadStateDict(saved);
    setGrad(p, [0.3, -0.2]);
    setGrad(q, [0.3, -0.2]);
    opt.step();
    opt2.step();
    expect(Array.from(q.data)).toEqual(Array.from(p.data));
    expect(() => new t.Adam([param([1])]).loadStateDict(saved)).toThrow(/does not match/);
  });

  it('clipGradNorm scales to the max norm and returns the original norm', () => {
    const a = param([0, 0]);
    const b = param([0]);
    setGrad(a, [3, 0]);
    setGrad(b, [4]);
    const norm = t.clipGradNorm([a, b], 1);
    expect(norm).toBeCloseTo(5);
    expectClose([...a.grad!.data, ...b.grad!.data], [0.6, 0, 0.8], 1e-5);
    expect(t.clipGradNorm([a, b], 10)).toBeCloseTo(1, 4);
  });

  it('schedules: warm-up and cosine', () => {
    const warm = t.linearWarmup(4);
    expect([0, 1, 3, 10].map(warm)).toEqual([0.25, 0.5, 1, 1]);
    const cos = t.cosineSchedule({ warmupSteps: 2, totalSteps: 12, minRatio: 0.1 });
    expect(cos(0)).toBe(0.5);
    expect(cos(2)).toBeCloseTo(1);
    expect(cos(7)).toBeCloseTo(0.55);
    expect(cos(12)).toBeCloseTo(0.1);
    const opt = { lr: 0 };
    t.applySchedule(opt, 0.01, cos, 7);
    expect(opt.lr).toBeCloseTo(0.0055);
  });
});
