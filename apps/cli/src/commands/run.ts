import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import {
  ANSWER_END,
  answerLine,
  classificationPrompt,
  expertCategories,
  parseCategory,
} from '@t2/tasks';
import { getBackend } from '@t2/tensor-core';
import {
  type FewShotExample,
  type FewShotOptions,
  type LoadedRuntime,
  loadRuntime,
  STRATEGIES,
  type StrategyName,
  type Trace,
} from '@t2/transformer2-runtime';
import { BACKEND_FLAG, backendUsage, useBackend } from '../lib/backend';
import { type Command, type CommandIO, UsageError } from '../lib/command';
import { parseFlags, parseNumber } from '../lib/flags';
import { formatDuration, ProgressBar } from '../lib/progress';
import { readDataFile } from '../lib/task-data';
import { DEFAULT_SVD_CACHE } from './rl';

/** Where few-shot α are kept when `--alpha-cache` is not given: one file per set of experts. */
export const DEFAULT_ALPHA_CACHE_DIR = '.t2-cache/alpha';

/** The file name of the classification expert inside an experts folder. */
export const CLASSIFIER_FILE = 'classifier.safetensors';

/** Answers of the built-in tasks are short; user prompts get a little more room. */
const RUN_MAX_NEW_TOKENS = 16;

/** One expert as the CLI shows it. */
export interface ExpertInfo {
  name: string;
  label: string;
  role: 'task' | 'classifier';
  file: string;
  /** Adapted weight matrices and the singular values z scales across them. */
  targets: number;
  values: number;
}

export interface OpenedRuntime extends LoadedRuntime {
  expertsDir: string;
  alphaCacheFile: string;
  experts: ExpertInfo[];
  /** Milliseconds spent loading the model, checking the experts and injecting SVF. */
  loadMs: number;
  /** Parameters of the base model (without the SVF vectors). */
  parameters: number;
}

export interface OpenRuntimeOptions {
  /** `--model PATH`. */
  model: string | undefined;
  /** `--experts DIR`; default `<model>/experts`. */
  experts?: string;
  /** SVD factor cache (`--cache`). */
  svdCacheDir?: string;
  /** `--alpha-cache FILE`; default `.t2-cache/alpha/<fingerprint of the experts>.json`. */
  alphaCacheFile?: string;
  /** Answer length cap of pass 2. */
  maxNewTokens: number;
}

/** The flags every Transformer² command shares (`t2 run`, `t2 eval --strategy`, `t2 quickstart`). */
export const RUNTIME_FLAGS = {
  experts: { type: 'string' },
  cache: { type: 'string' },
  'alpha-cache': { type: 'string' },
  'cem-iterations': { type: 'string' },
  population: { type: 'string' },
  'per-layer': { type: 'boolean', default: false },
  refresh: { type: 'boolean', default: false },
} as const;

export const RUNTIME_USAGE =
  '  --experts DIR          SVF experts: <name>.safetensors per category + classifier.safetensors\n' +
  '                         (default MODEL/experts)\n' +
  '  --alpha-cache FILE     few-shot α per task (default .t2-cache/alpha/<experts fingerprint>.json)\n' +
  '  --cem-iterations N     few-shot: CEM iterations (default 10)\n' +
  '  --population N         few-shot: CEM population (default 32)\n' +
  '  --per-layer            few-shot: one α per expert per adapted weight\n' +
  '  --refresh              few-shot: search α again even when it is cached\n';

/** `--strategy NAME`, checked; `allowed` narrows the five strategies (e.g. no oracle in `t2 run`). */
export function parseStrategy(
  value: string | undefined,
  allowed: readonly StrategyName[] = STRATEGIES,
): StrategyName {
  if (value === undefined) throw new UsageError(`--strategy is required (${allowed.join(', ')})`);
  if (!STRATEGIES.includes(value as StrategyName)) {
    throw new UsageError(`--strategy: unknown strategy '${value}' (known: ${allowed.join(', ')})`);
  }
  if (!allowed.includes(value as StrategyName)) {
    throw new UsageError(
      value === 'oracle'
        ? '--strategy oracle needs the true category of each prompt: use it with t2 eval --strategy oracle'
        : `--strategy ${value} is not available here (use one of ${allowed.join(', ')})`,
    );
  }
  return value as StrategyName;
}

