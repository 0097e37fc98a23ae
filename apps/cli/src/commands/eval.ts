import type { LlamaForCausalLM, TextTokenizer } from '@t2/llama';
import { greedyAnswers } from '@t2/rl-reinforce';
import {
  type Evaluation,
  evaluate,
  type Sample,
  type Score,
  type Split,
  splitSamples,
  splits,
  type TaskFamily,
} from '@t2/tasks';
import {
  evaluateStrategy,
  type FewShotExample,
  type StrategyEvaluation,
  type StrategyName,
  type Transformer2Runtime,
} from '@t2/transformer2-runtime';
import { installAdapter } from '../lib/adapters';
import { BACKEND_FLAG, backendUsage, useBackend } from '../lib/backend';
import { DEFAULT_SVD_CACHE } from '../lib/cache-dirs';
import { type Command, type CommandIO, UsageError } from '../lib/command';
import { applyExperts, parseAlpha } from '../lib/experts';
import { parseFlags, parseNumber } from '../lib/flags';
import { loadModelForCli } from '../lib/load-model';
import { writePredictions } from '../lib/predictions';
import { ProgressBar } from '../lib/progress';
import { parseRewardSpec, type RewardSpec } from '../lib/rewards';
import {
  type ExpertInfo,
  fewShotFlags,
  type OpenedRuntime,
  openRuntime,
  parseStrategy,
  RUNTIME_FLAGS,
  RUNTIME_USAGE,
} from '../lib/runtime';
import {
  answerBudget,
  drawSamples,
  parseFamilies,
  readDataFile,
  TASK_MAX_NEW_TOKENS,
} from '../lib/task-data';
import { alphaBars, cemProgress } from '../lib/trace-view';

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

const EVAL_FLAGS = {
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
} as const;

type EvalValues = ReturnType<typeof parseFlags<typeof EVAL_FLAGS>>['values'];

/** What both kinds of evaluation share: the samples, how they were chosen, the reward. */
interface EvalInput {
  values: EvalValues;
  samples: Sample[];
  fams: TaskFamily[] | undefined;
  what: string;
  reward: RewardSpec;
}

/** Flags that only make sense with (or without) `--strategy` are refused early. */
function checkModeFlags(values: EvalValues, strategy: StrategyName | undefined): void {
  if ((values.task === undefined) === (values.data === undefined)) {
    throw new UsageError('give exactly one of --task NAME or --data FILE');
  }
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
    return;
  }
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
  if (values.expert?.length && values.adapter?.length) {
    throw new UsageError('--expert and --adapter cannot be combined (both adapt the same layers)');
  }
}

/** The problems of `--task` (distinct, from one split) or the lines of `--data`. */
async function evalSamples(
  values: EvalValues,
  fams: TaskFamily[] | undefined,
  seed: number,
): Promise<{ samples: Sample[]; what: string }> {
  if (values.split !== undefined && !splits.includes(values.split as Split)) {
    throw new UsageError(`--split must be one of ${splits.join(', ')}`);
  }
  if (fams) {
    const n = parseNumber(values.n, '--n', { integer: true, min: 1, fallback: 100 });
    const split = (values.split ?? 'test') as Split;
    const samples = drawSamples(fams, { n, seed, split, unique: true });
    const what = `${fams.map((f) => f.name).join('+')} (${split} split, ${n} problems, seed ${seed})`;
    return { samples, what };
  }
  if (values.n !== undefined)
    throw new UsageError('--n applies to --task; --data evaluates the file');
  const all = await readDataFile(values.data!);
  const samples = values.split === undefined ? all : splitSamples(all)[values.split as Split];
  if (samples.length === 0)
    throw new UsageError(
      values.split === undefined
        ? `--data ${values.data}: the file holds no samples (expected JSONL lines of {"prompt", "answer"})`
        : `--data ${values.data}: none of its ${all.length} samples falls in the ${values.split} split (samples are split 80/10/10 by prompt hash; try without --split)`,
    );
  const what = `${values.data} (${values.split === undefined ? 'all' : `${values.split} split,`} ${samples.length} samples)`;
  return { samples, what };
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Accuracy of a model (with SVF experts or adapters) on a task or JSONL data',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseFlags(argv, EVAL_FLAGS);
    const strategy = values.strategy === undefined ? undefined : parseStrategy(values.strategy);
    checkModeFlags(values, strategy);
    const seed = parseNumber(values.seed, '--seed', { integer: true, min: 0, fallback: 0 });
    const fams = values.task === undefined ? undefined : parseFamilies(values.task);
    const reward = await parseRewardSpec(values.reward, { task: fams !== undefined });
    const alpha =
      values.alpha === undefined ? undefined : parseAlpha(values.alpha, values.expert?.length ?? 0);
    const batch = parseNumber(values.batch, '--batch', { integer: true, min: 1, fallback: 16 });
    const { samples, what } = await evalSamples(values, fams, seed);
    reward.check(samples, values.data ?? 'the task');
    await useBackend(values);
    const input = { values, samples, fams, what, reward };
    if (strategy !== undefined) return evalStrategy(io, input, strategy, seed);
    return evalModel(io, input, { alpha, batch });
  },
};

