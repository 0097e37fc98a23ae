import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { MIXINGS } from '@t2/adapters-svf';
import { ANSWER_END, classificationPrompt, expertCategories, parseCategory } from '@t2/tasks';
import {
  type FewShotExample,
  type FewShotOptions,
  type LoadedRuntime,
  loadRuntime,
  type Mixing,
  STRATEGIES,
  type StrategyName,
} from '@t2/transformer2-runtime';
import { keepStoredWeights } from './backend';
import { DEFAULT_SVD_CACHE } from './cache-dirs';
import { UsageError } from './command';
import { parseNumber } from './flags';
import { readDataFile } from './task-data';

/** Where few-shot α are kept when `--alpha-cache` is not given: one file per set of experts. */
export const DEFAULT_ALPHA_CACHE_DIR = '.t2-cache/alpha';

/** The file name of the classification expert inside an experts folder. */
export const CLASSIFIER_FILE = 'classifier.safetensors';

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
  /** `--mixing convex|additive` as given (default convex, the reference). */
  mixing?: string;
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
  mixing: { type: 'string' },
} as const;

export const RUNTIME_USAGE =
  '  --experts DIR          SVF experts: <name>.safetensors per category + classifier.safetensors\n' +
  '                         (default MODEL/experts)\n' +
  '  --alpha-cache FILE     few-shot α per task (default .t2-cache/alpha/<experts fingerprint>.json)\n' +
  '  --cem-iterations N     few-shot: CEM iterations (default 10)\n' +
  '  --population N         few-shot: CEM population (default 32)\n' +
  '  --per-layer            few-shot: one α per expert per adapted weight\n' +
  '  --refresh              few-shot: search α again even when it is cached\n' +
  '  --mixing M             few-shot: how α mixes the experts: convex (default, the paper: α sums\n' +
  "                         to 1) or additive (each expert's change added, so several apply in full)\n";

/** `--mixing`, checked: convex (the reference) unless additive is asked for. */
export function parseMixing(value: string | undefined): Mixing {
  if (value === undefined) return 'convex';
  if (!(MIXINGS as readonly string[]).includes(value)) {
    throw new UsageError(`--mixing: expected convex or additive, got '${value}'`);
  }
  return value as Mixing;
}

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
      mixing: parseMixing(opts.mixing),
      keepBf16: keepStoredWeights(),
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
