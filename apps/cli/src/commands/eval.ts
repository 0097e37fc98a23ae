import { existsSync } from 'node:fs';
import * as svf from '@t2/adapters-svf';
import type { LlamaForCausalLM, TextTokenizer } from '@t2/llama';
import { decodeAnswer, generateAnswers } from '@t2/rl-reinforce';
import {
  type Evaluation,
  evaluate,
  getFamily,
  type RewardFn,
  type Sample,
  type Score,
  type Split,
  splitSamples,
  splits,
  type TaskFamily,
} from '@t2/tasks';
import { writeFileAtomic } from '@t2/tensor-core';
import type {
  FewShotExample,
  FewShotOptions,
  StrategyName,
  Trace,
  Transformer2Runtime,
} from '@t2/transformer2-runtime';
import { BACKEND_FLAG, backendUsage, useBackend } from '../lib/backend';
import { DEFAULT_SVD_CACHE } from '../lib/cache-dirs';
import { type Command, type CommandIO, UsageError } from '../lib/command';
import { parseFlags, parseNumber } from '../lib/flags';
import { loadModelForCli } from '../lib/load-model';
import { ProgressBar } from '../lib/progress';
import { parseRewardSpec } from '../lib/rewards';
import {
  type ExpertInfo,
  fewShotFlags,
  openRuntime,
  parseStrategy,
  RUNTIME_FLAGS,
  RUNTIME_USAGE,
} from '../lib/runtime';
import {
  answerBudget,
  codecOf,
  drawSamples,
  parseFamilies,
  readDataFile,
  stopTokenIds,
  TASK_MAX_NEW_TOKENS,
} from '../lib/task-data';
import { alphaBars, cemProgress } from '../lib/trace-view';
import { installAdapter } from '../lib/adapters';

const USAGE =
  't2 eval --model PATH (--task NAME[,NAME…] | --data FILE) [options]\n\n' +
  '  --model PATH           Hugging Face folder with tokenizer.json\n' +
  backendUsage() +
  '  --task NAME            task families (comma-separated): --n distinct problems of --split\n' +
  '  --data FILE            JSONL of {"prompt", "answer", "category"?}: every line, or its --split\n' +
  '  --expert FILE          SVF expert (repeatable; several are mixed with --alpha)\n' +
  '  --alpha LIST           mixture weights, one per expert (default uniform)\n' +
  '  --adapter DIR          PEFT adapter folder (LoRA, Bone; repeatable)\n' +
  '  --reward SPEC          task (default with --task), exact (default with --data), numeric[:TOL],\n' +
  '                         regex[:PATTERN], module:FILE\n' +
  '  --n N                  problems in all for --task, shared by its families (default 100)\n' +
  '  --split NAME           train, validation or test (default test for --task; all lines for --data)\n' +
  '  --seed S               which problems are drawn (default 0)\n' +
  '  --max-new-tokens N     answer length cap (default 16 for tasks; from the data otherwise)\n' +
  '  --batch B              prompts decoded at once (default 16)\n' +
  `  --cache DIR            SVD factor cache (default ${DEFAULT_SVD_CACHE})\n` +
  '  --json                 print {"accuracy", "n", "correct", "meanReward", "perCategory", "perFamily"} only\n' +
  '  --predictions FILE     also write one JSON line per sample: prompt, answer, output, correct, family,\n' +
  '                         category (and the pass-1 label with --strategy), for paired comparisons\n\n' +
  'Transformer² (two passes over the SVF experts of --experts; replaces --expert/--alpha/--adapter):\n' +
  "  --strategy NAME        none (base), prompt, classifier, few-shot, or oracle (each sample's true category)\n" +
  '  --shots N              few-shot: labelled examples per family, drawn from its validation split (default 8);\n' +
  '                         α is searched once per family and cached (reused for the same examples,\n' +
  '                         model and experts)\n' +
  RUNTIME_USAGE +
  '  (--json adds "strategy", "routing" (pass-1 labels vs categories), "fewShot" (α per family), "timings")';

