import { MIXINGS } from '@t2/adapters-svf';
import { AlphaCache, contentKey, type TaskAlpha } from '../alpha-cache/alpha-cache';
import { type CemResult, type CemScore, cem } from '../cem/cem';
import {
  type AlphaShape,
  alphaPerExpert,
  alphaSize,
  alphaTable,
  mixtureKey,
  normaliseAlpha,
  oneHotAlpha,
  uniformAlpha,
} from '../mixture/alpha';
import { CompositionCache, type CompositionStats } from '../mixture/lru';
import type { AdaptableModel, GenerateOptions, Mixing } from '../model/adaptable';
import type { ExpertRegistry } from '../registry/registry';
import { strategies } from '../strategies/index';
import type {
  FewShotExample,
  FewShotOptions,
  Route,
  RunOptions,
  StrategyContext,
  StrategyName,
} from '../strategies/types';

/** How pass 1 asks for a category; wire `classificationPrompt`/`parseCategory` of @t2/tasks here. */
export interface ClassificationOptions {
  /** Categories listed in the classification prompt. Default: the task experts' labels. */
  categories?: readonly string[];
  /** Pass 1's prompt for a user prompt. */
  prompt: (prompt: string, categories: readonly string[]) => string;
  /** The category named by pass 1's output; a label no expert serves means the base model. */
  parse: (output: string, categories: readonly string[]) => string;
  /** Decoding of pass 1. Default: greedy, 8 new tokens, stop at a newline. */
  generate?: GenerateOptions;
}

export interface RuntimeOptions<E, W> {
  model: AdaptableModel<E, W>;
  registry: ExpertRegistry<E>;
  /** Needed by the `prompt` and `classifier` strategies. */
  classification?: ClassificationOptions;
  /** Defaults of the few-shot search (reward, completion, CEM settings). */
  fewShot?: FewShotOptions;
  /** Decoding of answers (pass 2). */
  generate?: GenerateOptions;
  /**
   * How a mixture combines the experts. 'convex' (default, the reference): α normalised to
   * sum to 1, `m' = Σ α_k m_k`. 'additive': α as searched (each in [0, 1]), each expert's
   * change from the starting mask added, so two experts can both apply in full — what a
   * task needing two experts' skills at once calls for (measured in experiments/REPORT.md).
   * One-hot routing (prompt, classifier, oracle) gives the same weights either way.
   */
  mixing?: Mixing;
  /** Composed mixtures kept for reuse. Default 8. */
  cacheSize?: number;
  /** Where few-shot α are kept per task. Default: in memory only. */
  alphaCache?: AlphaCache;
  /**
   * Identity of the model and experts (a content fingerprint): cached α found with another
   * are not reused. Default: none (only the expert names and shapes are checked).
   */
  fingerprint?: string;
  /** Clock for the trace's timings, in milliseconds. Default `performance.now`. */
  now?: () => number;
}

/** Milliseconds spent in each step of one `generate` call. */
export interface Timings {
  pass1Ms: number;
  /** Few-shot only: the α search (0 when α came from the cache). */
  adaptMs: number;
  /** Composing (or fetching from the cache) the pass-2 weights. */
  composeMs: number;
  pass2Ms: number;
  totalMs: number;
}

/** How an answer was produced. */
export interface Trace {
  strategy: StrategyName;
  /** The category pass 1 chose (or the oracle's label); absent for `none` and `few-shot`. */
  label?: string;
  /** α per task expert by name (mean over adapted weights when α is per layer); null = base model. */
  alpha: Record<string, number> | null;
  /** Per-layer α as a `[K][targets]` table, when the few-shot search was per layer. */
  alphaPerLayer?: number[][];
  /** Names of the adapted weights, the columns of `alphaPerLayer` (when the model names them). */
  alphaTargets?: string[];
  pass1Output?: string;
  /** Few-shot: the task id and where its α came from. */
  task?: string;
  alphaSource?: 'cache' | 'search';
  /** Whether pass 2 ran without composing weights (a cached mixture, or the base model). */
  cacheHit: boolean;
  timings: Timings;
}

export interface RunResult {
  /** The model's continuation of the prompt (pass 2). */
  output: string;
  trace: Trace;
}

export interface AdaptResult extends CemResult {
  task: string;
  /**
   * The found α as answers use it (normalised for convex mixing); `alpha` is the raw CEM
   * coefficient vector.
   */
  normalised: Float64Array;
  shape: AlphaShape;
  ms: number;
}

const DEFAULT_CLASSIFY_GENERATE: GenerateOptions = { maxNewTokens: 8, stop: ['\n'] };

/** Default few-shot reward: the output's first line equals the answer (both trimmed). */
function exactFirstLine(_prompt: string, output: string, answer: string): number {
  return (output.split('\n')[0] ?? '').trim() === answer.trim() ? 1 : -1;
}

