import type { Module, Rng, Tensor } from '@t2/tensor-core';
import type { BaseTuner } from '../base/tuner';
import type { TargetModules } from '../targets/target-modules';

/** The options `t2 train --method X` (and the demo) give every method. */
export interface MethodOptions {
  /** The name the method was asked for: its own or one of its `variants`. */
  variant: string;
  /** Rank or block width. */
  r: number;
  /** Scale of the update where the method has one (LoRA's alpha). */
  alpha?: number;
  targetModules: TargetModules;
  /** Recorded in the files so Python can find the base model. */
  baseModelNameOrPath?: string | null;
}

/** A handle a training run can use: its tensors to optimise and a way to write them. */
export interface TrainableTuner extends BaseTuner {
  /** Writes the active adapter into folder `dir` in the method's file format. */
  save(dir: string): Promise<void>;
}

/**
 * How a method's adapters sit in a PEFT folder, beyond the shared config fields: what
 * the generic loader (`loadAdapter`) needs to read any method's files.
 */
export interface PeftFormat<Config> {
  /** Reads `adapter_config.json` (its peft_type already matched) into a config; `file` names it. */
  readConfig(json: Record<string, unknown>, file: string): Config;
  /**
   * One layer's tensor names in the file, relative to the layer (`bone_block`,
   * `lora_A.weight`), in the order of the layer's `adapterParameters`.
   */
  tensorNames(peftType: string): readonly string[];
  /** What a file tensor is called in errors: "is not a <noun>" ('BONE block', 'LoRA weight'). */
  tensorNoun(peftType: string): string;
  /** Words of the coverage errors: "no <missing> for module(s) …", "<extra> for … are not selected". */
  coverage(peftType: string): { missing: string; extra: string };
  /**
   * Throws, naming `source`, the module and both shapes, unless `tensors` (by file name
   * relative to the layer: `[key, tensor]`) fit the Linear at `path`. Runs before the
   * model is touched.
   */
  checkShapes(
    config: Config,
    path: string,
    features: { inFeatures: number; outFeatures: number },
    tensors: ReadonlyMap<string, readonly [string, Tensor]>,
    source: string,
  ): void;
}

/** One adapter method, as `registerAdapterMethod` takes it: PEFT's `register_peft_method`. */
export interface AdapterMethod<Config = unknown> {
  /** Lower-case name for `--method` ('bone', 'lora', 'svf'). */
  name: string;
  /** The name people write ('Bone', 'LoRA', 'SVF'), for messages. */
  label: string;
  /** Other `--method` names this method trains, each a preset of its config ('bat', 'pissa'). */
  variants?: readonly string[];
  /** What people call each variant ('BAT', 'PiSSA'); default `<label> (<variant>)`. */
  variantLabels?: Readonly<Record<string, string>>;
  /** One line for help texts. */
  summary: string;
  /** The `peft_type` values of its adapter folders ([] for a method without PEFT files). */
  peftTypes: readonly string[];
  /** The method's config for a training run. */
  config(options: MethodOptions): Config;
  /** The class of the layers it puts in place of Linear layers. */
  layer: abstract new (
    ...args: never[]
  ) => Module;
  /** Adds adapter `adapterName` with `config` to `model` (active, trainable, base frozen). */
  inject(
    model: Module,
    config: Config,
    opts: { adapterName?: string; rng?: Rng },
  ): TrainableTuner | Promise<TrainableTuner>;
  /** The handle of a model that has this method's adapters, or undefined. */
  handleOf(model: Module): BaseTuner | undefined;
  /** Its PEFT folder format; null when its adapters are not PEFT folders (SVF experts). */
  files: PeftFormat<Config> | null;
}

const methods = new Map<string, AdapterMethod<never>>();

/**
 * Makes a method known to every tool that looks methods up (the CLI's `train`, `merge`
 * and `--adapter`, the demo): adding a method needs no edit there. A name or peft_type
 * already taken by another method is refused.
 */
export function registerAdapterMethod<Config>(method: AdapterMethod<Config>): void {
  const m = method as unknown as AdapterMethod<never>;
  const names = [m.name, ...(m.variants ?? [])];
  for (const other of methods.values()) {
    if (other === m) return;
    const clash =
      names.find((n) => n === other.name || other.variants?.includes(n)) ??
      m.peftTypes.find((t) => other.peftTypes.includes(t));
    if (clash !== undefined)
      throw new Error(
        `registerAdapterMethod: '${clash}' is already used by method '${other.name}'`,
      );
  }
  methods.set(m.name, m);
}

/** Registered methods, in name order. */
export function adapterMethods(): AdapterMethod<unknown>[] {
  // Name order, not registration order: which package a program happens to import first
  // must not change `--help`, error messages or the demo's list.
  return ([...methods.values()] as AdapterMethod<unknown>[]).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
}

/** Every name `--method` accepts: each method's name and variants. */
export function adapterMethodNames(): string[] {
  return adapterMethods().flatMap((m) => [m.name, ...(m.variants ?? [])]);
}

/** The method called `name` (its own name or a variant's), or undefined. */
export function adapterMethod(name: string): AdapterMethod<unknown> | undefined {
  return adapterMethods().find((m) => m.name === name || m.variants?.includes(name));
}

/** The method whose adapter folders have `peft_type` `type`, or undefined. */
export function adapterMethodForPeftType(type: string): AdapterMethod<unknown> | undefined {
  return adapterMethods().find((m) => m.peftTypes.includes(type));
}