/** CEM settings from `--cem-iterations`, `--population`, `--per-layer`, `--refresh` and `--seed`. */
export function fewShotFlags(values: {
  'cem-iterations'?: string;
  population?: string;
  'per-layer'?: boolean;
  refresh?: boolean;
  seed?: string;
}): FewShotOptions {
  return {
    iterations: parseNumber(values['cem-iterations'], '--cem-iterations', {
      integer: true,
      min: 1,
      fallback: 10,
    }),
    population: parseNumber(values.population, '--population', {
      integer: true,
      min: 2,
      fallback: 32,
    }),
    perLayer: values['per-layer'] ?? false,
    refresh: values.refresh ?? false,
    seed: parseNumber(values.seed, '--seed', { integer: true, min: 0, fallback: 0 }),
    // The log-likelihood that breaks accuracy ties scores the whole answer line, newline included.
    completion: (e) => `${e.answer}${ANSWER_END}`,
  };
}

/**
 * The categories listed by the classification prompt: in the order the classification
 * expert was trained on (`expertCategories`), then any other label of the experts.
 */
function classificationCategories(labels: readonly string[]): string[] {
  const known = expertCategories.filter((c) => labels.includes(c));
  return [...known, ...labels.filter((l) => !known.includes(l))];
}

/** A short, stable name for a set of expert files: α found for other experts must not be reused. */
async function expertsFingerprint(files: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of [...files].sort()) {
    hash.update(basename(file));
    hash.update(await readFile(file));
  }
  return hash.digest('hex').slice(0, 16);
}

async function expertFiles(dir: string, defaulted: boolean): Promise<string[]> {
  const how = defaulted ? ' (the default: MODEL/experts; give --experts DIR)' : '';
  if (!existsSync(dir)) {
    throw new UsageError(
      `--experts ${dir}: no such folder${how}. It should hold one SVF expert per category (e.g. arith.safetensors, made with t2 rl) and ${CLASSIFIER_FILE}`,
    );
  }
  if (!statSync(dir).isDirectory()) throw new UsageError(`--experts ${dir}: not a folder`);
  const files = (await readdir(dir)).filter((n) => n.endsWith('.safetensors')).sort();
  if (files.length === 0) {
    throw new UsageError(
      `--experts ${dir}: no expert files (*.safetensors)${how}; train them with t2 rl --task NAME`,
    );
  }
  return files.map((n) => join(dir, n));
}

/**
 * Loads `--model` with the experts of `--experts` into a Transformer² runtime, wired to the
 * task suite's classification prompt and answer format. Input problems (a missing folder,
 * an expert made for another base model) are usage errors.
 */
export async function openRuntime(opts: OpenRuntimeOptions): Promise<OpenedRuntime> {
  if (!opts.model) throw new UsageError('--model PATH is required (a Hugging Face model folder)');
  if (!existsSync(opts.model))
    throw new UsageError(`--model ${opts.model}: no such file or folder`);
  const expertsDir = opts.experts ?? join(opts.model, 'experts');
  const files = await expertFiles(expertsDir, opts.experts === undefined);
  const alphaCacheFile =
    opts.alphaCacheFile ?? join(DEFAULT_ALPHA_CACHE_DIR, `${await expertsFingerprint(files)}.json`);
  const t0 = performance.now();
  // The labels are known once the experts are loaded; the runtime reads this on every call.
  let categories: string[] | undefined;
  const classification = {
    prompt: classificationPrompt,
    parse: parseCategory,
    get categories() {
      return categories;
    },
  };
  let loaded: LoadedRuntime;
  try {
    loaded = await loadRuntime({
      modelPath: opts.model,
      expertFiles: files,
      classification,
      generate: { maxNewTokens: opts.maxNewTokens, stop: [ANSWER_END] },
      alphaCacheFile,
      svdCacheDir: opts.svdCacheDir ?? DEFAULT_SVD_CACHE,
    });
  } catch (err) {
    const message = (err as Error).message;
    // Problems with the given files read as usage errors; anything else keeps its stack.
    if ([opts.model, expertsDir, alphaCacheFile].some((p) => message.includes(p))) {
      throw new UsageError(message);
    }
    throw err;
  }
  const { runtime } = loaded;
  categories = classificationCategories(runtime.labels);
  const experts: ExpertInfo[] = [
    ...runtime.registry.taskExperts(),
    ...(runtime.registry.classifier() ? [runtime.registry.classifier()!] : []),
  ].map((e) => ({
    name: e.name,
    label: e.label,
    role: e.role,
    file: e.source ?? '',
    targets: e.expert.z.size,
    values: [...e.expert.z.values()].reduce((n, z) => n + z.length, 0),
  }));
  return {
    ...loaded,
    expertsDir,
    alphaCacheFile,
    experts,
    loadMs: performance.now() - t0,
    parameters: loaded.model.numParameters() - loaded.svf.numTrainable(),
  };
}