/** Applies `--expert` files: one is loaded as is, several are mixed in mask space. */
async function applyExperts(
  model: LlamaForCausalLM,
  paths: readonly string[],
  alpha: number[] | undefined,
  cacheDir: string,
): Promise<void> {
  const experts: svf.SvfExpert[] = [];
  for (const path of paths) {
    if (!existsSync(path)) throw new UsageError(`--expert ${path}: no such file`);
    try {
      // Checked against the plain weights first: a foreign base model fails before any SVD.
      experts.push(await svf.loadExpert(path, model));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const first = experts[0]!;
  const h = await svf.inject(model, {
    targetModules: [...first.z.keys()],
    maxMult: first.maxMult,
    cacheDir,
  });
  try {
    if (experts.length === 1 && !alpha) h.setExpert(first);
    else h.setMixture(experts, alpha ?? experts.map(() => 1 / experts.length));
  } catch (err) {
    throw new UsageError(`--expert: ${(err as Error).message}`);
  }
}

function parseAlpha(text: string, count: number): number[] {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const values = parts.map((p) => Number(p));
  if (parts.length === 0 || values.some((v) => !Number.isFinite(v))) {
    throw new UsageError(`--alpha: expected numbers separated by commas, got '${text}'`);
  }
  if (values.length !== count) {
    throw new UsageError(
      `--alpha: ${values.length} weights for ${count} expert${count === 1 ? '' : 's'}`,
    );
  }
  return values;
}

/**
 * Greedy answers of the model to the samples' prompts, decoded in batches and cut at the
 * first newline (scoring then follows each sample's family rules).
 */
export function greedyAnswers(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  samples: readonly Sample[],
  opts: { maxNewTokens: number; batch: number; onProgress?: (done: number) => void },
): string[] {
  const codec = codecOf(tokenizer);
  const stops = stopTokenIds(tokenizer, model.config.eosTokenIds);
  const outputs: string[] = [];
  for (let start = 0; start < samples.length; start += opts.batch) {
    const chunk = samples.slice(start, start + opts.batch);
    const answers = generateAnswers(
      model,
      chunk.map((s) => codec.encode(s.prompt)),
      {
        maxNewTokens: opts.maxNewTokens,
        temperature: 0,
        eosTokenIds: stops,
        padTokenId: model.config.padTokenId ?? 0,
      },
    );
    for (const a of answers) outputs.push(decodeAnswer(codec, a, stops));
    opts.onProgress?.(outputs.length);
  }
  return outputs;
}

function scoreRow(name: string, s: Score, width: number): string {
  return `${name.padEnd(width)}  ${String(s.correct).padStart(7)}  ${String(s.total).padStart(5)}  ${s.accuracy.toFixed(3).padStart(8)}`;
}

/** Accuracy per name; with `routing`, also how often pass 1 named the right category. */
function printTable(
  io: CommandIO,
  title: string,
  scores: Record<string, Score>,
  routing?: Record<string, Score>,
): void {
  const names = Object.keys(scores).sort();
  const width = Math.max(title.length, ...names.map((n) => n.length));
  io.stdout(`\n${title.padEnd(width)}  correct  total  accuracy${routing ? '  routing' : ''}\n`);
  for (const name of names) {
    const r = routing?.[name];
    io.stdout(
      `${scoreRow(name, scores[name]!, width)}${routing ? (r ? r.accuracy.toFixed(3) : '—').padStart(9) : ''}\n`,
    );
  }
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Accuracy of a model (with SVF experts or adapters) on a task or JSONL data',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' },
      task: { type: 'string' },
      data: { type: 'string' },
      expert: { type: 'string', multiple: true },
      alpha: { type: 'string' },
      adapter: { type: 'string', multiple: true },
      reward: { type: 'string' },
      n: { type: 'string' },
      split: { type: 'string' },
      seed: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      batch: { type: 'string' },
      json: { type: 'boolean', default: false },
      predictions: { type: 'string' },
      strategy: { type: 'string' },
      shots: { type: 'string' },
      ...RUNTIME_FLAGS,
      ...BACKEND_FLAG,
    });
    if ((values.task === undefined) === (values.data === undefined)) {
      throw new UsageError('give exactly one of --task NAME or --data FILE');
    }
    const expertPaths = values.expert ?? [];
    const adapterDirs = values.adapter ?? [];
    const strategy = values.strategy === undefined ? undefined : parseStrategy(values.strategy);
    if (strategy !== undefined) {
      const clash = (['expert', 'alpha', 'adapter'] as const).find((k) => values[k] !== undefined);
      if (clash) {
        throw new UsageError(
          `--${clash} cannot be combined with --strategy (the strategy mixes the experts of --experts)`,
        );
      }
      if (strategy === 'few-shot' && values.task === undefined) {
        throw new UsageError(
          "--strategy few-shot needs --task: each family's few-shot examples come from its validation split",
        );
      }
    } else {
      const strategyOnly = (
        [
          'shots',
          'experts',
          'alpha-cache',
          'cem-iterations',
          'population',
          'per-layer',
          'refresh',
        ] as const
      ).find((k) => values[k] !== undefined && values[k] !== false);
      if (strategyOnly) throw new UsageError(`--${strategyOnly} applies to --strategy`);
    }
    if (expertPaths.length && adapterDirs.length) {
      throw new UsageError(
        '--expert and --adapter cannot be combined (both adapt the same layers)',
      );
    }
    const alpha =
      values.alpha === undefined ? undefined : parseAlpha(values.alpha, expertPaths.length);
    if (values.split !== undefined && !splits.includes(values.split as Split)) {
      throw new UsageError(`--split must be one of ${splits.join(', ')}`);
    }
    const seed = parseNumber(values.seed, '--seed', { integer: true, min: 0, fallback: 0 });
    const batch = parseNumber(values.batch, '--batch', { integer: true, min: 1, fallback: 16 });
    const fams = values.task === undefined ? undefined : parseFamilies(values.task);
    const reward = await parseRewardSpec(values.reward, { task: fams !== undefined });

    let samples: Sample[];
    let what: string;
    if (fams) {
      const n = parseNumber(values.n, '--n', { integer: true, min: 1, fallback: 100 });
      const split = (values.split ?? 'test') as Split;
      samples = drawSamples(fams, { n, seed, split, unique: true });
      what = `${fams.map((f) => f.name).join('+')} (${split} split, ${n} problems, seed ${seed})`;
    } else {
      if (values.n !== undefined)
        throw new UsageError('--n applies to --task; --data evaluates the file');
      const all = await readDataFile(values.data!);
      samples = values.split === undefined ? all : splitSamples(all)[values.split as Split];
      if (samples.length === 0)
        throw new UsageError(
          values.split === undefined
            ? `--data ${values.data}: the file holds no samples (expected JSONL lines of {"prompt", "answer"})`
            : `--data ${values.data}: none of its ${all.length} samples falls in the ${values.split} split (samples are split 80/10/10 by prompt hash; try without --split)`,
        );
      what = `${values.data} (${values.split === undefined ? 'all' : `${values.split} split,`} ${samples.length} samples)`;
    }
    reward.check(samples, values.data ?? 'the task');
    await useBackend(values.backend);
    if (strategy !== undefined) {
      return evalStrategyCommand(io, {
        strategy,
        samples,
        fams,
        what,
        reward: reward.rewardFn,
        rewardSpec: reward.spec,
        values,
      });
    }

    const { model, tokenizer, source } = await loadModelForCli(values.model, {
      adapters: adapterDirs,
      installAdapter,
    });
    if (!tokenizer)
      throw new UsageError(
        `${source} has no tokenizer.json: t2 eval needs one to read text prompts`,
      );
    const cacheDir = values.cache ?? DEFAULT_SVD_CACHE;
    if (expertPaths.length) await applyExperts(model, expertPaths, alpha, cacheDir);
    const maxNewTokens = parseNumber(values['max-new-tokens'], '--max-new-tokens', {
      integer: true,
      min: 1,
      fallback: fams ? TASK_MAX_NEW_TOKENS : answerBudget(tokenizer, samples),
    });

    const bar = new ProgressBar(samples.length, io.stderr, io.isTTY, {
      label: 'eval',
      unit: 'prompts',
    });
    const outputs = greedyAnswers(model, tokenizer, samples, {
      maxNewTokens,
      batch,
      onProgress: (done) => bar.update(done),
    });
    bar.finish();
    let next = 0;
    const result: Evaluation = await evaluate(samples, async () => outputs[next++]!, {
      reward: reward.rewardFn,
    });
    if (values.predictions) {
      await writePredictions(values.predictions, samples, outputs, result);
    }

    if (values.json) {
      const { accuracy, total, correct, meanReward, perCategory, perFamily } = result;
      io.stdout(
        `${JSON.stringify({ accuracy, n: total, correct, meanReward, perCategory, perFamily })}\n`,
      );
      return 0;
    }
    const using = expertPaths.length
      ? ` with expert${expertPaths.length > 1 ? `s ${expertPaths.join(', ')} (alpha ${(alpha ?? expertPaths.map(() => 1 / expertPaths.length)).map((a) => a.toFixed(3)).join(', ')})` : ` ${expertPaths[0]}`}`
      : adapterDirs.length
        ? ` with adapter ${adapterDirs.join(', ')}`
        : '';
    io.stdout(`t2 eval: ${what} on ${source}${using}, reward ${reward.spec}\n`);
    io.stdout(
      `accuracy ${result.accuracy.toFixed(3)} (${result.correct}/${result.total}), mean reward ${result.meanReward.toFixed(3)}\n`,
    );
    printTable(io, 'category', result.perCategory);
    if (Object.keys(result.perFamily).length > 1) printTable(io, 'family', result.perFamily);
    return 0;
  },
};

