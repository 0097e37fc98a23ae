import { expect } from 'vitest';
import { fromArray, mul, noGrad, Rng, sum, type Tensor } from '../src/index';

/**
 * Finite-difference gradient check. The scalar L = Σ f(inputs) ⊙ R (R fixed random) is
 * differentiated analytically by autograd and numerically by central differences in
 * every coordinate of every input that requires grad.
 */
export function checkGradients(
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: { eps?: number; atol?: number; rtol?: number; seed?: number } = {},
): void {
  const { eps = 1e-2, atol = 2e-3, rtol = 2e-2, seed = 7 } = opts;
  const rng = new Rng(seed);
  const probeOut = noGrad(() => f(...inputs));
  const r = fromArray(
    Array.from({ length: probeOut.size }, () => rng.normal()),
    probeOut.shape,
  );
  for (const x of inputs) x.grad = null;
  const loss = sum(mul(f(...inputs), r));
  loss.backward();
  const scalar = () => noGrad(() => sum(mul(f(...inputs), r)).item());
  for (const [k, x] of inputs.entries()) {
    if (!x.requiresGrad) continue;
    const analytic = x.grad?.data;
    expect(analytic, `input ${k} got no gradient`).toBeDefined();
    for (let i = 0; i < x.size; i++) {
      const orig = x.data[i]!;
      x.data[i] = orig + eps;
      const up = scalar();
      x.data[i] = orig - eps;
      const down = scalar();
      x.data[i] = orig;
      const numeric = (up - down) / (2 * eps);
      const a = analytic![i]!;
      const tol = atol + rtol * Math.max(Math.abs(numeric), Math.abs(a));
      if (Math.abs(a - numeric) > tol) {
        throw new Error(
          `gradient of input ${k} [${i}]: autograd ${a}, finite difference ${numeric}`,
        );
      }
    }
  }
}

/** Asserts two arrays agree elementwise within atol + rtol·|expected|. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = 1e-5,
  rtol = 1e-5,
): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (Number.isNaN(e)) {
      expect(Number.isNaN(a), `index ${i}`).toBe(true);
      continue;
    }
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e)) && a !== e) {
      throw new Error(`index ${i}: got ${a}, expected ${e}`);
    }
  }
}
