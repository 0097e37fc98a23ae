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

  // Where the two rules differ. With w = 2, lr = 0.1, wd = 0.1 and a first gradient of 0.5:
  //  decoupled (AdamW): w ← 2 − lr·wd·2 = 1.98, then Adam's first step is lr·sign(g) = 0.1 → 1.88;
  //  L2 (Adam):         g ← 0.5 + wd·2 = 0.7, Adam's first step is lr·sign(0.7) = 0.1 → 1.9.
  // (The old numbers w = 2, wd = 0.5, g = 0 gave 1.9 for both: lr·wd·w happened to equal lr.)
  // Later steps are checked against the rules written out step by step.
  const decay = { w0: 2, lr: 0.1, wd: 0.1, grads: [0.5, 0.3, 0.2] };

  /** Adam with weight decay, written from the papers: L2 (Kingma & Ba + wd·w in g) or decoupled (Loshchilov & Hutter). */
  function adamByHand(rule: 'l2' | 'decoupled'): number[] {
    const { lr, wd, grads } = decay;
    let w = decay.w0;
    let m = 0;
    let v = 0;
    const out: number[] = [];
    grads.forEach((g0, i) => {
      const t = i + 1;
      let g = g0;
      if (rule === 'l2') g += wd * w;
      else w -= lr * wd * w;
      m = 0.9 * m + 0.1 * g;
      v = 0.999 * v + 0.001 * g * g;
      w -= (lr * (m / (1 - 0.9 ** t))) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8);
      out.push(w);
    });
    return out;
  }

  function run(opt: t.Adam, p: t.Tensor): number[] {
    return decay.grads.map((g) => {
      setGrad(p, [g]);
      opt.step();
      return p.data[0]!;
    });
  }

  it('AdamW decays weights directly; Adam adds L2 to the gradient', () => {
    const l2 = adamByHand('l2');
    const decoupled = adamByHand('decoupled');
    // first step by hand (see above), and the rules far apart at every step
    expect(decoupled[0]).toBeCloseTo(1.88, 6);
    expect(l2[0]).toBeCloseTo(1.9, 6);
    for (const [i, w] of decoupled.entries()) expect(Math.abs(w - l2[i]!)).toBeGreaterThan(0.015);

    const a = param([decay.w0]);
    const adamW = run(new t.AdamW([a], { lr: decay.lr, weightDecay: decay.wd }), a);
    expectClose(adamW, decoupled, 1e-6, 1e-5);

    const b = param([decay.w0]);
    const adam = run(new t.Adam([b], { lr: decay.lr, weightDecay: decay.wd }), b);
    expectClose(adam, l2, 1e-6, 1e-5);
  });

  it('AdamW with a zero gradient only decays; its default decay is 0.01', () => {
    const a = param([2, -4]);
    const opt = new t.AdamW([a], { lr: 0.5 });
    setGrad(a, [0, 0]);
    opt.step();
    // w·(1 − lr·0.01); the Adam part is 0/(0 + eps) = 0
    expectClose(a.data, [2 * (1 - 0.005), -4 * (1 - 0.005)], 1e-7);
    const b = param([2]);
    const adam = new t.Adam([b], { lr: 0.5 });
    setGrad(b, [0]);
    adam.step();
    // plain Adam has no decay by default: nothing moves
    expect(b.data[0]).toBe(2);
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
    expect([0, 1, 3, 4, 10].map(warm)).toEqual([0.25, 0.5, 1, 1, 1]);
    const cos = t.cosineSchedule({ warmupSteps: 2, totalSteps: 12, minRatio: 0.1 });
    expect(cos(0)).toBe(0.5);
    expect(cos(2)).toBeCloseTo(1);
    expect(cos(7)).toBeCloseTo(0.55);
    expect(cos(12)).toBeCloseTo(0.1);
    const opt = { lr: 0 };
    t.applySchedule(opt, 0.01, cos, 7);
    expect(opt.lr).toBeCloseTo(0.0055);
  });
  it('SGD weight decay is L2 added to the gradient: d = g + wd·w', () => {
    const p = param([2, -1]);
    const opt = new t.SGD([p], { lr: 0.1, weightDecay: 0.5 });
    setGrad(p, [0.4, 0.2]);
    opt.step();
    // d = [0.4 + 1, 0.2 − 0.5] = [1.4, −0.3]
    expectClose(p.data, [2 - 0.14, -1 + 0.03], 1e-7);
  });

  it('Adam’s eps sits beside the bias-corrected root: m̂ / (sqrt(v̂) + eps)', () => {
    // A large eps makes the rule visible: first step m̂ = g, sqrt(v̂) = |g|.
    const p = param([1]);
    const opt = new t.Adam([p], { lr: 0.1, eps: 0.5 });
    setGrad(p, [0.5]);
    opt.step();
    expectClose(p.data, [1 - (0.1 * 0.5) / (0.5 + 0.5)], 1e-7);
  });

  it('a negative or NaN learning rate is refused; zero is allowed', () => {
    expect(() => new t.SGD([param([1])], { lr: -0.1 })).toThrow(/learning rate -0.1 must be ≥ 0/);
    expect(() => new t.Adam([param([1])], { lr: Number.NaN })).toThrow(/learning rate NaN/);
    expect(new t.SGD([param([1])], { lr: 0 }).lr).toBe(0);
  });

  it('zeroGrad drops every gradient', () => {
    const a = param([1]);
    const b = param([2]);
    setGrad(a, [1]);
    setGrad(b, [2]);
    const opt = new t.SGD([a, b], { lr: 0.1 });
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    expect(b.grad).toBeNull();
    // a step without gradients changes nothing
    opt.step();
    expect([a.data[0], b.data[0]]).toEqual([1, 2]);
  });

  it('saved state names its slots and is refused for other parameters', () => {
    const a = param([1, 2]);
    const adam = new t.Adam([a], { lr: 0.1 });
    setGrad(a, [0.1, 0.2]);
    adam.step();
    const state = adam.stateDict();
    expect(Object.keys(state.slots).sort()).toEqual(['m', 'v']);
    const sgd = new t.SGD([a], { lr: 0.1, momentum: 0.9 });
    setGrad(a, [0.1, 0.2]);
    sgd.step();
    expect(Object.keys(sgd.stateDict().slots)).toEqual(['momentum']);
    // more parameters than saved (the first one matches)
    expect(() => new t.Adam([param([0, 0]), param([0])]).loadStateDict(state)).toThrow(
      /does not match/,
    );
    // the right count, one of them of another size
    const two = new t.Adam([param([0, 0]), param([0])]);
    setGrad(two.params[0]!, [1, 1]);
    setGrad(two.params[1]!, [1]);
    two.step();
    const saved = two.stateDict();
    expect(() => new t.Adam([param([0, 0]), param([0, 0])]).loadStateDict(saved)).toThrow(
      /does not match/,
    );
  });

  it('clipGradNorm leaves gradients at or below the max norm untouched', () => {
    const a = param([0, 0]);
    setGrad(a, [3, 4]);
    expect(t.clipGradNorm([a], 10)).toBe(5);
    expect(Array.from(a.grad!.data)).toEqual([3, 4]);
    // exactly at the max: no scaling either
    expect(t.clipGradNorm([a], 5)).toBe(5);
    expect(Array.from(a.grad!.data)).toEqual([3, 4]);
  });

  it('clipGradNorm scales by max / (norm + 1e-6), PyTorch’s coefficient', () => {
    // With a tiny norm the 1e-6 matters: 5e-6 → coefficient 1e-6 / 6e-6 = 1/6.
    const a = param([0, 0]);
    setGrad(a, [3e-6, 4e-6]);
    t.clipGradNorm([a], 1e-6);
    expectClose(a.grad!.data, [3e-6 / 6, 4e-6 / 6], 1e-12, 1e-4);
  });
});