/** What `evaluateStrategy` reports besides the accuracies. */
export interface StrategyEvaluation {
  strategy: StrategyName;
  evaluation: Evaluation;
  /** prompt/classifier: how often pass 1 named the sample's category, overall and per task. */
  routing?: Score & { perTask: Record<string, Score> };
  /** few-shot: the α used for each task (family), and where it came from. */
  fewShot?: Record<string, TaskAlphaInfo>;
  /** Mean milliseconds per prompt of each step (the few-shot search is in `fewShot`). */
  timings: { pass1Ms: number; composeMs: number; pass2Ms: number; totalMs: number };
  traces: Trace[];
  /** The answer to each sample, in order. */
  outputs: string[];
}

export interface EvaluateStrategyOptions {
  /** Scores every sample; default: each sample's family reward (exact match for user data). */
  reward?: RewardFn;
  /** few-shot: labelled examples per task id (a sample's family, else its category). */
  shots?: ReadonlyMap<string, readonly FewShotExample[]>;
  fewShot?: FewShotOptions;
  /** Answer length cap, over the runtime's default. */
  maxNewTokens?: number;
  /** few-shot: called before each task's α is fetched or searched (progress bars). */
  onTask?: (task: string) => { onIteration?: FewShotOptions['onIteration']; finish?: () => void };
  onProgress?: (done: number) => void;
}