/** `--shots FILE`: labelled examples `{"prompt", "answer"}` for the few-shot search. */
export async function readShots(path: string): Promise<FewShotExample[]> {
  if (!existsSync(path)) throw new UsageError(`--shots ${path}: no such file`);
  const samples = await readDataFile(path);
  if (samples.length === 0) throw new UsageError(`--shots ${path}: no examples in the file`);
  return samples.map((s) => ({ prompt: s.prompt, answer: s.answer }));
}

/** `math   ████████░░ 0.80`: one bar per expert. */
export function alphaBars(
  alpha: Record<string, number>,
  experts: readonly ExpertInfo[],
  width = 10,
): string[] {
  const names = Object.keys(alpha);
  const title = (name: string) => {
    const label = experts.find((e) => e.name === name)?.label;
    return label && label !== name ? `${name} (${label})` : name;
  };
  const pad = Math.max(...names.map((n) => title(n).length));
  return names.map((name) => {
    const a = alpha[name]!;
    const filled = Math.max(0, Math.min(width, Math.round(a * width)));
    return `${title(name).padEnd(pad)}  ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${a.toFixed(2)}`;
  });
}

function ms(value: number): string {
  return value >= 10_000 ? formatDuration(value / 1000) : `${Math.round(value)} ms`;
}

/** The trace as indented lines for the terminal: strategy, pass 1, α bars, timings. */
export function renderTrace(trace: Trace, experts: readonly ExpertInfo[]): string[] {
  const lines: string[] = [];
  const row = (key: string, value: string) => lines.push(`  ${key.padEnd(10)} ${value}`);
  row('strategy', trace.strategy);
  if (trace.pass1Output !== undefined) {
    row(
      'pass 1',
      `${JSON.stringify(trace.pass1Output)} → ${trace.label} (${ms(trace.timings.pass1Ms)})`,
    );
  } else if (trace.label !== undefined) {
    row('label', `${trace.label} (given)`);
  }
  if (trace.task !== undefined) {
    row(
      'task',
      `${trace.task}: α ${trace.alphaSource === 'cache' ? 'from the cache' : `searched now (${ms(trace.timings.adaptMs)})`}`,
    );
  }
  if (trace.alpha === null) {
    row(
      'α',
      trace.label !== undefined ? `no expert serves '${trace.label}': base model` : 'base model',
    );
  } else {
    const [first, ...rest] = alphaBars(trace.alpha, experts);
    row('α', first!);
    for (const line of rest) row('', line);
    if (trace.alphaPerLayer) {
      row(
        '',
        `(mean over ${trace.alphaPerLayer[0]?.length ?? 0} adapted weights; --json has each)`,
      );
    }
  }
  const t = trace.timings;
  row(
    'timings',
    `pass 1 ${ms(t.pass1Ms)} · adapt ${ms(t.adaptMs)} · compose ${ms(t.composeMs)}${trace.cacheHit && trace.alpha ? ' (cached)' : ''} · pass 2 ${ms(t.pass2Ms)} · total ${ms(t.totalMs)}`,
  );
  return lines;
}

/**
 * A CEM progress bar on stderr: the `onIteration` hook, and `finish` (a no-op if no search
 * ran). With `erase`, a terminal's bar is wiped when done, for reports that print a summary.
 */
export function cemProgress(
  io: CommandIO,
  label: string,
  iterations: number,
  opts: { erase?: boolean } = {},
) {
  const bar = new ProgressBar(iterations, io.stderr, io.isTTY, { label, unit: 'iter' });
  let started = false;
  return {
    onIteration: (p: { iteration: number; best: { accuracy: number; logLik: number } }) => {
      started = true;
      bar.update(p.iteration + 1, { best: p.best.accuracy, 'log p': p.best.logLik });
    },
    finish: () => {
      if (!started) return;
      if (opts.erase) eraseProgress(io, bar);
      else bar.finish();
    },
  };
}

/** Ends a progress bar: on a terminal its line is wiped, elsewhere it is left as logged. */
export function eraseProgress(io: CommandIO, bar: ProgressBar): void {
  if (io.isTTY) io.stderr('\r\x1b[2K');
  else bar.finish();
}

