import { fromArray, type Module, type Rng, type Tensor } from '@t2/tensor-core';
import {
  AdapterModel,
  type AdapterSaveOptions,
  adapterModelOf,
  type PeftAdapter,
  writeAdapterFolder,
} from '@t2/tuners';
import {
  isPissa,
  type LoraConfig,
  type LoraConfigInput,
  loraConfig,
  rankAndAlpha,
  scalingOf,
} from './config';
import { LoraLinear } from './layer';
import { peftKey, toPeftConfig } from './peft-file';

export type { PeftAdapter, TrainableSummary } from '@t2/tuners';

export interface InjectOptions {
  /** Name of the new adapter (PEFT's default is 'default'). */
  adapterName?: string;
  /** Generator for lora_A's random start and for dropout (default: the global one). */
  rng?: Rng;
}

/**
 * Adds a LoRA (or PiSSA) adapter to the Linear layers of `model` chosen by `config`,
 * freezes every base parameter and makes the new adapter active and trainable. Injecting
 * into a model that already has LoRA adapters adds one more (the name must be new).
 */
export function inject(
  model: Module,
  config: LoraConfigInput,
  opts: InjectOptions = {},
): LoraModel {
  const handle = loraModelOf(model) ?? new LoraModel(model);
  handle.addAdapter(opts.adapterName ?? 'default', config, opts);
  return handle;
}

/** The LoRA handle of a model that has adapters, or undefined. */
export function loraModelOf(model: Module): LoraModel | undefined {
  return adapterModelOf(model, LoraModel);
}

export interface SaveOptions extends AdapterSaveOptions {
  /**
   * For a PiSSA adapter: write a plain LoRA of rank 2r that applies to the original
   * (not the residual) base model, `A' = [A; A₀]`, `B' = [B, −B₀]` (PEFT's
   * `path_initial_model_for_weight_conversion`).
   */
  convertPissaToLora?: boolean;
}

/**
 * The LoRA adapters on one model: the shared handle of `AdapterModel` plus LoRA's per-layer
 * rank and alpha, PiSSA and files. Its trainable tensors are each layer's A and B, named
 * `<layer>.lora_A.weight`, `<layer>.lora_B.weight` as in PEFT's files. `withDisabled` and
 * `unload` give the base model; for PiSSA that is the residual W − s·B₀A₀ while adapters
 * are in, as in PEFT, and W again after `unload`.
 */
export class LoraModel extends AdapterModel<LoraConfig, LoraConfigInput, LoraLinear> {
  constructor(model: Module) {
    super(model, 'LoRA', LoraLinear);
  }

  protected makeConfig(input: LoraConfigInput): LoraConfig {
    return loraConfig(input);
  }

  protected override checkCanAdd(config: LoraConfig): void {
    if (isPissa(config.initLoraWeights) && this.merged) {
      throw new Error(
        'LoRA: unmerge before adding a PiSSA adapter (it factorises the current base weights)',
      );
    }
  }

  protected addToLayer(layer: LoraLinear, name: string, config: LoraConfig, rng: Rng): void {
    const { r, alpha } = rankAndAlpha(config, layer.path);
    layer.addAdapter(name, {
      r,
      alpha,
      scaling: scalingOf(r, alpha, config.useRslora),
      dropout: config.loraDropout,
      init: config.initLoraWeights,
      rng,
    });
  }

  /** Adapter `name` as PEFT stores it (pure: no file system, so it also works in a browser). */
  toPeft(opts: SaveOptions = {}): PeftAdapter {
    const name = opts.adapterName ?? this.activeAdapter;
    const config = {
      ...this.config(name),
      baseModelNameOrPath: opts.baseModelNameOrPath ?? this.config(name).baseModelNameOrPath,
    };
    const layers = this.layers().filter((l) => l.hasAdapter(name));
    const paths = layers.map((l) => l.path);
    if (!opts.convertPissaToLora) {
      const tensors = new Map<string, Tensor>();
      for (const l of layers) {
        tensors.set(peftKey(l.path, 'lora_A'), l.loraAWeight(name));
        tensors.set(peftKey(l.path, 'lora_B'), l.loraBWeight(name));
      }
      return { config: toPeftConfig(config, paths), tensors };
    }
    if (!isPissa(config.initLoraWeights)) {
      throw new Error(
        `LoRA: convertPissaToLora needs a PiSSA adapter; '${name}' was initialised with ${JSON.stringify(config.initLoraWeights)}`,
      );
    }
    return pissaAsLora(config, layers, name, paths);
  }

  /**
   * Writes a PEFT adapter folder (`adapter_config.json`, `adapter_model.safetensors` with
   * keys `base_model.model.<path>.lora_A.weight`), each file atomically.
   */
  async save(dir: string, opts: SaveOptions = {}): Promise<void> {
    const { config, tensors } = this.toPeft(opts);
    await writeAdapterFolder(dir, config, tensors);
  }
}

/** PiSSA's update s·(B A − B₀A₀) as a rank-2r LoRA on the original weights. */
function pissaAsLora(
  config: LoraConfig,
  layers: LoraLinear[],
  name: string,
  paths: string[],
): PeftAdapter {
  const tensors = new Map<string, Tensor>();
  for (const l of layers) {
    const { r } = l.adapterInfo(name);
    const start = l.pissaStart(name)!;
    const a = l.loraAWeight(name).data;
    const b = l.loraBWeight(name).data;
    const inF = l.inFeatures;
    const out = l.outFeatures;
    const a2 = new Float32Array(2 * r * inF);
    a2.set(a);
    a2.set(start.a0, r * inF);
    const b2 = new Float32Array(out * 2 * r);
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < r; i++) {
        b2[o * 2 * r + i] = b[o * r + i]!;
        b2[o * 2 * r + r + i] = -start.b0[o * r + i]!;
      }
    }
    tensors.set(peftKey(l.path, 'lora_A'), fromArray(a2, [2 * r, inF]));
    tensors.set(peftKey(l.path, 'lora_B'), fromArray(b2, [out, 2 * r]));
  }
  // Doubling r keeps the scaling if alpha doubles too (rsLoRA: alpha / sqrt(r) needs sqrt(2)).
  const alphaFactor = config.useRslora ? Math.SQRT2 : 2;
  const doubled = (p: Readonly<Record<string, number>>, f: number) =>
    Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v * f]));
  const converted: LoraConfig = {
    ...config,
    r: 2 * config.r,
    loraAlpha: config.loraAlpha * alphaFactor,
    rankPattern: doubled(config.rankPattern, 2),
    alphaPattern: doubled(config.alphaPattern, alphaFactor),
    initLoraWeights: true,
  };
  return { config: toPeftConfig(converted, paths), tensors };
}