/** The α a few-shot task uses, searched now or found in the cache. */
export interface TaskAlphaInfo {
  alpha: Record<string, number> | null;
  source: 'cache' | 'search';
  /** Examples α was searched on (now, or when it was cached). */
  examples: number;
  adaptMs: number;
  /** Accuracy and mean log-likelihood of α on those examples. */
  score?: { accuracy: number; logLik: number };
}

/**
 * Makes sure the task's α is in the runtime's cache (searching it on `examples` when it
 * is not, or when `options.refresh`) and says which α it is and where it came from.
 */
export async function settleTaskAlpha(
  runtime: Transformer2Runtime<unknown, unknown>,
  task: string,
  examples: readonly FewShotExample[],
  options: FewShotOptions,
  onTask?: EvaluateStrategyOptions['onTask'],
): Promise<TaskAlphaInfo> {
  const hooks = onTask?.(task) ?? {};
  // Answering one shot settles α through the runtime's own cache rules and traces the source.
  const { trace } = await runtime.generate(examples[0]?.prompt ?? '', {
    strategy: 'few-shot',
    task,
    examples: examples.length ? examples : undefined,
    fewShot: { ...options, onIteration: hooks.onIteration },
    generate: { maxNewTokens: 1 },
  });
  hooks.finish?.();
  const cached = runtime.alphaCache.get(task);
  return {
    alpha: trace.alpha,
    source: trace.alphaSource!,
    examples: cached?.examples ?? examples.length,
    adaptMs: trace.timings.adaptMs,
    ...(cached?.score && { score: cached.score }),
  };
}

/** The few-shot task a sample belongs to. */
export function fewShotTask(sample: Sample): string {
  return sample.family ?? sample.category ?? 'data';
}

function tally(): Score {
  return { correct: 0, total: 0, accuracy: 0, meanReward: 0 };
}

function addTo(score: Score, correct: boolean): void {
  score.total++;
  if (correct) score.correct++;
  score.accuracy = score.correct / score.total;
  score.meanReward = (2 * score.correct - score.total) / score.total;
}

/**
 * Answers every sample with one Transformer² strategy and scores the answers. The oracle
 * gets each sample's category as its label; few-shot searches (or reuses) one α per task
 * on `shots` before answering that task's samples.
 */