const USAGE =
  't2 run --model PATH --strategy none|prompt|classifier|few-shot --prompt TEXT [options]\n\n' +
  '  --model PATH           Hugging Face folder with tokenizer.json\n' +
  '  --prompt TEXT          the prompt to answer (e.g. "12+35=")\n' +
  '  --strategy NAME        how pass 1 picks the experts:\n' +
  '                           prompt      the base model names the category (classification prompt)\n' +
  `                           classifier  the classification expert (${CLASSIFIER_FILE}) names it\n` +
  '                           few-shot    α searched by CEM on --shots, cached per task\n' +
  '                           none        the base model answers\n' +
  '  --shots FILE           few-shot: JSONL of {"prompt", "answer"} (labelled examples of the task)\n' +
  '  --task ID              few-shot: the task id α is cached under (default the --shots file name);\n' +
  '                         a cached α is reused only for the same shots, model and experts\n' +
  RUNTIME_USAGE +
  `  --cache DIR            SVD factor cache (default ${DEFAULT_SVD_CACHE})\n` +
  '  --seed S               seeds the CEM search (default 0)\n' +
  `  --max-new-tokens N     answer length cap (default ${RUN_MAX_NEW_TOKENS})\n` +
  backendUsage() +
  '  --json                 print {"prompt", "answer", "output", "trace"} only';

export const run: Command = {
  name: 'run',
  summary: 'Answer a prompt with Transformer² (two passes over SVF experts) and show the trace',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' },
      prompt: { type: 'string' },
      strategy: { type: 'string' },
      shots: { type: 'string' },
      task: { type: 'string' },
      seed: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      json: { type: 'boolean', default: false },
      ...RUNTIME_FLAGS,
      ...BACKEND_FLAG,
    });
    const strategy = parseStrategy(values.strategy, ['none', 'prompt', 'classifier', 'few-shot']);
    if (values.prompt === undefined) throw new UsageError('--prompt TEXT is required');
    const fewShot = fewShotFlags(values);
    const maxNewTokens = parseNumber(values['max-new-tokens'], '--max-new-tokens', {
      integer: true,
      min: 1,
      fallback: RUN_MAX_NEW_TOKENS,
    });
    if (strategy !== 'few-shot' && (values.shots !== undefined || values.task !== undefined)) {
      throw new UsageError('--shots and --task belong to --strategy few-shot');
    }
    const shots = values.shots === undefined ? undefined : await readShots(values.shots);
    const task =
      values.task ?? (values.shots ? basename(values.shots, extname(values.shots)) : undefined);
    if (strategy === 'few-shot' && task === undefined) {
      throw new UsageError(
        '--strategy few-shot needs --shots FILE (JSONL of {"prompt", "answer"} examples of the task), or --task ID of a task whose α is cached',
      );
    }
    await useBackend(values.backend);

    const opened = await openRuntime({
      model: values.model,
      experts: values.experts,
      svdCacheDir: values.cache,
      alphaCacheFile: values['alpha-cache'],
      maxNewTokens,
    });
    const { runtime, experts } = opened;
    if (strategy === 'classifier' && !runtime.registry.classifier()) {
      throw new UsageError(
        `--strategy classifier needs the classification expert ${join(opened.expertsDir, CLASSIFIER_FILE)} (train it with t2 rl on classification data)`,
      );
    }
    if (strategy === 'few-shot' && !shots && (values.refresh || !runtime.alphaCache.has(task!))) {
      throw new UsageError(
        `--strategy few-shot: no α cached for task '${task}' in ${opened.alphaCacheFile}; give --shots FILE with labelled examples to search it`,
      );
    }
    const say = (text: string) => (values.json ? undefined : io.stdout(text));
    say(
      `t2 run: ${strategy} on ${values.model} (experts ${experts
        .filter((e) => e.role === 'task')
        .map((e) => e.name)
        .join(
          ', ',
        )}${runtime.registry.classifier() ? ' + classifier' : ''}; backend ${getBackend().name})\n`,
    );
    const progress =
      strategy === 'few-shot' ? cemProgress(io, `CEM ${task}`, fewShot.iterations!) : undefined;
    let result: Awaited<ReturnType<typeof runtime.generate>>;
    try {
      result = await runtime.generate(values.prompt, {
        strategy,
        task,
        examples: shots,
        fewShot: { ...fewShot, onIteration: progress?.onIteration },
      });
    } catch (err) {
      // Wrong model/prompt combinations surface here (e.g. a prompt longer than the context).
      throw new UsageError((err as Error).message);
    }
    progress?.finish();
    const answer = answerLine(result.output);
    if (values.json) {
      io.stdout(
        `${JSON.stringify({ prompt: values.prompt, answer, output: result.output, trace: result.trace })}\n`,
      );
      return 0;
    }
    io.stdout(
      `\nprompt  ${values.prompt}\nanswer  ${answer === '' ? '(empty)' : answer}\n\ntrace\n`,
    );
    io.stdout(`${renderTrace(result.trace, experts).join('\n')}\n`);
    if (strategy === 'few-shot') io.stdout(`  ${'α cache'.padEnd(10)} ${opened.alphaCacheFile}\n`);
    return 0;
  },
};
