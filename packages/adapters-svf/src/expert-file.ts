import {
  firstNonFinite,
  fromArray,
  InputError,
  type Module,
  parseSafetensors,
  readSafetensorsFile,
  serializeSafetensors,
  type Tensor,
  writeSafetensorsFile,
} from '@t2/tensor-core';
import type { SvfExpert, SvfExpertMeta } from './expert';
import { baseFingerprint, weightHash } from './hash';
import { SvfLinear } from './layer';

/** What expert files need of an injected `SvfModel` (kept structural: the model writes experts too). */
interface AdaptedModel {
  readonly layers: ReadonlyMap<string, { readonly rank: number }>;
  readonly targets: string[];
  fingerprint(paths?: readonly string[]): Promise<string>;
}

export const EXPERT_FORMAT = 't2-svf-expert';

/** An expert file that cannot be used (not an expert, corrupt, made for another model). */
export class ExpertError extends InputError {
  override name = 'ExpertError';
}

export interface LoadExpertOptions {
  /**
   * Accept an expert whose file records no base-model fingerprint (it cannot be checked
   * against the model; default false: refused, since it would load on any model).
   */
  allowUnverified?: boolean;
}
const Z_SUFFIX = '.svf_z';

function expertTensors(expert: SvfExpert): Map<string, Tensor> {
  return new Map(
    [...expert.z].map(([path, z]) => [`${path}${Z_SUFFIX}`, fromArray(z, [z.length])]),
  );
}

function expertMetadata(expert: SvfExpert): Record<string, string> {
  const { baseModel, baseFingerprint: fp, task } = expert.meta;
  const md: Record<string, string> = {
    format: EXPERT_FORMAT,
    format_version: '1',
    max_mult: String(expert.maxMult),
    targets: JSON.stringify([...expert.z.keys()]),
  };
  if (baseModel !== undefined) md.base_model = baseModel;
  if (fp !== undefined) md.base_fingerprint = fp;
  if (task !== undefined) md.task = task;
  return md;
}

/** An expert as safetensors bytes: one `<module path>.svf_z` tensor per adapted weight. */
export function serializeExpert(expert: SvfExpert): Uint8Array {
  return serializeSafetensors(expertTensors(expert), { metadata: expertMetadata(expert) });
}

/** Reads an expert from parsed safetensors contents; `file` names it in errors. */
function expertFromFile(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string>,
  file: string,
): SvfExpert {
  if (metadata.format !== EXPERT_FORMAT) {
    throw new ExpertError(
      `${file}: not an SVF expert (metadata format is ${JSON.stringify(metadata.format)}, expected '${EXPERT_FORMAT}')`,
    );
  }
  const maxMult = Number(metadata.max_mult);
  if (!(maxMult > 0))
    throw new ExpertError(`${file}: invalid max_mult ${JSON.stringify(metadata.max_mult)}`);
  const z = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    if (!name.endsWith(Z_SUFFIX))
      throw new ExpertError(
        `${file}: unexpected tensor '${name}' (expert tensors end with '${Z_SUFFIX}')`,
      );
    if (t.ndim !== 1)
      throw new ExpertError(`${file}: tensor '${name}' must be 1-D, got [${t.shape.join(', ')}]`);
    const bad = firstNonFinite(t.data);
    if (bad >= 0)
      throw new ExpertError(
        `${file}: tensor '${name}' holds ${t.data[bad]} at [${bad}]; z must be finite (a NaN would silently zero or poison the adapted layer)`,
      );
    z.set(name.slice(0, -Z_SUFFIX.length), Float32Array.from(t.data));
  }
  if (z.size === 0) throw new ExpertError(`${file}: the expert has no tensors`);
  return { z: inModelOrder(z, metadata.targets), maxMult, meta: metaOf(metadata) };
}

/** safetensors sorts names; `targets` in the metadata keeps the model's layer order. */
function inModelOrder(
  z: Map<string, Float32Array>,
  targets: string | undefined,
): Map<string, Float32Array> {
  let order: unknown;
  try {
    order = targets === undefined ? undefined : JSON.parse(targets);
  } catch {
    return z;
  }
  if (!Array.isArray(order) || order.length !== z.size || !order.every((p) => z.has(p))) return z;
  return new Map(order.map((p: string) => [p, z.get(p)!]));
}

function metaOf(metadata: Record<string, string>): SvfExpertMeta {
  const meta: SvfExpertMeta = {};
  if (metadata.base_model !== undefined) meta.baseModel = metadata.base_model;
  if (metadata.base_fingerprint !== undefined) meta.baseFingerprint = metadata.base_fingerprint;
  if (metadata.task !== undefined) meta.task = metadata.task;
  return meta;
}

