import { InputError } from '@t2/tensor-core';
import type { TargetModules, TargetSelection } from '../targets/target-modules';

// The part of PEFT's adapter_config.json that every tuner (LoRA, Bone, ...) has: which
// layers, which base model, and the options t2 adapters never use.

/** PEFT prefixes every key with the wrapper's path to the base model. */
export const PEFT_KEY_PREFIX = 'base_model.model.';

/** The target selection and base model that every tuner's config records. */
export interface PeftSelection extends TargetSelection {
  targetModules: TargetModules;
  excludeModules: TargetModules | null;
  layersToTransform: number | readonly number[] | null;
  layersPattern: string | readonly string[] | null;
  /** Recorded in `adapter_config.json` so Python can find the base model. */
  baseModelNameOrPath: string | null;
}

/**
 * `adapter_config.json` of a `peftType` adapter: the fields every tuner writes plus the
 * method's own `fields`, keys sorted as PEFT writes them. `'all-linear'` is written as the
 * layer names it expanded to (`targets`: the wrapped layers' paths), like PEFT.
 */
export function peftConfigJson(
  peftType: string,
  sel: PeftSelection,
  targets: readonly string[],
  fields: Record<string, unknown>,
): Record<string, unknown> {
  const targetModules =
    sel.targetModules === 'all-linear'
      ? [...new Set(targets.map((t) => t.split('.').pop()!))].sort()
      : listOrNull(sel.targetModules);
  const json: Record<string, unknown> = {
    auto_mapping: null,
    base_model_name_or_path: sel.baseModelNameOrPath,
    bias: 'none',
    exclude_modules: listOrNull(sel.excludeModules),
    inference_mode: true,
    layers_pattern: listOrNull(sel.layersPattern),
    layers_to_transform: listOrNull(sel.layersToTransform),
    modules_to_save: null,
    peft_type: peftType,
    revision: null,
    target_modules: targetModules,
    task_type: 'CAUSAL_LM',
    ...fields,
  };
  return Object.fromEntries(Object.entries(json).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function listOrNull<T>(v: T | readonly T[] | null | undefined): T | T[] | null {
  if (v == null) return null;
  return Array.isArray(v) ? [...v] : (v as T);
}

/** A checked `adapter_config.json`: its raw fields, its `peft_type` and its selection. */
export interface PeftConfigFile {
  json: Record<string, unknown>;
  peftType: string;
  selection: PeftSelection;
}

/**
 * Reads the shared part of an `adapter_config.json` whose `peft_type` must be one of
 * `peftTypes` (`method` names them in the error), refusing what t2 adapters do not have
 * (bias terms, fully trained extra modules). `file` names the config in errors.
 */
export function readPeftConfig(
  json: unknown,
  file: string,
  method: string,
  peftTypes: readonly string[],
): PeftConfigFile {
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new InputError(`${file}: not a JSON object`);
  const j = json as Record<string, unknown>;
  const peftType = j.peft_type;
  if (typeof peftType !== 'string' || !peftTypes.includes(peftType)) {
    throw new InputError(
      `${file}: peft_type ${JSON.stringify(peftType)} is not a ${method} adapter (expected ${peftTypes.map((t) => JSON.stringify(t)).join(' or ')})`,
    );
  }
  if (j.bias != null && j.bias !== 'none') {
    throw new InputError(`${file}: bias ${JSON.stringify(j.bias)} is not supported (only "none")`);
  }
  if (Array.isArray(j.modules_to_save) && j.modules_to_save.length > 0) {
    throw new InputError(
      `${file}: modules_to_save (${j.modules_to_save.join(', ')}) is not supported (t2 trains adapters only)`,
    );
  }
  if (j.target_modules == null) throw new InputError(`${file}: target_modules is missing`);
  const names = (key: string, v: unknown, orNull: boolean) => {
    if (v == null && orNull) return;
    if (typeof v === 'string') return;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return;
    throw new InputError(
      `${file}: ${key} must be a module name, a regex or a list of names, got ${JSON.stringify(v)?.slice(0, 80)}`,
    );
  };
  names('target_modules', j.target_modules, false);
  names('exclude_modules', j.exclude_modules, true);
  names('layers_pattern', j.layers_pattern, true);
  const lt = j.layers_to_transform;
  if (
    lt != null &&
    !(Number.isInteger(lt) && (lt as number) >= 0) &&
    !(Array.isArray(lt) && lt.every((x) => Number.isInteger(x) && x >= 0))
  ) {
    throw new InputError(
      `${file}: layers_to_transform must be a layer index or a list of them, got ${JSON.stringify(lt)?.slice(0, 80)}`,
    );
  }
  if (j.base_model_name_or_path != null && typeof j.base_model_name_or_path !== 'string') {
    throw new InputError(
      `${file}: base_model_name_or_path must be a string, got ${JSON.stringify(j.base_model_name_or_path)?.slice(0, 80)}`,
    );
  }
  // Every t2 method with a rank writes it; a method without one (a toy or a future tuner) may omit it.
  if (j.r !== undefined && (!Number.isInteger(j.r) || (j.r as number) < 1)) {
    throw new InputError(`${file}: r must be a positive integer, got ${JSON.stringify(j.r)}`);
  }
  for (const key of ['lora_alpha', 'lora_dropout']) {
    const v = j[key];
    if (v != null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0))
      throw new InputError(
        `${file}: ${key} must be a non-negative number, got ${JSON.stringify(v)}`,
      );
  }
  for (const key of ['rank_pattern', 'alpha_pattern']) {
    const v = j[key];
    if (v == null) continue;
    if (
      typeof v !== 'object' ||
      Array.isArray(v) ||
      !Object.values(v).every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)
    )
      throw new InputError(
        `${file}: ${key} must be an object of positive numbers, got ${JSON.stringify(v)?.slice(0, 80)}`,
      );
  }
  const selection: PeftSelection = {
    targetModules: j.target_modules as TargetModules,
    excludeModules: (j.exclude_modules as TargetModules | null) ?? null,
    layersToTransform: (j.layers_to_transform as number | number[] | null) ?? null,
    layersPattern: (j.layers_pattern as string | string[] | null) ?? null,
    baseModelNameOrPath: (j.base_model_name_or_path as string | null) ?? null,
  };
  return { json: j, peftType, selection };
}
