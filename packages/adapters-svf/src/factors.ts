import { svd, svdEach } from '@t2/svd';
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

function checkWeight(weight: WeightLike, name: string): [number, number] {
  if (weight.shape.length !== 2) {
    throw new Error(
      `svf: weight '${name}' must be 2-D [out, in], got [${weight.shape.join(', ')}]`,
    );
  }
  return weight.shape as [number, number];
}

/** Thin SVD of a weight [out, in] with `@t2/svd` (float64 inside, float32 factors out). */
export function decomposeWeight(weight: WeightLike, name: string): SvfFactors {
  const [out, inF] = checkWeight(weight, name);
  const r = svd({ shape: weight.shape, data: weight.data }, { mode: 'thin', name });
  return factorsFromArrays(r.U, r.S, r.V, out, inF, name);
}

/**
 * {@link decomposeWeight} of many weights at once, spread over worker threads in Node
 * (`svdEach` of `@t2/svd`; `threads` defaults to `T2_SVD_THREADS` or the host's cores ≤ 8).
 * `onFactors` gets each weight's factors as soon as they are ready, in completion order; the
 * float64 results are not kept. The factors equal `decomposeWeight`'s bit for bit.
 */
export async function decomposeWeights(
  weights: readonly { weight: WeightLike; name: string }[],
  onFactors: (factors: SvfFactors, index: number) => void | Promise<void>,
  threads?: number,
): Promise<void> {
  const shapes = weights.map(({ weight, name }) => checkWeight(weight, name));
  await svdEach(
    weights.map(({ weight, name }) => ({
      matrix: { shape: weight.shape, data: weight.data },
      mode: 'thin' as const,
      name,
    })),
    (r, i) => {
      const [out, inF] = shapes[i]!;
      return onFactors(factorsFromArrays(r.U, r.S, r.V, out, inF, weights[i]!.name), i);
    },
    threads === undefined ? {} : { threads },
  );
}
