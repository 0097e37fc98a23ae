import { add, formatShape, matmul, pad, permute, reshape, sum, type Tensor } from '@t2/tensor-core';

/**
 * Bone's update `(Σ_g x_g) B` for input `x [..., in]` and block `B [r, out]`: the input is
 * zero-padded to a multiple of `r`, cut into r-wide groups, and the groups are summed.
 * Never materialises the `(out, in)` weight.
 */
export function boneUpdate(x: Tensor, block: Tensor): Tensor {
  const r = block.shape[0]!;
  const inFeatures = x.shape[x.ndim - 1]!;
  const extra = (r - (inFeatures % r)) % r;
  const padded =
    extra === 0 ? x : pad(x, [...x.shape.slice(0, -1).map(() => [0, 0] as const), [0, extra]]);
  const groups = reshape(padded, [...x.shape.slice(0, -1), (inFeatures + extra) / r, r]);
  return matmul(sum(groups, -2), block);
}

/**
 * BAT's update of `W [out, in]` with block `B [out/r, r, r]`: for the r×r block `W_ac`
 * (output block a, input block c), `ΔW_ac = W_ac B_a + B_a`. Differentiable in both.
 */
export function batDelta(weight: Tensor, block: Tensor): Tensor {
  const [out, inFeatures] = weight.shape as [number, number];
  const r = block.shape[2]!;
  if (out % r !== 0 || inFeatures % r !== 0 || block.shape[0] !== out / r || block.shape[1] !== r) {
    throw new Error(
      `batDelta: block ${formatShape(block.shape)} does not tile weight ${formatShape(weight.shape)}`,
    );
  }
  // [out/r, r, in/r, r] -> [in/r, out/r, r, r]: each W_ac as a matrix, batched over (c, a).
  const blocks = permute(reshape(weight, [out / r, r, inFeatures / r, r]), [2, 0, 1, 3]);
  const delta = add(matmul(blocks, block), block);
  return reshape(permute(delta, [1, 2, 0, 3]), [out, inFeatures]);
}

/** `W' = W + ΔW`, the weight BAT's forward pass uses. */
export function batWeight(weight: Tensor, block: Tensor): Tensor {
  return add(weight, batDelta(weight, block));
}

/**
 * Adds (`sign` 1) or removes (`sign` -1) Bone's merged delta in place:
 * `W[o, c] += B[c mod r, o]`.
 */
export function boneMergeInPlace(
  weight: Float32Array,
  out: number,
  inFeatures: number,
  block: Float32Array,
  r: number,
  sign: 1 | -1,
): void {
  for (let o = 0; o < out; o++) {
    const row = o * inFeatures;
    for (let c = 0; c < inFeatures; c++) weight[row + c]! += sign * block[(c % r) * out + o]!;
  }
}

/** `W ← W (I + B_a) + B_a` per r×r block, in float64 before rounding once. */
export function batMergeInPlace(
  weight: Float32Array,
  out: number,
  inFeatures: number,
  block: Float32Array,
  r: number,
): void {
  const tile = new Float64Array(r * r);
  forEachTile(out, inFeatures, r, (a, rowOf) => {
    const b = a * r * r;
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < r; j++) {
        let s = weight[rowOf(i) + j]! + block[b + i * r + j]!;
        for (let k = 0; k < r; k++) s += weight[rowOf(i) + k]! * block[b + k * r + j]!;
        tile[i * r + j] = s;
      }
    }
    for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) weight[rowOf(i) + j] = tile[i * r + j]!;
  });
}

/** Exact inverse of `batMergeInPlace`: `W ← (W' − B_a)(I + B_a)^-1`, in float64. */
export function batUnmergeInPlace(
  weight: Float32Array,
  out: number,
  inFeatures: number,
  block: Float32Array,
  r: number,
  where: string,
): void {
  const inverses: Float64Array[] = [];
  for (let a = 0; a < out / r; a++) {
    const m = new Float64Array(r * r);
    for (let i = 0; i < r * r; i++) m[i] = block[a * r * r + i]!;
    for (let i = 0; i < r; i++) m[i * r + i]! += 1;
    inverses.push(invert(m, r, `${where}: I + B[${a}]`));
  }
  const diff = new Float64Array(r * r);
  forEachTile(out, inFeatures, r, (a, rowOf) => {
    const inv = inverses[a]!;
    const b = a * r * r;
    for (let i = 0; i < r; i++)
      for (let k = 0; k < r; k++) diff[i * r + k] = weight[rowOf(i) + k]! - block[b + i * r + k]!;
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < r; j++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += diff[i * r + k]! * inv[k * r + j]!;
        weight[rowOf(i) + j] = s;
      }
    }
  });
}

/** Calls `fn(a, rowOf)` for each r×r tile; `rowOf(i)` is the flat index of the tile's row i, column 0. */
function forEachTile(
  out: number,
  inFeatures: number,
  r: number,
  fn: (a: number, rowOf: (i: number) => number) => void,
): void {
  for (let a = 0; a < out / r; a++) {
    for (let c = 0; c < inFeatures / r; c++) {
      fn(a, (i) => (a * r + i) * inFeatures + c * r);
    }
  }
}

/** Gauss-Jordan inverse with partial pivoting (r is small: one block of BAT). */
export function invert(m: Float64Array, n: number, what: string): Float64Array {
  const a = Float64Array.from(m);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  let scale = 0;
  for (const v of m) scale = Math.max(scale, Math.abs(v));
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let i = col + 1; i < n; i++)
      if (Math.abs(a[i * n + col]!) > Math.abs(a[p * n + col]!)) p = i;
    const pivot = a[p * n + col]!;
    if (Math.abs(pivot) <= 1e-12 * Math.max(scale, 1)) {
      throw new Error(`${what} is singular, so BAT cannot be unmerged exactly`);
    }
    if (p !== col) {
      for (let j = 0; j < n; j++) {
        [a[p * n + j], a[col * n + j]] = [a[col * n + j]!, a[p * n + j]!];
        [inv[p * n + j], inv[col * n + j]] = [inv[col * n + j]!, inv[p * n + j]!];
      }
    }
    for (let j = 0; j < n; j++) {
      a[col * n + j]! /= pivot;
      inv[col * n + j]! /= pivot;
    }
    for (let i = 0; i < n; i++) {
      if (i === col) continue;
      const f = a[i * n + col]!;
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        a[i * n + j]! -= f * a[col * n + j]!;
        inv[i * n + j]! -= f * inv[col * n + j]!;
      }
    }
  }
  return inv;
}