/**
 * Transformer² two-pass inference: pass 1 picks a mixture of SVF experts for the prompt
 * (by strategy), pass 2 answers with the weights composed from it. Composed weights are
 * kept in an LRU keyed by α; few-shot α are searched once per task and cached.
 * Calls are serialised, since both passes reconfigure the same model.
 */
export class Transformer2Runtime<E = unknown, W = unknown> {
  readonly model: AdaptableModel<E, W>;
  readonly registry: ExpertRegistry<E>;
  readonly alphaCache: AlphaCache;
  private readonly options: RuntimeOptions<E, W>;
  private readonly compositions: CompositionCache<W>;
  private readonly now: () => number;
  readonly mixing: Mixing;
  /** Key of the weights the model uses now: null = base model, undefined = unknown. */
  private installed: string | null | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: RuntimeOptions<E, W>) {
    this.options = options;
    this.model = options.model;
    this.registry = options.registry;
    this.alphaCache = options.alphaCache ?? new AlphaCache();
    this.now = options.now ?? (() => performance.now());
    this.mixing = options.mixing ?? 'convex';
    if (!MIXINGS.includes(this.mixing)) {
      throw new Error(
        `Transformer2Runtime: mixing must be 'convex' or 'additive', got '${String(this.mixing)}'`,
      );
    }
    this.compositions = new CompositionCache<W>(options.cacheSize ?? 8, (w) => {
      this.model.release?.(w);
    });
    if (this.registry.taskExperts().length === 0) {
      throw new Error('Transformer2Runtime: the registry has no task experts to route to');
    }
    if (!(Number.isInteger(this.model.numTargets) && this.model.numTargets > 0)) {
      throw new Error(
        `Transformer2Runtime: model.numTargets must be a positive integer, got ${this.model.numTargets}`,
      );
    }
  }

  /** Answers `prompt` in two passes; the trace says what pass 1 chose and how long each step took. */
  generate(prompt: string, options: RunOptions): Promise<RunResult> {
    return this.exclusive(() => this.run(prompt, options));
  }

  /**
   * Searches α for a task on labelled examples with CEM and caches it under `task`
   * (replacing any cached α). `generate` with `strategy: 'few-shot'` calls this on demand.
   */
  adapt(
    task: string,
    examples: readonly FewShotExample[],
    options?: FewShotOptions,
  ): Promise<AdaptResult> {
    return this.exclusive(() => this.search(task, examples, options));
  }

  /** Pass 1 alone: the category the base model (`base`) or the classification expert names. */
  classify(
    prompt: string,
    via: 'base' | 'classifier' = 'base',
  ): Promise<{ label: string; output: string }> {
    return this.exclusive(async () => {
      const { label, output } = await this.classifyNow(prompt, via);
      return { label, output };
    });
  }

  /** Counters of the composed-weights cache. */
  cacheStats(): CompositionStats {
    return this.compositions.stats();
  }

  /** Category labels of the task experts, in α order. */
  get labels(): string[] {
    return this.registry.labels();
  }

  /** Frees every cached composition and returns the model to its base weights. */
  clearCache(): Promise<void> {
    return this.exclusive(async () => {
      this.model.use(null);
      this.installed = null;
      this.compositions.clear();
    });
  }

  /**
   * Hands the model back as it was given (`AdaptableModel.restore`, e.g. the SVF layers for
   * training); the next call installs its weights again.
   */
  restoreModel(): Promise<void> {
    return this.exclusive(async () => {
      this.model.restore?.();
      this.installed = undefined;
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => {});
    return next;
  }

  private async run(prompt: string, options: RunOptions): Promise<RunResult> {
    const strategy = strategies[options.strategy];
    if (!strategy) {
      throw new Error(
        `unknown strategy '${options.strategy}' (expected one of ${Object.keys(strategies).join(', ')})`,
      );
    }
    const t0 = this.now();
    const route: Route = await strategy(this.context(), prompt, options);
    const t1 = this.now();
    const { hit } = this.useTaskMixture(route.alpha, route.shape);
    const t2 = this.now();
    const [output] = await this.model.generate([prompt], {
      ...this.options.generate,
      ...options.generate,
    });
    const t3 = this.now();
    const experts = this.registry.taskExperts();
    const perLayer = route.alpha !== null && route.shape.targets !== null;
    const trace: Trace = {
      strategy: options.strategy,
      ...(route.label !== undefined && { label: route.label }),
      ...(route.task !== undefined && { task: route.task, alphaSource: route.alphaSource }),
      alpha: route.alpha
        ? Object.fromEntries(
            alphaPerExpert(route.alpha, route.shape).map((a, k) => [experts[k]!.name, a]),
          )
        : null,
      ...(perLayer && { alphaPerLayer: alphaTable(route.alpha!, route.shape) as number[][] }),
      ...(perLayer && this.model.targetNames && { alphaTargets: [...this.model.targetNames] }),
      ...(route.pass1Output !== undefined && { pass1Output: route.pass1Output }),
      cacheHit: hit,
      timings: {
        pass1Ms: route.pass1Ms,
        adaptMs: route.adaptMs ?? 0,
        composeMs: t2 - t1,
        pass2Ms: t3 - t2,
        totalMs: t3 - t0,
      },
    };
    return { output: output ?? '', trace };
  }

  private context(): StrategyContext {
    const labels = this.registry.labels();
    return {
      labels,
      hasClassifier: this.registry.classifier() !== undefined,
      alphaForLabel: (label) => {
        const index = this.registry.indexOfLabel(label);
        return index < 0 ? null : oneHotAlpha({ experts: labels.length, targets: null }, index);
      },
      classify: (prompt, via) => this.classifyNow(prompt, via),
      taskAlpha: (task, examples, options) => this.taskAlpha(task, examples, options),
    };
  }

  private async classifyNow(
    prompt: string,
    via: 'base' | 'classifier',
  ): Promise<{ label: string; output: string; ms: number }> {
    const cls = this.options.classification;
    if (!cls) {
      throw new Error(
        'the prompt and classifier strategies need RuntimeOptions.classification (a prompt builder and a parser, e.g. from @t2/tasks)',
      );
    }
    const t0 = this.now();
    if (via === 'base') this.useWeights(null, () => null);
    else {
      const classifier = this.registry.classifier();
      if (!classifier) throw new Error('classify: the registry has no classification expert');
      this.useWeights(mixtureKey([classifier.name], [1]), () =>
        this.model.compose([classifier.expert], [1]),
      );
    }
    const categories = cls.categories ?? this.registry.labels();
    const [output = ''] = await this.model.generate(
      [cls.prompt(prompt, categories)],
      cls.generate ?? DEFAULT_CLASSIFY_GENERATE,
    );
    const label = cls.parse(output, categories);
    return { label, output, ms: this.now() - t0 };
  }

  /** Installs the mixture of task experts (null = base model) through the LRU. */
  private useTaskMixture(alpha: Float64Array | null, shape: AlphaShape): { hit: boolean } {
    if (alpha === null) return this.useWeights(null, () => null);
    const experts = this.registry.taskExperts();
    return this.useWeights(
      mixtureKey(
        experts.map((e) => e.name),
        alpha,
      ),
      () =>
        this.model.compose(
          experts.map((e) => e.expert),
          alphaTable(alpha, shape),
          this.mixing,
        ),
    );
  }

  /** A CEM candidate as answers use it: normalised for convex mixing, as is for additive. */
  private mixtureAlpha(raw: ArrayLike<number>, shape: AlphaShape): Float64Array {
    if (this.mixing === 'convex') return normaliseAlpha(raw, shape);
    const alpha = Float64Array.from(raw);
    alpha.forEach((a, i) => {
      if (!Number.isFinite(a) || a < 0)
        throw new Error(`mixture: alpha[${i}] is ${a}; coefficients must be finite and ≥ 0`);
    });
    return alpha;
  }

  private useWeights(key: string | null, compose: () => W | null): { hit: boolean } {
    if (key === null) {
      if (this.installed !== null) this.model.use(null);
      this.installed = null;
      return { hit: true };
    }
    const { weights, hit } = this.compositions.get(key, () => compose() as W);
    if (this.installed !== key) this.model.use(weights);
    this.installed = key;
    return { hit };
  }

  private shapeFor(perLayer: boolean): AlphaShape {
    return {
      experts: this.registry.taskExperts().length,
      targets: perLayer ? this.model.numTargets : null,
    };
  }

  /**
   * The cache key of a search on `examples`: their content, with the model and experts'
   * fingerprint. A task name alone says nothing about which examples α was searched on.
   */
  private alphaKey(examples: readonly FewShotExample[]): string {
    return contentKey([
      this.options.fingerprint ?? '',
      ...this.registry.taskExperts().map((e) => e.name),
      // convex keys stay as they were, so α cached before mixing existed is still found
      ...(this.mixing === 'convex' ? [] : [`mixing:${this.mixing}`]),
      ...examples.flatMap((e) => [e.prompt, e.answer]),
    ]);
  }

  /**
   * The cached α of `task`, when it was found for these experts, this shape, this model
   * (`fingerprint`) and — when examples are given — on these same examples.
   */
  private cachedAlpha(
    task: string,
    shape: AlphaShape,
    examples: readonly FewShotExample[] | undefined,
  ): Float64Array | null {
    const entry = this.alphaCache.get(task);
    if (!entry) return null;
    const names = this.registry.taskExperts().map((e) => e.name);
    const fingerprint = this.options.fingerprint;
    // An α found for other experts (or another layer count) says nothing about these ones.
    const fits =
      entry.experts.length === names.length &&
      entry.experts.every((n, i) => n === names[i]) &&
      entry.targets === shape.targets &&
      entry.alpha.length === alphaSize(shape) &&
      (entry.mixing ?? 'convex') === this.mixing &&
      (fingerprint === undefined || entry.model === fingerprint) &&
      (!examples?.length || entry.key === this.alphaKey(examples));
    return fits ? Float64Array.from(entry.alpha) : null;
  }

  private async taskAlpha(
    task: string,
    examples: readonly FewShotExample[] | undefined,
    options: FewShotOptions | undefined,
  ): Promise<{ alpha: Float64Array; shape: AlphaShape; source: 'cache' | 'search'; ms: number }> {
    const opts = { ...this.options.fewShot, ...options };
    const shape = this.shapeFor(opts.perLayer ?? false);
    if (!opts.refresh) {
      const cached = this.cachedAlpha(task, shape, examples);
      if (cached) return { alpha: cached, shape, source: 'cache', ms: 0 };
    }
    if ((!examples || examples.length === 0) && this.alphaCache.has(task) && !opts.refresh) {
      throw new Error(
        `few-shot: no α cached for task '${task}'${shape.targets === null ? '' : ' (per layer)'} for this model and these experts (the cached one was found for another model, other experts or another shape); pass labelled examples to search it again`,
      );
    }
    if (!examples || examples.length === 0) {
      throw new Error(
        `few-shot: no α cached for task '${task}'${shape.targets === null ? '' : ' (per layer)'} and no labelled examples to search it on; pass options.examples or call adapt() first`,
      );
    }
    const result = await this.search(task, examples, opts);
    return { alpha: result.normalised, shape, source: 'search', ms: result.ms };
  }

  private async search(
    task: string,
    examples: readonly FewShotExample[],
    options?: FewShotOptions,
  ): Promise<AdaptResult> {
    if (examples.length === 0) throw new Error(`adapt '${task}': no labelled examples`);
    const opts = { ...this.options.fewShot, ...options };
    const shape = this.shapeFor(opts.perLayer ?? false);
    const t0 = this.now();
    const result = await cem(
      (raw) => this.scoreAlpha(this.mixtureAlpha(raw, shape), shape, examples, opts),
      {
        dim: alphaSize(shape),
        population: opts.population ?? 32,
        eliteRatio: opts.eliteRatio ?? 0.2,
        iterations: opts.iterations ?? 10,
        initMean: uniformAlpha(shape),
        initStd: opts.initStd ?? 0.5,
        minStd: opts.minStd ?? 0,
        clamp: [0, 1],
        seed: opts.seed ?? 0,
        onIteration: opts.onIteration,
      },
    );
    const normalised = this.mixtureAlpha(result.alpha, shape);
    const entry: TaskAlpha = {
      experts: this.registry.taskExperts().map((e) => e.name),
      targets: shape.targets,
      alpha: Array.from(normalised),
      mixing: this.mixing,
      score: result.score,
      examples: examples.length,
      updatedAt: new Date().toISOString(),
      key: this.alphaKey(examples),
      ...(this.options.fingerprint !== undefined && { model: this.options.fingerprint }),
    };
    await this.alphaCache.set(task, entry);
    return { ...result, task, normalised, shape, ms: this.now() - t0 };
  }

  /**
   * Accuracy and mean log-likelihood of the examples' answers under one candidate α.
   * Candidates bypass the LRU: each is used once and would only push out useful entries.
   */
  private async scoreAlpha(
    alpha: Float64Array,
    shape: AlphaShape,
    examples: readonly FewShotExample[],
    opts: FewShotOptions,
  ): Promise<CemScore> {
    const experts = this.registry.taskExperts();
    const weights = this.model.compose(
      experts.map((e) => e.expert),
      alphaTable(alpha, shape),
      this.mixing,
    );
    try {
      this.model.use(weights);
      this.installed = undefined;
      const outputs = await this.model.generate(
        examples.map((e) => e.prompt),
        opts.generate ?? this.options.generate,
      );
      const reward = opts.reward ?? exactFirstLine;
      let correct = 0;
      examples.forEach((e, i) => {
        if (reward(e.prompt, outputs[i] ?? '', e.answer) > 0) correct++;
      });
      const completion = opts.completion ?? ((e: FewShotExample) => e.answer);
      const logLiks = await this.model.score(
        examples.map((e) => ({ prompt: e.prompt, completion: completion(e) })),
      );
      const logLik = logLiks.reduce((s, x) => s + x, 0) / logLiks.length;
      return { accuracy: correct / examples.length, logLik };
    } finally {
      this.model.use(null);
      this.installed = null;
      this.model.release?.(weights);
    }
  }
}
