import { InputError, type Module } from '@t2/tensor-core';
import { PEFT_KEY_PREFIX } from './config';

// Checks shared by the adapters' loaders: a file's tensors must land on Linear layers of
// the model, and cover exactly the layers its config selects.

export interface AdapterLoadOptions {
  /** Name given to the loaded adapter (default 'default'). */
  adapterName?: string;
  /** Where the files came from, for error messages (the weights file of a folder). */
  source?: string;
  /** The adapter_config.json, named in config errors (default `source`). */
  configSource?: string;
}

/** A file key without PEFT's `base_model.model.` prefix. */
export function withoutPeftPrefix(key: string): string {
  return key.startsWith(PEFT_KEY_PREFIX) ? key.slice(PEFT_KEY_PREFIX.length) : key;
}

/**
 * The features of the Linear at `path` (the one inside the wrapper if the layer has
 * adapters already), which the file tensor `key` from `source` is for. Throws, naming
 * both, when the model has no Linear there.
 */
export function linearFeaturesAt(
  model: Module,
  path: string,
  key: string,
  source: string,
): { inFeatures: number; outFeatures: number } {
  let m: Module;
  try {
    m = model.getSubmodule(path);
  } catch {
    throw new InputError(
      `${source}: tensor '${key}' is for module '${path}', which the model does not have`,
    );
  }
  const base = (m as { baseLayer?: Module }).baseLayer ?? m;
  const { inFeatures, outFeatures } = base as { inFeatures?: number; outFeatures?: number };
  if (inFeatures === undefined || outFeatures === undefined) {
    throw new InputError(
      `${source}: tensor '${key}' is for module '${path}', which is not a Linear layer`,
    );
  }
  return { inFeatures, outFeatures };
}

/**
 * After a file's adapter was injected as `name`: throws unless the file (its tensors are
 * for `filePaths`) covers every layer the config selected and nothing else, removing the
 * adapter again first. `what` words the two errors: "no <missing> for module(s) ..." and
 * "<extra> for ... are not selected".
 */
export function checkFileCoversTargets(
  handle: { targets(name: string): string[]; deleteAdapter(name: string): void },
  name: string,
  filePaths: Iterable<string>,
  source: string,
  what: { missing: string; extra: string },
): void {
  const targets = handle.targets(name);
  const inFile = new Set(filePaths);
  const missing = targets.filter((p) => !inFile.has(p));
  const extra = [...inFile].filter((p) => !targets.includes(p));
  if (!missing.length && !extra.length) return;
  handle.deleteAdapter(name);
  throw new InputError(
    missing.length
      ? `${source}: no ${what.missing} for module(s) ${missing.join(', ')} selected by target_modules`
      : `${source}: ${what.extra} for ${extra.join(', ')} are not selected by the config's target_modules`,
  );
}
