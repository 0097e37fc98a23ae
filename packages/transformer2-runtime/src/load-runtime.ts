import { inject, type SvfExpert, type SvfModel } from '@t2/adapters-svf';
import { type LlamaConfig, type LlamaForCausalLM, loadModel, type TextTokenizer } from '@t2/llama';
import { AlphaCache } from './alpha-cache/alpha-cache';
import { type LlamaTextOptions, llamaTextModel } from './model/llama-text';
import { adaptSvfModel, type SvfAdaptableModel, type SvfComposition } from './model/svf-adapter';
import { expertFilesIn, loadExpertRegistry } from './registry/load';
import { type RuntimeOptions, Transformer2Runtime } from './runtime/runtime';

export interface LoadRuntimeOptions
  extends Pick<
    RuntimeOptions<SvfExpert, SvfComposition>,
    'classification' | 'fewShot' | 'generate' | 'cacheSize' | 'mixing'
  > {
  /** A Hugging Face model folder with a tokenizer (or anything `loadModel` of @t2/llama reads). */
  modelPath: string;
  /** Folder of expert files (`*.safetensors`); the file stems name the experts. */
  expertsDir?: string;
  /** Expert files, instead of (or on top of) `expertsDir`. */
  expertFiles?: readonly string[];
  /** Name or task label of the classification expert. Default `classifier`. */
  classifier?: string;
  /** JSON file where few-shot α are kept per task. Default: in memory only. */
  alphaCacheFile?: string;
  /** Folder for the SVD factors of the adapted weights, so later loads skip the decomposition. */
  svdCacheDir?: string;
  /** Batching and defaults of generation and scoring. */
  text?: LlamaTextOptions;
  /** Keep BF16 weights as stored (default true; see `loadHfFolder`'s `keepBf16`). */
  keepBf16?: boolean;
}

export interface LoadedRuntime {
  runtime: Transformer2Runtime<SvfExpert, SvfComposition>;
  /** The base model with SVF layers injected (swapped for composed layers while the runtime runs). */
  svf: SvfModel;
  adaptable: SvfAdaptableModel;
  model: LlamaForCausalLM;
  config: LlamaConfig;
  tokenizer: TextTokenizer;
}

/** A content fingerprint of the adapted base weights and the expert files. */
async function runtimeFingerprint(base: string, files: readonly string[]): Promise<string> {
  const [{ createHash }, { readFile }] = await Promise.all([
    import('node:crypto'),
    import('node:fs/promises'),
  ]);
  const hash = createHash('sha256').update(base);
  for (const file of [...files].sort()) hash.update(await readFile(file));
  return hash.digest('hex').slice(0, 32);
}

/**
 * Builds a Transformer² runtime from a model folder and expert files (Node): loads the
 * model and its tokenizer, checks every expert against the base weights, injects SVF
 * layers on the weights the experts adapt and wires generation and scoring.
 */
export async function loadRuntime(options: LoadRuntimeOptions): Promise<LoadedRuntime> {
  const { model, config, tokenizer } = await loadModel(options.modelPath, {
    keepBf16: options.keepBf16,
  });
  if (!tokenizer) {
    throw new Error(
      `${options.modelPath}: the model has no tokenizer (tokenizer.json); the runtime works on text prompts`,
    );
  }
  const files = [
    ...(options.expertsDir ? await expertFilesIn(options.expertsDir) : []),
    ...(options.expertFiles ?? []),
  ];
  if (files.length === 0)
    throw new Error('loadRuntime: no experts (give expertsDir or expertFiles)');
  // Checked against the plain model first, so a foreign expert fails before any SVD runs.
  const registry = await loadExpertRegistry(files, model, { classifier: options.classifier });
  const first = registry.taskExperts()[0] ?? registry.classifier()!;
  const svf = await inject(model, {
    targetModules: [...first.expert.z.keys()],
    maxMult: first.expert.maxMult,
    cacheDir: options.svdCacheDir,
  });
  const adaptable = adaptSvfModel(svf, llamaTextModel(model, tokenizer, options.text));
  const runtime = new Transformer2Runtime<SvfExpert, SvfComposition>({
    model: adaptable,
    registry,
    classification: options.classification,
    fewShot: options.fewShot,
    generate: options.generate,
    cacheSize: options.cacheSize,
    mixing: options.mixing,
    alphaCache: options.alphaCacheFile ? await AlphaCache.open(options.alphaCacheFile) : undefined,
    // Cached α are reused only with these weights and these experts (by content).
    fingerprint: await runtimeFingerprint(svf.baseFingerprint, files),
  });
  return { runtime, svf, adaptable, model, config, tokenizer };
}
