import type { Tensor } from '@t2/tensor-core';
import { maskValues } from './compose';

/** Where an expert came from; written into its file's metadata. */
export interface SvfExpertMeta {
  /** Name of the base model (free text, e.g. `stories260K`). */
  baseModel?: string;
  /** `baseFingerprint` of the weights the expert adapts: loading onto other weights fails. */
  baseFingerprint?: string;
  /** What the expert was trained for (`math`, `string`, …). */
  task?: string;
}

/**
 * An SVF expert: one vector z per adapted weight, keyed by the module path
 * (`model.layers.0.mlp.up_proj`), and the `maxMult` its masks use.
 */
export interface SvfExpert {
  z: Map<string, Float32Array>;
  maxMult: number;
  meta: SvfExpertMeta;
}

/** Masks keyed by module path: what a layer composes its weight from. */
export type SvfMasks = Map<string, Float32Array>;

/** The masks `sigmoid(z) · maxMult` of an expert. */
export function expertMasks(expert: SvfExpert): SvfMasks {
  return new Map([...expert.z].map(([path, z]) => [path, maskValues(z, expert.maxMult)]));
}

/** Mixture weights: one per expert `[K]`, or one per expert per adapted weight `[K, targets]`. */
export type MixWeights =
  | readonly number[]
  | readonly (readonly number[])[]
  | Float32Array
  | Float64Array
  | Pick<Tensor, 'shape' | 'data'>;

/** α as a K × targets table. */
function alphaTable(alpha: MixWeights, k: number, targets: number): number[][] {
  let rows: number[][];
  if ('shape' in alpha && !Array.isArray(alpha)) {
    const { shape, data } = alpha as Pick<Tensor, 'shape' | 'data'>;
    if (shape.length === 1) rows = Array.from(data, (a) => new Array<number>(targets).fill(a));
    else if (shape.length === 2) {
      rows = [];
      for (let i = 0; i < shape[0]!; i++)
        rows.push(Array.from(data.subarray(i * shape[1]!, (i + 1) * shape[1]!)));
    } else
      throw new Error(`mix: alpha must have shape [K] or [K, targets], got [${shape.join(', ')}]`);
  } else {
    const list = Array.from(alpha as ArrayLike<number | readonly number[]>);
    rows = list.map((a) => (typeof a === 'number' ? new Array<number>(targets).fill(a) : [...a]));
  }
  if (rows.length !== k) throw new Error(`mix: ${rows.length} coefficients for ${k} experts`);
  rows.forEach((row, i) => {
    if (row.length !== targets) {
      throw new Error(
        `mix: alpha row ${i} has ${row.length} values, the experts adapt ${targets} weights`,
      );
    }
    row.forEach((a, j) => {
      if (!Number.isFinite(a)) throw new Error(`mix: alpha[${i}][${j}] is ${a}`);
    });
  });
  return rows;
}

/**
 * How `mix` combines masks. `convex` is Transformer²'s `m' = Σ_k α_k m_k` (the runtime
 * normalises α to sum to 1 first). `additive` adds what each expert learned, measured from
 * the mask SVF training starts at (z = 0, m₀ = maxMult/2; the default init z = 0.1 is within
 * 0.025·maxMult of it): `m' = m₀ + Σ_k α_k (m_k − m₀)`, α not normalised, so two experts at
 * α = 1 each apply in full (task arithmetic). One-hot α gives the same masks in both.
 */
export type Mixing = 'convex' | 'additive';

export const MIXINGS: readonly Mixing[] = ['convex', 'additive'];

export interface MixOptions {
  /** Default 'convex' (the reference). */
  mixing?: Mixing;
}

/**
 * Mixes experts in mask space, `m' = Σ_k α_k m_k` (Transformer²; see `Mixing` for the
 * additive form): α is one weight per expert, or one per expert per adapted weight in the
 * order of the first expert's keys. Every expert must adapt the same weights with the same
 * ranks (and, for additive mixing, the same maxMult).
 */
export function mix(
  experts: readonly SvfExpert[],
  alpha: MixWeights,
  opts: MixOptions = {},
): SvfMasks {
  const mixing = opts.mixing ?? 'convex';
  if (!MIXINGS.includes(mixing)) {
    throw new Error(`mix: mixing must be one of ${MIXINGS.join(', ')}, got '${String(mixing)}'`);
  }
  if (experts.length === 0) throw new Error('mix: no experts');
  const paths = [...experts[0]!.z.keys()];
  experts.forEach((e, i) => {
    const own = [...e.z.keys()];
    const missing = paths.filter((p) => !e.z.has(p));
    if (missing.length || own.length !== paths.length) {
      throw new Error(
        `mix: expert ${i} adapts other weights than expert 0 (${missing.length ? `missing ${missing.join(', ')}` : `${own.length} vs ${paths.length} targets`})`,
      );
    }
  });
  const table = alphaTable(alpha, experts.length, paths.length);
  const masks = experts.map(expertMasks);
  let centre = 0;
  if (mixing === 'additive') {
    centre = experts[0]!.maxMult / 2;
    const other = experts.findIndex((e) => e.maxMult !== experts[0]!.maxMult);
    if (other >= 0) {
      throw new Error(
        `mix: additive mixing needs one maxMult, expert ${other} has ${experts[other]!.maxMult}, expert 0 ${experts[0]!.maxMult}`,
      );
    }
  }
  const out: SvfMasks = new Map();
  paths.forEach((path, j) => {
    const len = masks[0]!.get(path)!.length;
    const m = new Float32Array(len);
    masks.forEach((em, i) => {
      const mk = em.get(path)!;
      if (mk.length !== len)
        throw new Error(
          `mix: expert ${i} has ${mk.length} values for '${path}', expert 0 has ${len}`,
        );
      const a = table[i]![j]!;
      for (let t = 0; t < len; t++) m[t]! += a * (mk[t]! - centre);
    });
    // additive: back from differences to a mask; a singular value cannot be scaled below 0
    if (mixing === 'additive') for (let t = 0; t < len; t++) m[t] = Math.max(0, m[t]! + centre);
    out.set(path, m);
  });
  return out;
}