/** Parses expert bytes (browser-safe); does not check them against a model. */
export function parseExpert(bytes: Uint8Array, fileName = '<expert>'): SvfExpert {
  const { tensors, metadata } = parseSafetensors(bytes, fileName);
  return expertFromFile(tensors, metadata, fileName);
}

/**
 * Writes an expert atomically. When `model` is given the file records the fingerprint of
 * the base weights it adapts, so that `loadExpert` can refuse another base model.
 */
export async function saveExpert(
  path: string,
  expert: SvfExpert,
  meta: SvfExpertMeta = {},
  model?: AdaptedModel,
): Promise<void> {
  const full: SvfExpert = { ...expert, meta: { ...expert.meta, ...meta } };
  if (model && full.meta.baseFingerprint === undefined) {
    full.meta.baseFingerprint = await model.fingerprint([...expert.z.keys()]);
  }
  await writeSafetensorsFile(path, expertTensors(full), { metadata: expertMetadata(full) });
}

/** The base weight of the module at `path` (an SVF layer's own base weight when adapted). */
function baseWeightAt(model: Module, path: string, file: string): Tensor {
  let m: Module;
  try {
    m = model.getSubmodule(path);
  } catch {
    throw new ExpertError(`${file}: the expert adapts '${path}', which this model does not have`);
  }
  if (m instanceof SvfLinear) return m.baseWeight();
  const w = m.getParameter('weight');
  if (!w) throw new ExpertError(`${file}: module '${path}' has no weight`);
  return w;
}

function isSvfModel(x: AdaptedModel | Module): x is AdaptedModel {
  return (
    'layers' in x && 'fingerprint' in x && typeof (x as AdaptedModel).fingerprint === 'function'
  );
}

/**
 * Reads an expert and checks it against `model` (an injected `SvfModel`, or a plain model):
 * the adapted weights must exist, have the expert's ranks, and — when the file carries a
 * fingerprint — be bit-identical to the base weights the expert was trained on.
 */
export async function loadExpert(
  path: string,
  model: AdaptedModel | Module,
  opts: LoadExpertOptions = {},
): Promise<SvfExpert> {
  const { tensors, metadata } = await readSafetensorsFile(path);
  const expert = expertFromFile(tensors, metadata, path);
  const paths = [...expert.z.keys()];
  let fingerprint: () => Promise<string>;
  if (isSvfModel(model)) {
    for (const p of paths) {
      const layer = model.layers.get(p);
      if (!layer)
        throw new ExpertError(
          `${path}: the expert adapts '${p}', which is not an SVF layer of this model (targets: ${model.targets.slice(0, 3).join(', ')}…)`,
        );
      if (layer.rank !== expert.z.get(p)!.length) {
        throw new ExpertError(
          `${path}: '${p}${Z_SUFFIX}' has ${expert.z.get(p)!.length} values, the layer has rank ${layer.rank}`,
        );
      }
    }
    fingerprint = () => model.fingerprint(paths);
  } else {
    const weights = new Map(paths.map((p) => [p, baseWeightAt(model, p, path)]));
    for (const [p, w] of weights) {
      const k = Math.min(w.shape[0]!, w.shape[1]!);
      if (w.ndim !== 2 || k !== expert.z.get(p)!.length) {
        throw new ExpertError(
          `${path}: '${p}${Z_SUFFIX}' has ${expert.z.get(p)!.length} values, the weight [${w.shape.join(', ')}] has rank ${k}`,
        );
      }
    }
    fingerprint = async () => {
      const hashes = new Map<string, string>();
      for (const [p, w] of weights) hashes.set(p, await weightHash(w));
      return baseFingerprint(hashes);
    };
  }
  const expected = expert.meta.baseFingerprint;
  if (expected === undefined && !opts.allowUnverified) {
    throw new ExpertError(
      `${path}: the expert records no base_fingerprint, so t2 cannot tell which base model it was made for (it would load on any model); re-save it with saveExpert(path, expert, meta, model)`,
    );
  }
  if (expected !== undefined) {
    const actual = await fingerprint();
    if (actual !== expected) {
      throw new ExpertError(
        `${path}: this expert was made for another base model${expert.meta.baseModel ? ` ('${expert.meta.baseModel}')` : ''}: its adapted weights have fingerprint ${expected.slice(0, 16)}…, this model's have ${actual.slice(0, 16)}…`,
      );
    }
  }
  return expert;
}
