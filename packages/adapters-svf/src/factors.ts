import { svd } from '@t2/svd';
import { fromArray, keep, type Tensor } from '@t2/tensor-core';
import type { WeightLike } from './hash';

/**
 * Frozen thin SVD of one adapted weight `W (out×in) = U diag(σ) Vᵀ`, `k = min(out, in)`.
 * Tensors are constants of the autograd graph: only `z` is trained.
 */
export interface SvfFactors {
  /** Left singular vectors, [out, k]. */
  U: Tensor;
  /** Singular values, descending, [k]. */
  singularValues: Tensor;
  /** Right singular vectors, [in, k]. */
  V: Tensor;
}

/** Factors from float arrays (SVD output or a cache file), checked against the weight shape. */
export function factorsFromArrays(
  U: ArrayLike<number>,
  S: ArrayLike<number>,
  V: ArrayLike<number>,
  out: number,
  inF: number,
  name: string,
): SvfFactors {
  const k = Math.min(out, inF);
  if (U.length !== out * k || S.length !== k || V.length !== inF * k) {
    throw new Error(
      `svf: factors of '${name}' do not fit a ${out}×${inF} weight (U ${U.length}, S ${S.length}, V ${V.length} values; expected ${out * k}, ${k}, ${inF * k})`,
    );
  }
  // keep(): the factors live as long as the adapter, whatever tidy() scope creates them.
  return {
    U: keep(fromArray(U, [out, k])),
    singularValues: keep(fromArray(S, [k])),
    V: keep(fromArray(V, [inF, k])),
  };
}

/** Thin SVD of a weight [out, in] with `@t2/svd` (float64 inside, float32 factors out). */
export function decomposeWeight(weight: WeightLike, name: string): SvfFactors {
  if (weight.shape.length !== 2) {
    throw new Error(
      `svf: weight '${name}' must be 2-D [out, in], got [${weight.shape.join(', ')}]`,
    );
  }
  const [out, inF] = weight.shape as [number, number];
  const r = svd({ shape: weight.shape, data: weight.data }, { mode: 'thin', name });
  return factorsFromArrays(r.U, r.S, r.V, out, inF, name);
}