/** The answer length cap: `--max-new-tokens`, else the task default or the data's longest answer. */
function maxNewTokensOf(input: EvalInput, tokenizer: TextTokenizer): number {
  return parseNumber(input.values['max-new-tokens'], '--max-new-tokens', {
    integer: true,
    min: 1,
    fallback: input.fams ? TASK_MAX_NEW_TOKENS : answerBudget(tokenizer, input.samples),
  });
}

/** `t2 eval` without `--strategy`: the model, with `--expert`s or `--adapter`s, answers greedily. */
async function evalModel(
  io: CommandIO,
  input: EvalInput,
  opts: { alpha: number[] | undefined; batch: number },
): Promise<number> {
  const { values, samples, reward } = input;
  const expertPaths = values.expert ?? [];
  const adapterDirs = values.adapter ?? [];
  const { model, tokenizer, source } = await loadModelForCli(values.model, {
    adapters: adapterDirs,
    installAdapter,
  });
  if (!tokenizer)
    throw new UsageError(`${source} has no tokenizer.json: t2 eval needs one to read text prompts`);
  const cacheDir = values.cache ?? DEFAULT_SVD_CACHE;
  if (expertPaths.length) await applyExperts(model, expertPaths, opts.alpha, cacheDir);
  const outputs = answerWithBar(io, model, tokenizer, samples, {
    maxNewTokens: maxNewTokensOf(input, tokenizer),
    batch: opts.batch,
  });
  let next = 0;
  const result = await evaluate(samples, async () => outputs[next++]!, {
    reward: reward.rewardFn,
  });
  if (values.predictions) await writePredictions(values.predictions, samples, outputs, result);
  if (values.json) {
    const { accuracy, total, correct, meanReward, perCategory, perFamily } = result;
    io.stdout(
      `${JSON.stringify({ accuracy, n: total, correct, meanReward, perCategory, perFamily })}\n`,
    );
    return 0;
  }
  const using = expertPaths.length
    ? ` with expert${expertPaths.length > 1 ? `s ${expertPaths.join(', ')} (alpha ${(opts.alpha ?? expertPaths.map(() => 1 / expertPaths.length)).map((a) => a.toFixed(3)).join(', ')})` : ` ${expertPaths[0]}`}`
    : adapterDirs.length
      ? ` with adapter ${adapterDirs.join(', ')}`
      : '';
  io.stdout(`t2 eval: ${input.what} on ${source}${using}, reward ${reward.spec}\n`);
  printAccuracy(io, result);
  printTable(io, 'category', result.perCategory);
  if (Object.keys(result.perFamily).length > 1) printTable(io, 'family', result.perFamily);
  return 0;
}

function answerWithBar(
  io: CommandIO,
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  samples: readonly Sample[],
  opts: { maxNewTokens: number; batch: number },
): string[] {
  const bar = new ProgressBar(samples.length, io.stderr, io.isTTY, {
    label: 'eval',
    unit: 'prompts',
  });
  const outputs = greedyAnswers(
    model,
    tokenizer,
    samples.map((s) => s.prompt),
    { ...opts, onProgress: (done) => bar.update(done) },
  );
  bar.finish();
  return outputs;
}

function printAccuracy(io: CommandIO, e: Evaluation, suffix = ''): void {
  io.stdout(
    `accuracy ${e.accuracy.toFixed(3)} (${e.correct}/${e.total}), mean reward ${e.meanReward.toFixed(3)}${suffix}\n`,
  );
}