export async function evaluateStrategy(
  runtime: Transformer2Runtime<unknown, unknown>,
  samples: readonly Sample[],
  strategy: StrategyName,
  opts: EvaluateStrategyOptions = {},
): Promise<StrategyEvaluation> {
  const generate =
    opts.maxNewTokens === undefined ? undefined : { maxNewTokens: opts.maxNewTokens, stop: ['\n'] };
  const fewShot: StrategyEvaluation['fewShot'] = strategy === 'few-shot' ? {} : undefined;
  const fewShotFor = (task: string): FewShotOptions => {
    let reward = opts.reward;
    if (!reward) {
      try {
        reward = getFamily(task).reward;
      } catch {
        reward = undefined; // user data: the runtime's exact match of the answer line
      }
    }
    return { ...opts.fewShot, ...(reward && { reward }), ...(generate && { generate }) };
  };
  if (fewShot) {
    for (const task of [...new Set(samples.map(fewShotTask))]) {
      const examples = opts.shots?.get(task) ?? [];
      fewShot[task] = await settleTaskAlpha(runtime, task, examples, fewShotFor(task), opts.onTask);
    }
  }
  const outputs: string[] = [];
  const traces: Trace[] = [];
  const routing =
    strategy === 'prompt' || strategy === 'classifier'
      ? { ...tally(), perTask: {} as Record<string, Score> }
      : undefined;
  const sums = { pass1Ms: 0, composeMs: 0, pass2Ms: 0, totalMs: 0 };
  for (const sample of samples) {
    const task = fewShotTask(sample);
    const { output, trace } = await runtime.generate(sample.prompt, {
      strategy,
      label: sample.category,
      task,
      // α is settled above: a refresh there must not search again for every sample.
      fewShot: strategy === 'few-shot' ? { ...fewShotFor(task), refresh: false } : undefined,
      generate,
    });
    outputs.push(output);
    traces.push(trace);
    for (const key of Object.keys(sums) as (keyof typeof sums)[]) sums[key] += trace.timings[key];
    if (routing) {
      const right = trace.label === sample.category;
      addTo(routing, right);
      routing.perTask[task] ??= tally();
      addTo(routing.perTask[task]!, right);
    }
    opts.onProgress?.(outputs.length);
  }
  let next = 0;
  const evaluation = await evaluate(samples, async () => outputs[next++]!, { reward: opts.reward });
  const n = Math.max(1, samples.length);
  return {
    strategy,
    evaluation,
    ...(routing && { routing }),
    ...(fewShot && { fewShot }),
    timings: {
      pass1Ms: sums.pass1Ms / n,
      composeMs: sums.composeMs / n,
      pass2Ms: sums.pass2Ms / n,
      totalMs: sums.totalMs / n,
    },
    traces,
    outputs,
  };
}

