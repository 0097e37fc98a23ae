// SVF's mask and composition on numbers worked out by hand (issue #19).
import { fromArray } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  composeWeight,
  composeWeightFromMask,
  factorsFromArrays,
  maskFromZ,
  maskValues,
} from '../src/index';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (const [i, e] of expected.entries()) {
    expect(Math.abs(actual[i]! - e), `entry ${i}`).toBeLessThan(tol);
  }
}

describe('SVF mask m = sigmoid(z) · maxMult', () => {
  const z = [-1, 0, 2];

  it('as a tensor and as numbers, for maxMult 1 and 2', () => {
    close(maskFromZ(fromArray(z), 1).data, z.map(sigmoid));
    close(
      maskFromZ(fromArray(z), 2).data,
      z.map((v) => 2 * sigmoid(v)),
    );
    close(maskValues(z, 1), z.map(sigmoid));
    close(
      maskValues(z, 2.5),
      z.map((v) => 2.5 * sigmoid(v)),
    );
  });
});

describe('composeWeight: W′ = U diag(σ ⊙ m) Vᵀ · Σσ / Σ(σ ⊙ m)', () => {
  // U and V are rotations (by 0.3 and −0.7 rad), so a transposed factor shows.
  const rot = (a: number) => [Math.cos(a), -Math.sin(a), Math.sin(a), Math.cos(a)];
  const U = rot(0.3);
  const V = rot(-0.7);
  const s = [3, 1];
  const factors = factorsFromArrays(U, s, V, 2, 2, 'w');

  /** U diag(d) Vᵀ, written out for 2×2. */
  function usv(d: number[]): number[] {
    const out: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++)
        out.push(U[i * 2]! * d[0]! * V[j * 2]! + U[i * 2 + 1]! * d[1]! * V[j * 2 + 1]!);
    return out;
  }

  it('a mask that keeps one direction rescales it by Σσ / Σ(σ ⊙ m) = 4/3', () => {
    // σ ⊙ m = [3, 0]; the sum ratio (not the max ratio 3/3) makes it [4, 0].
    close(composeWeightFromMask(factors, [1, 0]).data, usv([4, 0]));
  });

  it('a uniform mask gives W back; a lopsided one moves weight between directions', () => {
    close(composeWeightFromMask(factors, [0.5, 0.5]).data, usv([3, 1]));
    // σ ⊙ m = [0.3, 0.9], ratio 4 / 1.2
    const r = 4 / 1.2;
    close(composeWeightFromMask(factors, [0.1, 0.9]).data, usv([0.3 * r, 0.9 * r]), 1e-5);
  });

  it('refuses a mask that is not one value per singular value', () => {
    expect(() => composeWeight(factors, fromArray([1, 1], [1, 2]))).toThrow(
      'svf: mask has shape [1, 2], the weight has 2 singular values',
    );
    expect(() => composeWeight(factors, fromArray([1, 1, 1]))).toThrow(
      'svf: mask has shape [3], the weight has 2 singular values',
    );
  });
});