/** few-shot: `--shots` labelled examples per family, drawn from its validation split. */
function validationShots(
  fams: readonly TaskFamily[],
  numShots: number,
  seed: number,
): Map<string, FewShotExample[]> {
  const shots = new Map<string, FewShotExample[]>();
  for (const f of fams) {
    const drawn = drawSamples([f], { n: numShots, seed, split: 'validation', unique: true });
    shots.set(
      f.name,
      drawn.map((s) => ({ prompt: s.prompt, answer: s.answer })),
    );
  }
  return shots;
}

/** `t2 eval --strategy S`: a Transformer² strategy on a task mix (or JSONL data). */
async function evalStrategy(
  io: CommandIO,
  input: EvalInput,
  strategy: StrategyName,
  seed: number,
): Promise<number> {
  const { samples, values } = input;
  const unlabelled = samples.findIndex((s) => s.category === undefined);
  if (strategy === 'oracle' && unlabelled >= 0) {
    throw new UsageError(
      `--strategy oracle needs each sample's category: sample ${unlabelled + 1} of ${values.data} has none`,
    );
  }
  const numShots = parseNumber(values.shots, '--shots', { integer: true, min: 1, fallback: 8 });
  for (const flag of ['shots', 'mixing'] as const) {
    if (strategy !== 'few-shot' && values[flag] !== undefined) {
      throw new UsageError(`--${flag} applies to --strategy few-shot`);
    }
  }
  const shots = strategy === 'few-shot' ? validationShots(input.fams!, numShots, seed) : undefined;
  const opened = await openRuntime({
    model: values.model,
    experts: values.experts,
    svdCacheDir: values.cache,
    alphaCacheFile: values['alpha-cache'],
    mixing: values.mixing,
    maxNewTokens: TASK_MAX_NEW_TOKENS,
  });
  if (strategy === 'classifier' && !opened.runtime.registry.classifier()) {
    throw new UsageError(
      `--strategy classifier needs the classification expert classifier.safetensors in ${opened.expertsDir}`,
    );
  }
  const bar = new ProgressBar(samples.length, io.stderr, io.isTTY, {
    label: `eval ${strategy}`,
    unit: 'prompts',
  });
  const fewShot = fewShotFlags(values);
  const result = await evaluateStrategy(
    opened.runtime as Transformer2Runtime<unknown, unknown>,
    samples,
    strategy,
    {
      reward: input.reward.rewardFn,
      shots,
      fewShot,
      maxNewTokens: maxNewTokensOf(input, opened.tokenizer),
      onTask: (task) => cemProgress(io, `CEM ${task}`, fewShot.iterations!),
      onProgress: (done) => bar.update(done),
    },
  );
  bar.finish();
  if (values.predictions) {
    const labels = result.traces.map((t) => t.label);
    await writePredictions(values.predictions, samples, result.outputs, result.evaluation, labels);
  }
  printStrategyResult(io, input, result, opened);
  return 0;
}

function printStrategyResult(
  io: CommandIO,
  input: EvalInput,
  result: StrategyEvaluation,
  opened: OpenedRuntime,
): void {
  const { evaluation: e, strategy } = result;
  if (input.values.json) {
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
    return;
  }
  const experts = opened.experts;
  io.stdout(
    `t2 eval: ${input.what} on ${input.values.model} with Transformer² strategy ${strategy} (experts ${experts
      .map((x) => x.name)
      .join(', ')}), reward ${input.reward.spec}\n`,
  );
  printAccuracy(io, e, `; ${result.timings.totalMs.toFixed(0)} ms per prompt`);
  if (result.routing) {
    io.stdout(
      `routing: pass 1 named the category of ${result.routing.correct}/${result.routing.total} prompts (${result.routing.accuracy.toFixed(3)})\n`,
    );
  }
  if (result.fewShot) printFewShot(io, result.fewShot, experts, opened.alphaCacheFile);
  const byFamily = Object.keys(e.perFamily).length > 0;
  // Routing is counted per task: the family, or the category for user data.
  printTable(
    io,
    byFamily ? 'family' : 'category',
    byFamily ? e.perFamily : e.perCategory,
    result.routing?.perTask,
  );
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