/** `t2 eval --strategy S`: a Transformer² strategy on a task mix (or JSONL data). */
async function evalStrategyCommand(
  io: CommandIO,
  args: {
    strategy: StrategyName;
    samples: Sample[];
    fams: TaskFamily[] | undefined;
    what: string;
    reward: RewardFn | undefined;
    rewardSpec: string;
    values: {
      model?: string;
      seed?: string;
      shots?: string;
      'max-new-tokens'?: string;
      experts?: string;
      cache?: string;
      'alpha-cache'?: string;
      'cem-iterations'?: string;
      population?: string;
      'per-layer'?: boolean;
      refresh?: boolean;
      json?: boolean;
      data?: string;
      predictions?: string;
    };
  },
): Promise<number> {
  const { strategy, samples, fams, values } = args;
  if (strategy === 'oracle') {
    const unlabelled = samples.findIndex((s) => s.category === undefined);
    if (unlabelled >= 0) {
      throw new UsageError(
        `--strategy oracle needs each sample's category: sample ${unlabelled + 1} of ${values.data} has none`,
      );
    }
  }
  const seed = parseNumber(values.seed, '--seed', { integer: true, min: 0, fallback: 0 });
  const numShots = parseNumber(values.shots, '--shots', { integer: true, min: 1, fallback: 8 });
  if (strategy !== 'few-shot' && values.shots !== undefined) {
    throw new UsageError('--shots applies to --strategy few-shot');
  }
  const shots = new Map<string, FewShotExample[]>();
  if (strategy === 'few-shot') {
    for (const f of fams!) {
      const drawn = drawSamples([f], { n: numShots, seed, split: 'validation', unique: true });
      shots.set(
        f.name,
        drawn.map((s) => ({ prompt: s.prompt, answer: s.answer })),
      );
    }
  }
  const opened = await openRuntime({
    model: values.model,
    experts: values.experts,
    svdCacheDir: values.cache,
    alphaCacheFile: values['alpha-cache'],
    maxNewTokens: TASK_MAX_NEW_TOKENS,
  });
  const { runtime, tokenizer, experts } = opened;
  if (strategy === 'classifier' && !runtime.registry.classifier()) {
    throw new UsageError(
      `--strategy classifier needs the classification expert classifier.safetensors in ${opened.expertsDir}`,
    );
  }
  const maxNewTokens = parseNumber(values['max-new-tokens'], '--max-new-tokens', {
    integer: true,
    min: 1,
    fallback: fams ? TASK_MAX_NEW_TOKENS : answerBudget(tokenizer, samples),
  });
  const bar = new ProgressBar(samples.length, io.stderr, io.isTTY, {
    label: `eval ${strategy}`,
    unit: 'prompts',
  });
  const result = await evaluateStrategy(
    runtime as Transformer2Runtime<unknown, unknown>,
    samples,
    strategy,
    {
      reward: args.reward,
      shots,
      fewShot: fewShotFlags(values),
      maxNewTokens,
      onTask: (task) => cemProgress(io, `CEM ${task}`, fewShotFlags(values).iterations!),
      onProgress: (done) => bar.update(done),
    },
  );
  bar.finish();
  const { evaluation: e } = result;
  if (values.predictions) {
    await writePredictions(
      values.predictions,
      samples,
      result.outputs,
      e,
      result.traces.map((t) => t.label),
    );
  }
  if (values.json) {
    io.stdout(
      `${JSON.stringify({
        strategy,
        accuracy: e.accuracy,
        n: e.total,
        correct: e.correct,
        meanReward: e.meanReward,
        perCategory: e.perCategory,
        perFamily: e.perFamily,
        ...(result.routing && { routing: result.routing }),
        ...(result.fewShot && { fewShot: result.fewShot }),
        timings: result.timings,
        ...(strategy === 'few-shot' && { alphaCache: opened.alphaCacheFile }),
      })}\n`,
    );
    return 0;
  }
  io.stdout(
    `t2 eval: ${args.what} on ${values.model} with Transformer² strategy ${strategy} (experts ${experts
      .map((x) => x.name)
      .join(', ')}), reward ${args.rewardSpec}\n`,
  );
  io.stdout(
    `accuracy ${e.accuracy.toFixed(3)} (${e.correct}/${e.total}), mean reward ${e.meanReward.toFixed(3)}; ${result.timings.totalMs.toFixed(0)} ms per prompt\n`,
  );
  if (result.routing) {
    io.stdout(
      `routing: pass 1 named the category of ${result.routing.correct}/${result.routing.total} prompts (${result.routing.accuracy.toFixed(3)})\n`,
    );
  }
  if (result.fewShot) printFewShot(io, result.fewShot, experts, opened.alphaCacheFile);
  const byFamily = Object.keys(e.perFamily).length > 0;
  printTable(
    io,
    byFamily ? 'family' : 'category',
    byFamily ? e.perFamily : e.perCategory,
    // Routing is counted per task: the family, or the category for user data.
    result.routing?.perTask,
  );
  return 0;
}

function printFewShot(
  io: CommandIO,
  fewShot: NonNullable<StrategyEvaluation['fewShot']>,
  experts: readonly ExpertInfo[],
  cacheFile: string,
): void {
  io.stdout(`few-shot α per task (cache ${cacheFile}):\n`);
  for (const [task, f] of Object.entries(fewShot)) {
    const how =
      f.source === 'cache'
        ? `from the cache (searched on ${f.examples} examples)`
        : `searched on ${f.examples} examples in ${(f.adaptMs / 1000).toFixed(1)} s`;
    io.stdout(`  ${task}: ${how}\n`);
    for (const line of f.alpha ? alphaBars(f.alpha, experts) : ['base model'])
      io.stdout(`    ${line}\n`);
  }
}

/**
 * One JSON line per sample (prompt, answer, output, correct, family, category, pass-1 label),
 * written atomically: what paired comparisons of two runs on the same problems need.
 */
async function writePredictions(
  file: string,
  samples: readonly Sample[],
  outputs: readonly string[],
  evaluation: Evaluation,
  labels?: readonly (string | null | undefined)[],
): Promise<void> {
  const lines = samples.map((s, i) =>
    JSON.stringify({
      prompt: s.prompt,
      answer: s.answer,
      output: outputs[i],
      correct: evaluation.results[i]!.correct,
      ...(s.family !== undefined && { family: s.family }),
      ...(s.category !== undefined && { category: s.category }),
      ...(labels && { label: labels[i] ?? null }),
    }),
  );
  await writeFileAtomic(file, `${lines.join('\n')}\n`);
}
