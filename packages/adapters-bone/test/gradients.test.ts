import { fromArray, mul, Rng, sum, type Tensor } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { inject } from '../src/index';
import { expectClose, flat, golden, OneLinear } from './helpers';

// Float64 re-implementations written straight from METHODS.md, independent of the
// library's tensor code: the reference for finite differences.

/** y = x Wᵀ + (Σ_g x_g) B with zero padding; x [n, in], W [out, in], B [r, out]. */
function boneRef(
  W: number[],
  B: number[],
  x: number[],
  n: number,
  out: number,
  inF: number,
  r: number,
): number[] {
  const y = new Array<number>(n * out).fill(0);
  for (let s = 0; s < n; s++) {
    const groupSum = new Array<number>(r).fill(0);
    for (let c = 0; c < inF; c++) groupSum[c % r]! += x[s * inF + c]!;
    for (let o = 0; o < out; o++) {
      let v = 0;
      for (let c = 0; c < inF; c++) v += x[s * inF + c]! * W[o * inF + c]!;
      for (let j = 0; j < r; j++) v += groupSum[j]! * B[j * out + o]!;
      y[s * out + o] = v;
    }
  }
  return y;
}

/** y = x W'ᵀ with W'_ac = W_ac + W_ac B_a + B_a; B [out/r, r, r]. */
function batRef(
  W: number[],
  B: number[],
  x: number[],
  n: number,
  out: number,
  inF: number,
  r: number,
): number[] {
  const Wp = new Array<number>(out * inF);
  for (let o = 0; o < out; o++) {
    const a = Math.floor(o / r);
    for (let c = 0; c < inF; c++) {
      const cb = Math.floor(c / r);
      const j = c % r;
      let v = W[o * inF + c]! + B[a * r * r + (o % r) * r + j]!;
      for (let k = 0; k < r; k++) v += W[o * inF + cb * r + k]! * B[a * r * r + k * r + j]!;
      Wp[o * inF + c] = v;
    }
  }
  const y = new Array<number>(n * out).fill(0);
  for (let s = 0; s < n; s++) {
    for (let o = 0; o < out; o++) {
      let v = 0;
      for (let c = 0; c < inF; c++) v += x[s * inF + c]! * Wp[o * inF + c]!;
      y[s * out + o] = v;
    }
  }
  return y;
}

type Ref = typeof boneRef;

/** Central differences of L = Σ ref(...) ⊙ R in float64 w.r.t. every entry of `arg`. */
function numericGrad(
  f: (B: number[], x: number[]) => number[],
  B: number[],
  x: number[],
  R: number[],
  which: 'B' | 'x',
): number[] {
  const eps = 1e-6;
  const target = which === 'B' ? B : x;
  const loss = () => f(B, x).reduce((s, v, i) => s + v * R[i]!, 0);
  return target.map((orig, i) => {
    target[i] = orig + eps;
    const up = loss();
    target[i] = orig - eps;
    const down = loss();
    target[i] = orig;
    return (up - down) / (2 * eps);
  });
}

const cases: [string, 'bone_div' | 'bone_pad' | 'bat', Ref][] = [
  ['Bone, in divisible by r', 'bone_div', boneRef],
  ['Bone, padded input', 'bone_pad', boneRef],
  ['BAT', 'bat', batRef],
];

describe.each(cases)('%s', (_label, name, ref) => {
  const g = golden(name);
  const out = g.W.length;
  const inF = g.W[0]!.length;
  const n = g.x.length;
  const isBat = name === 'bat';
  const r = isBat ? 4 : g.block.length;
  const W = flat(g.W);
  const B = flat(g.block);
  const X = flat(g.x);
  const f = (b: number[], x: number[]) => ref(W, b, x, n, out, inF, r);

  it('the float64 reference reproduces the golden y', () => {
    expectClose(f(B, X), flat(g.y), 1e-9);
  });

  it('autograd gradients w.r.t. the block and the input match finite differences', () => {
    const model = new OneLinear(inF, out, { bias: false });
    const handle = inject(model, { r, targetModules: ['proj'], initWeights: isBat ? 'bat' : true });
    handle.layer('proj').baseLayer.weight.data.set(W);
    const block = handle.layer('proj').block('default');
    block.data.set(B);
    const x = fromArray(X, [n, inF]).requireGrad();
    const rng = new Rng(3);
    const R = Array.from({ length: n * out }, () => rng.normal());
    sum(mul(model.forward(x), fromArray(R, [n, out]))).backward();
    expectClose(block.grad!.data, numericGrad(f, [...B], [...X], R, 'B'), 1e-4);
    expectClose(x.grad!.data, numericGrad(f, [...B], [...X], R, 'x'), 1e-4);
    // The base weight is frozen: no gradient is accumulated for it.
    expect(handle.layer('proj').baseLayer.weight.grad).toBeNull();
  });

  it('batched 3-D inputs give the same gradients as the rows one by one', () => {
    const model = new OneLinear(inF, out, { bias: true, rng: new Rng(5) });
    const handle = inject(model, { r, targetModules: ['proj'], initWeights: isBat ? 'bat' : true });
    const block = handle.layer('proj').block('default');
    block.data.set(B);
    const rng = new Rng(9);
    const X3 = Array.from({ length: 2 * n * inF }, () => rng.normal());
    const R3 = Array.from({ length: 2 * n * out }, () => rng.normal());
    const grad = (xs: Tensor, rs: Tensor) => {
      block.grad = null;
      sum(mul(model.forward(xs), rs)).backward();
      return Float32Array.from(block.grad!.data);
    };
    const whole = grad(fromArray(X3, [2, n, inF]), fromArray(R3, [2, n, out]));
    const perRow = new Float64Array(block.size);
    for (let s = 0; s < 2 * n; s++) {
      const g1 = grad(
        fromArray(X3.slice(s * inF, (s + 1) * inF), [inF]),
        fromArray(R3.slice(s * out, (s + 1) * out), [out]),
      );
      g1.forEach((v, i) => {
        perRow[i]! += v;
      });
    }
    expectClose(whole, perRow, 1e-4);
  });
});
