// Bone/BAT block arithmetic on small cases worked out by hand (issue #19).
import { fromArray } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  batDelta,
  batMergeInPlace,
  batUnmergeInPlace,
  boneMergeInPlace,
  boneUpdate,
  invert,
} from '../src/bone/block-math';

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-9): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `entry ${i}`).toBeLessThan(tol);
  }
}

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number[] {
  const out = new Array<number>(n * n).fill(0);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++)
      for (let j = 0; j < n; j++) out[i * n + j]! += a[i * n + k]! * b[k * n + j]!;
  return out;
}

const eye = (n: number) => Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));

describe('invert (Gauss-Jordan with partial pivoting)', () => {
  it('inverts a 2×2 with a zero pivot: [[0, 2], [3, 1]]⁻¹ = [[1, −2], [−3, 0]] / −6', () => {
    const inv = invert(Float64Array.from([0, 2, 3, 1]), 2, 'm');
    close(inv, [-1 / 6, 2 / 6, 3 / 6, 0]);
  });

  it('inverts 3×3 and 4×4 matrices that need row swaps', () => {
    const a3 = [0, 1, 2, 1, 0, 3, 4, -3, 8];
    close(matmul(a3, invert(Float64Array.from(a3), 3, 'm'), 3), eye(3), 1e-12);
    // the largest pivot is chosen (0.001 would be a poor pivot for column 0)
    const a4 = [0.001, 2, 0, 1, 3, 1, 1, 0, 1, 0, 2, 1, 2, 1, 0, 3];
    close(matmul(a4, invert(Float64Array.from(a4), 4, 'm'), 4), eye(4), 1e-12);
    close(matmul(invert(Float64Array.from(a4), 4, 'm'), a4, 4), eye(4), 1e-12);
  });

  it('swaps in the row with the largest entry when the pivot is zero (3×3)', () => {
    // After column 0, the (1, 1) entry is 0 and only row 2 can be the pivot.
    for (const a of [
      [1, 0, 0, 0, 0, 1, 0, 1, 0],
      [1, 0, 5, 0, 0, 1, 0, 1, 0],
      [2, 0, 1, 0, 0, 3, 1, 4, 0],
      [0, 0, 1, 0, 1, 0, 1, 0, 0],
    ]) {
      const inv = invert(Float64Array.from(a), 3, 'm');
      close(matmul(a, inv, 3), eye(3), 1e-12);
    }
  });

  it('searches the pivot down the current column, not elsewhere in the row (4×4 permutation)', () => {
    // Column 1's only nonzero below the diagonal is in row 2; row 1's other entries are 0, so
    // a search that read the wrong entries would keep the zero pivot and call this singular.
    const p = [1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    const inv = invert(Float64Array.from(p), 4, 'm');
    // a permutation's inverse is its transpose
    close(inv, [1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    close(matmul(p, inv, 4), eye(4), 1e-12);
  });

  it('the singular threshold is inclusive: |pivot| ≤ 1e-12 · max(scale, 1)', () => {
    expect(() => invert(Float64Array.from([1e-12, 0, 0, 1]), 2, 'm')).toThrow(/singular/);
    close(invert(Float64Array.from([2e-12, 0, 0, 1]), 2, 'm'), [5e11, 0, 0, 1], 1);
  });

  it('refuses singular blocks, relative to the size of the entries', () => {
    expect(() => invert(Float64Array.from([1, 2, 2, 4]), 2, 'I + B[0]')).toThrow(
      'I + B[0] is singular, so BAT cannot be unmerged exactly',
    );
    // pivots below 1e-12 · max(max |entry|, 1)
    expect(() => invert(Float64Array.from([1e-13, 0, 0, 1e-13]), 2, 'm')).toThrow(/singular/);
    expect(() => invert(Float64Array.from([1e6, 0, 0, 1e-7]), 2, 'm')).toThrow(/singular/);
    // small but regular: fine
    close(invert(Float64Array.from([1e-6, 0, 0, 2e-6]), 2, 'm'), [1e6, 0, 0, 5e5], 1e-3);
    close(invert(Float64Array.from([-4, 0, 0, 1e-5]), 2, 'm'), [-0.25, 0, 0, 1e5], 1e-6);
  });
});

describe('Bone: ΔW[o, c] = B[c mod r, o]', () => {
  it('boneMergeInPlace adds and takes back the tiled block', () => {
    // W 2×3, r = 2, B [r, out] = [[1, 2], [3, 4]] → ΔW = [[1, 3, 1], [2, 4, 2]]
    const w = Float32Array.from([10, 20, 30, 40, 50, 60]);
    const block = Float32Array.from([1, 2, 3, 4]);
    boneMergeInPlace(w, 2, 3, block, 2, 1);
    expect(Array.from(w)).toEqual([11, 23, 31, 42, 54, 62]);
    boneMergeInPlace(w, 2, 3, block, 2, -1);
    expect(Array.from(w)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('boneUpdate sums the r-wide groups of the (zero-padded) input, then applies B', () => {
    // x = [1, 2, 3] → groups [1, 2], [3, 0] → sum [4, 2]; y = [4, 2] B = [4 + 6, 8 + 8]
    const y = boneUpdate(fromArray([1, 2, 3], [1, 3]), fromArray([1, 2, 3, 4], [2, 2]));
    expect(y.shape).toEqual([1, 2]);
    expect(Array.from(y.data)).toEqual([10, 16]);
    // in = 5, r = 4: three zeros of padding → [1, 2, 3, 4] + [5, 0, 0, 0] = [6, 2, 3, 4]
    const w = boneUpdate(fromArray([1, 2, 3, 4, 5], [1, 5]), fromArray([1, 2, 3, 4], [4, 1]));
    expect(Array.from(w.data)).toEqual([6 + 4 + 9 + 16]);
    // no padding needed: x = [1, 2, 3, 4] → [4, 6] B
    const z = boneUpdate(fromArray([1, 2, 3, 4], [1, 4]), fromArray([1, 2, 3, 4], [2, 2]));
    expect(Array.from(z.data)).toEqual([4 + 18, 8 + 24]);
  });
});

describe('BAT: ΔW_ac = W_ac B_a + B_a', () => {
  // W 2×4 (one output block, two input blocks of r = 2), B [1, 2, 2]
  const W = [1, 2, 5, 6, 3, 4, 7, 8];
  const B = [0.5, 1, 0, 2];
  /** W_ac B + B for the 2×2 tile starting at column c0 (by hand). */
  function tileDelta(c0: number): number[] {
    const t = [W[c0]!, W[c0 + 1]!, W[4 + c0]!, W[4 + c0 + 1]!];
    return matmul(t, B, 2).map((v, i) => v + B[i]!);
  }

  it('batDelta tiles W_ac B_a + B_a back into [out, in]', () => {
    const d0 = tileDelta(0);
    const d1 = tileDelta(2);
    const want = [d0[0]!, d0[1]!, d1[0]!, d1[1]!, d0[2]!, d0[3]!, d1[2]!, d1[3]!];
    close(batDelta(fromArray(W, [2, 4]), fromArray(B, [1, 2, 2])).data, want, 1e-6);
  });

  it('rejects a block that does not tile the weight', () => {
    expect(() =>
      batDelta(fromArray(W, [2, 4]), fromArray([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2])),
    ).toThrow('batDelta: block [2, 2, 2] does not tile weight [2, 4]');
    expect(() => batDelta(fromArray(W, [4, 2]), fromArray(B, [1, 2, 2]))).toThrow(/does not tile/);
    expect(() => batDelta(fromArray([1, 2, 3, 4, 5, 6], [2, 3]), fromArray(B, [1, 2, 2]))).toThrow(
      /does not tile/,
    );
    expect(() =>
      batDelta(fromArray(W, [2, 4]), fromArray([1, 2, 3, 4, 5, 6, 7, 8], [1, 4, 2])),
    ).toThrow(/does not tile/);
  });

  it('batMergeInPlace gives W + ΔW and batUnmergeInPlace inverts it', () => {
    const w = Float32Array.from(W);
    const block = Float32Array.from(B);
    batMergeInPlace(w, 2, 4, block, 2);
    const d0 = tileDelta(0);
    const d1 = tileDelta(2);
    close(
      w,
      [
        1 + d0[0]!,
        2 + d0[1]!,
        5 + d1[0]!,
        6 + d1[1]!,
        3 + d0[2]!,
        4 + d0[3]!,
        7 + d1[2]!,
        8 + d1[3]!,
      ],
      1e-5,
    );
    batUnmergeInPlace(w, 2, 4, block, 2, 'layer');
    close(w, W, 1e-5);
  });

  it('unmerging through a singular I + B names the layer and the block', () => {
    const w = Float32Array.from(W);
    // I + B = [[1, 1], [1, 1]] is singular
    expect(() => batUnmergeInPlace(w, 2, 4, Float32Array.from([0, 1, 1, 0]), 2, "BAT 'q'")).toThrow(
      "BAT 'q': I + B[0] is singular",
    );
  });

  it('two output blocks use their own B_a', () => {
    // W 4×2: output blocks a = 0 (rows 0-1) and a = 1 (rows 2-3), one input block
    const w4 = [1, 2, 3, 4, 5, 6, 7, 8];
    const b2 = [1, 0, 0, 1, 0, 1, 2, 0];
    const d = batDelta(fromArray(w4, [4, 2]), fromArray(b2, [2, 2, 2])).data;
    const top = matmul([1, 2, 3, 4], [1, 0, 0, 1], 2).map((v, i) => v + [1, 0, 0, 1][i]!);
    const bottom = matmul([5, 6, 7, 8], [0, 1, 2, 0], 2).map((v, i) => v + [0, 1, 2, 0][i]!);
    close(d, [...top, ...bottom], 1e-6);
    const w = Float32Array.from(w4);
    batMergeInPlace(w, 4, 2, Float32Array.from(b2), 2);
    close(
      w,
      w4.map((v, i) => v + [...top, ...bottom][i]!),
      1e-5,
    );
    batUnmergeInPlace(w, 4, 2, Float32Array.from(b2), 2, 'l');
    close(w, w4, 1e-5);
  });
});
