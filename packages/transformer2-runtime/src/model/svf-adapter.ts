import { composeWeightFromMask, mix, type SvfExpert, type SvfModel } from '@t2/adapters-svf';
import { keep, type Module, noGrad, type Tensor, tidy } from '@t2/tensor-core';
import type {
  AdaptableModel,
  AlphaTable,
  GenerateOptions,
  Mixing,
  ScoreRequest,
} from './adaptable';
import { ComposedLinear } from './composed-linear';

/** The text side of a model: generation and scoring (see `llamaTextModel`). */
export interface TextModel {
  generate(prompts: readonly string[], options?: GenerateOptions): Promise<string[]>;
  score(requests: readonly ScoreRequest[]): Promise<number[]>;
}

/** The composed layers of one mixture, by module path. */
export interface SvfComposition {
  readonly layers: ReadonlyMap<string, ComposedLinear>;
  /** Whether `release` has freed its tensors. */
  released: boolean;
}

/** An `AdaptableModel` over an injected SVF model, plus a way back to its SVF layers. */
export interface SvfAdaptableModel extends AdaptableModel<SvfExpert, SvfComposition> {
  readonly svf: SvfModel;
  readonly targetNames: readonly string[];
  release(weights: SvfComposition): void;
  restore(): void;
}

/**
 * Wires an injected SVF model and its text side into the runtime. A mixture is composed
 * once into plain layers holding W' (`mix` in mask space, then `composeWeightFromMask`,
 * both from @t2/adapters-svf) and swapped in by module path; the base model is the same
 * swap with the base weights, so SVF layers and their single-mask cache stay untouched.
 */
export function adaptSvfModel(svf: SvfModel, text: TextModel): SvfAdaptableModel {
  const targets = svf.targets;
  const baseLayers = new Map(
    [...svf.layers].map(([path, layer]) => {
      const base = { weight: layer.baseWeight(), bias: layer.bias };
      return [path, new ComposedLinear(base, base.weight, path)];
    }),
  );
  const install = (layers: ReadonlyMap<string, Module>) => {
    for (const path of targets) svf.model.setSubmodule(path, layers.get(path)!);
  };
  return {
    svf,
    numTargets: targets.length,
    targetNames: targets,
    compose(
      experts: readonly SvfExpert[],
      alpha: AlphaTable,
      mixing: Mixing = 'convex',
    ): SvfComposition {
      if (experts.length === 0) throw new Error('compose: no experts');
      const own = [...experts[0]!.z.keys()];
      const missing = targets.filter((p) => !experts[0]!.z.has(p));
      const extra = own.filter((p) => !svf.layers.has(p));
      if (missing.length || extra.length) {
        throw new Error(
          `compose: the experts adapt other weights than the model's SVF layers (${[
            missing.length
              ? `missing ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? '…' : ''}`
              : '',
            extra.length
              ? `unknown ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? '…' : ''}`
              : '',
          ]
            .filter(Boolean)
            .join('; ')})`,
        );
      }
      // Per-layer α comes in model order (targetNames); mix reads columns in the first expert's key order.
      const column = new Map(targets.map((p, i) => [p, i]));
      const table =
        typeof alpha[0] === 'number'
          ? alpha
          : (alpha as readonly (readonly number[])[]).map((row, k) => {
              if (row.length !== targets.length) {
                throw new Error(
                  `compose: alpha row ${k} has ${row.length} values, the model has ${targets.length} SVF layers`,
                );
              }
              return own.map((p) => row[column.get(p)!]!);
            });
      const masks = mix(experts, table, { mixing });
      const layers = new Map<string, ComposedLinear>();
      for (const [path, layer] of svf.layers) {
        const mask = masks.get(path)!;
        if (mask.length !== layer.rank)
          throw new Error(
            `compose: '${path}' has a mask of ${mask.length} values, the layer has rank ${layer.rank}`,
          );
        const w: Tensor = keep(
          noGrad(() => tidy(() => composeWeightFromMask(layer.factors, mask))),
        );
        layers.set(
          path,
          new ComposedLinear({ weight: layer.baseWeight(), bias: layer.bias }, w, path),
        );
      }
      return { layers, released: false };
    },
    use(weights: SvfComposition | null): void {
      if (weights?.released) throw new Error('use: these composed weights were released');
      install(weights ? weights.layers : baseLayers);
    },
    release(weights: SvfComposition): void {
      if (weights.released) return;
      weights.released = true;
      for (const l of weights.layers.values()) l.composed.dispose();
    },
    restore(): void {
      install(svf.layers);
    },
    generate: (prompts, options) => text.generate(prompts, options),
    score: (requests) => text.score(requests),
  };
}
