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
 * Mixes experts in mask space, `m' = Σ_k α_k m_k` (Transformer²): α is one weight per
 * expert, or one per expert per adapted weight in the order of the first expert's keys.
 * Every expert must adapt the same weights with the same ranks.
 */
export function mix(experts: readonly SvfExpert[], alpha: MixWeights): SvfMasks {
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
      for (let t = 0; t < len; t++) m[t]! += a * mk[t]!;
    });
    out.set(path, m);
  });
  return out;
}
