/**
 * Mixture coefficients α. Per expert: `K` values. Per expert per adapted weight:
 * `K × targets` values, row-major by expert (`alpha[k * targets + t]`), the layout
 * `mix` of @t2/adapters-svf takes as a `[K, targets]` table.
 */
export interface AlphaShape {
  experts: number;
  /** Adapted weights per expert when α is per layer; null when α is one value per expert. */
  targets: number | null;
}

export function alphaSize(shape: AlphaShape): number {
  return shape.experts * (shape.targets ?? 1);
}

/** The uniform mixture 1/K, the start of the few-shot search. */
export function uniformAlpha(shape: AlphaShape): Float64Array {
  return new Float64Array(alphaSize(shape)).fill(1 / shape.experts);
}

/** One-hot α selecting expert `index`. */
export function oneHotAlpha(shape: AlphaShape, index: number): Float64Array {
  if (!Number.isInteger(index) || index < 0 || index >= shape.experts) {
    throw new Error(`oneHotAlpha: expert index ${index} out of range for ${shape.experts} experts`);
  }
  const alpha = new Float64Array(alphaSize(shape));
  const t = shape.targets ?? 1;
  alpha.fill(1, index * t, (index + 1) * t);
  return alpha;
}

/**
 * Scales α to sum to 1 across experts (per adapted weight when α is per layer), as
 * Transformer² does before mixing. A column that sums to 0 (every coefficient clamped to
 * 0) has no direction to keep, so it becomes the uniform mixture.
 */
export function normaliseAlpha(alpha: ArrayLike<number>, shape: AlphaShape): Float64Array {
  const { experts } = shape;
  const t = shape.targets ?? 1;
  if (alpha.length !== experts * t) {
    throw new Error(
      `normaliseAlpha: got ${alpha.length} coefficients, expected ${experts}${shape.targets === null ? '' : ` × ${t}`}`,
    );
  }
  const out = new Float64Array(alpha.length);
  for (let j = 0; j < t; j++) {
    let sum = 0;
    for (let k = 0; k < experts; k++) {
      const a = alpha[k * t + j]!;
      if (!Number.isFinite(a) || a < 0)
        throw new Error(
          `normaliseAlpha: alpha[${k * t + j}] is ${a}; coefficients must be finite and ≥ 0`,
        );
      sum += a;
    }
    for (let k = 0; k < experts; k++)
      out[k * t + j] = sum > 0 ? alpha[k * t + j]! / sum : 1 / experts;
  }
  return out;
}

/** α as the `[K]` list or `[K, targets]` table that `mix` takes. */
export function alphaTable(alpha: Float64Array, shape: AlphaShape): number[] | number[][] {
  if (shape.targets === null) return Array.from(alpha);
  const t = shape.targets;
  return Array.from({ length: shape.experts }, (_, k) =>
    Array.from(alpha.subarray(k * t, (k + 1) * t)),
  );
}

/** Mean coefficient of each expert (over adapted weights when α is per layer), for traces. */
export function alphaPerExpert(alpha: Float64Array, shape: AlphaShape): number[] {
  const t = shape.targets ?? 1;
  return Array.from({ length: shape.experts }, (_, k) => {
    let s = 0;
    for (let j = 0; j < t; j++) s += alpha[k * t + j]!;
    return s / t;
  });
}

/** The cache key of a mixture: which experts, and α exactly (shortest round-trip decimals). */
export function mixtureKey(expertNames: readonly string[], alpha: ArrayLike<number>): string {
  return `${JSON.stringify(expertNames)}:${Array.from(alpha, (a) => String(a)).join(',')}`;
}
