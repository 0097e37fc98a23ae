import type { Module, Rng, Tensor } from '@t2/tensor-core';
import {
  AdapterModel,
  type AdapterSaveOptions,
  adapterModelOf,
  type PeftAdapter,
  writeAdapterFolder,
} from '@t2/tuners';
import { type BoneConfig, type BoneConfigInput, boneConfig } from './config';
import { BoneLinear } from './layer';
import { peftKey, toPeftConfig } from './peft-file';

export type { AdapterSaveOptions as SaveOptions, PeftAdapter, TrainableSummary } from '@t2/tuners';

export interface InjectOptions {
  /** Name of the new adapter (PEFT's default is 'default'). */
  adapterName?: string;
  /** Generator for `initWeights: false` (the zero-initialised variants use none). */
  rng?: Rng;
}

/**
 * Adds a Bone/BAT adapter to the Linear layers of `model` chosen by `config`, freezes
 * every base parameter and makes the new adapter active and trainable. Injecting into a
 * model that already has Bone adapters adds one more (the name must be new).
 */
export function inject(
  model: Module,
  config: BoneConfigInput,
  opts: InjectOptions = {},
): BoneModel {
  const handle = boneModelOf(model) ?? new BoneModel(model);
  handle.addAdapter(opts.adapterName ?? 'default', config, opts);
  return handle;
}

/** The Bone handle of a model that has adapters, or undefined. */
export function boneModelOf(model: Module): BoneModel | undefined {
  return adapterModelOf(model, BoneModel);
}

/**
 * One model's Bone adapters (`inject` and `load` return it): the shared handle of
 * `AdapterModel` plus Bone's blocks and files. Its trainable tensors are the blocks,
 * named `<layer>.bone_block` as in PEFT's files.
 */
export class BoneModel extends AdapterModel<BoneConfig, BoneConfigInput, BoneLinear> {
  constructor(model: Module) {
    super(model, 'Bone', BoneLinear);
  }

  protected makeConfig(input: BoneConfigInput): BoneConfig {
    return boneConfig(input);
  }

  protected addToLayer(layer: BoneLinear, name: string, config: BoneConfig, rng: Rng): void {
    layer.addAdapter(name, config.r, config.initWeights, rng);
  }

  /** `[layerPath, block]` for each layer carrying adapter `name`. */
  blocksOf(name = this.activeAdapter): [string, Tensor][] {
    this.config(name);
    return this.layers()
      .filter((l) => l.hasAdapter(name))
      .map((l) => [l.path, l.block(name)]);
  }

  /** Adapter `name` as PEFT stores it (pure: no file system, so it also works in a browser). */
  toPeft(opts: AdapterSaveOptions = {}): PeftAdapter {
    const name = opts.adapterName ?? this.activeAdapter;
    const config = this.config(name);
    const blocks = this.blocksOf(name);
    return {
      config: toPeftConfig(
        { ...config, baseModelNameOrPath: opts.baseModelNameOrPath ?? config.baseModelNameOrPath },
        blocks.map(([path]) => path),
      ),
      tensors: new Map(blocks.map(([path, block]) => [peftKey(path), block])),
    };
  }

  /**
   * Writes a PEFT adapter folder (`adapter_config.json`, `adapter_model.safetensors` with
   * keys `base_model.model.<path>.bone_block`), each file atomically.
   */
  async save(dir: string, opts: AdapterSaveOptions = {}): Promise<void> {
    const { config, tensors } = this.toPeft(opts);
    await writeAdapterFolder(dir, config, tensors);
  }
}
