/**
 * `npm run experiment:t2`: Transformer² on the bundled model, measured with paired tests.
 *
 * 1. SVF experts per domain for several seeds (`t2 rl`, the recipe of scripts/make-t2-tiny.sh;
 *    seed 0 is the shipped expert set in models/t2-tiny/experts), and a LoRA baseline with the
 *    same REINFORCE budget.
 * 2. `t2 eval --predictions` on the same test problems for every row: the base model, each
 *    expert, the prompt/classifier/oracle strategies (seen domains) and few-shot (held-out
 *    families); n problems per family, one fixed draw.
 * 3. Paired comparisons (paired bootstrap intervals, exact McNemar or sign-flip p-values) and
 *    experiments/REPORT.md.
 *
 * Every step is cached under --work (a prediction file or expert that exists is reused; delete
 * the folder or pass --fresh yes to redo it). Long: about an hour on two cores.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { flags, t2, timed } from '../lib/cli';
import { DOMAINS, FAMILIES, MIXABLE } from './families';
import { writeReport } from './report';

const opts = flags({
  model: 'models/t2-tiny',
  seeds: '3',
  n: '1000',
  'eval-seed': '1000',
  steps: '200',
  batch: '32',
  'validate-every': '20',
  'val-size': '500',
  // The reference's batch, trained once (seed 0) per domain to measure t2's departure (32);
  // 0 skips the step (results keep no referenceBatch).
  'reference-batch': '256',
  shots: '8',
  r: '4',
  work: '.t2-cache/experiments/t2',
  fresh: 'no',
  'report-only': 'no',
});
const work = opts.work;
const fresh = opts.fresh === 'yes';

/** One row's per-problem correctness on one family (0/1, problem order of the fixed draw). */
export type Scores = number[];

export interface T2Results {
  model: string;
  date: string;
  n: number;
  evalSeed: number;
  seeds: number[];
  recipe: { steps: number; batch: number; validateEvery: number; valSize: number; shots: number; loraRank: number };
  /** base[family] */
  base: Record<string, Scores>;
  /** experts[domain][seed][family] */
  experts: Record<string, Record<string, Scores>[]>;
  /** strategies[name][seed][family] */
  strategies: Record<string, Record<string, Scores>[]>;
  /** lora[domain] on its own domain, svfSeed0[domain] likewise */
  lora: Record<string, Scores>;
  trainable: { svf: number; lora: number };
  /** Pass-1 routing accuracy of prompt/classifier per seed. */
  routing: Record<string, number[]>;
  /** Few-shot α per seed and family (convex mixing, the reference). */
  alpha: Record<string, Record<string, number> | null>[];
  /**
   * Seed-0 experts trained with the reference's batch (256) instead of t2's default, on their
   * own domain: the measurement behind the batch departure (absent in results before it).
   */
  referenceBatch?: { batch: number; experts: Record<string, Scores>; minutes: Record<string, number> };
  /** Few-shot α per seed and family with `--mixing additive` (absent in results before it). */
  alphaAdditive?: Record<string, Record<string, number> | null>[];
  seconds: Record<string, number>;
}

async function rl(args: string[]): Promise<void> {
  await t2(['rl', ...args, '--json']);
}

const recipe = (batch = opts.batch) => [
  '--model', opts.model,
  '--steps', opts.steps,
  '--batch', batch,
  '--validate-every', opts['validate-every'],
  '--val-size', opts['val-size'],
];

/** The expert folder of one seed: trained here, or the shipped set for seed 0. */
async function expertSet(seed: number): Promise<string> {
  if (seed === 0) return `${opts.model}/experts`;
  const dir = `${work}/experts-seed${seed}`;
  await mkdir(dir, { recursive: true });
  for (const domain of DOMAINS) {
    const out = `${work}/rl-${domain}-seed${seed}`;
    // expert.safetensors appears at the first best validation; `finished` only after the run.
    if (fresh || !existsSync(`${out}/finished`)) {
      console.log(`training the ${domain} expert, seed ${seed}`);
      await rl([...recipe(), '--task', domain, '--seed', String(seed), '--out', out, '--overwrite']);
      await writeFile(`${out}/finished`, `${new Date().toISOString()}\n`);
    }
    await copyFile(`${out}/expert.safetensors`, `${dir}/${domain}.safetensors`);
  }
  // One classification expert (the shipped one) serves every seed: it routes, it does not answer.
  while (!existsSync(`${opts.model}/experts/classifier.safetensors`)) {
    console.log(`waiting for ${opts.model}/experts/classifier.safetensors (scripts/make-t2-tiny.sh)`);
    await new Promise((r) => setTimeout(r, 30_000));
  }
  await copyFile(`${opts.model}/experts/classifier.safetensors`, `${dir}/classifier.safetensors`);
  return dir;
}

/**
 * Distinct test-split problems a family has, where fewer than --n: `big` draws two two-digit
 * numbers (8,100 prompts, about 810 of them in the test split).
 */
export const TEST_SPLIT_CAP: Record<string, number> = { big: 800 };

/** `t2 eval … --predictions FILE` on the fixed draw of one family; 0/1 per problem. */
async function predictions(name: string, family: string, args: string[]): Promise<Scores> {
  const file = `${work}/pred/${name}--${family}.jsonl`;
  if (fresh || !existsSync(file)) {
    await mkdir(`${work}/pred`, { recursive: true });
    const n = String(Math.min(Number(opts.n), TEST_SPLIT_CAP[family] ?? Number.POSITIVE_INFINITY));
    await t2(['eval', '--model', opts.model, '--task', family, '--n', n, '--seed', opts['eval-seed'], '--json', '--predictions', file, ...args]);
  }
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  return lines.map((l) => ((JSON.parse(l) as { correct: boolean }).correct ? 1 : 0));
}

async function main(): Promise<void> {
  if (opts['report-only'] === 'yes') {
    await writeReport(JSON.parse(await readFile('experiments/transformer2/results.json', 'utf8')));
    console.log('wrote experiments/REPORT.md');
    return;
  }
  const seeds = Array.from({ length: Number(opts.seeds) }, (_, i) => i);
  const seconds: Record<string, number> = {};
  const sets: string[] = [];
  [, seconds.experts] = await timed(async () => {
    for (const seed of seeds) sets.push(await expertSet(seed));
  });

  const lora: Record<string, Scores> = {};
  [, seconds.lora] = await timed(async () => {
    for (const domain of DOMAINS) {
      const out = `${work}/lora-${domain}`;
      if (fresh || !existsSync(`${out}/finished`)) {
        console.log(`training the LoRA baseline for ${domain}`);
        await rl([...recipe(), '--task', domain, '--method', 'lora', '--r', opts.r, '--seed', '0', '--out', out, '--overwrite']);
        await writeFile(`${out}/finished`, `${new Date().toISOString()}\n`);
      }
      lora[domain] = await predictions(`lora-${domain}`, domain, ['--adapter', `${out}/lora`]);
    }
  });

  // The reference's batch for seed 0: does t2's smaller batch cost accuracy?
  const refBatch = opts['reference-batch'];
  const referenceBatch: NonNullable<T2Results['referenceBatch']> = {
    batch: Number(refBatch),
    experts: {},
    minutes: {},
  };
  [, seconds.reference_batch] = await timed(async () => {
    if (refBatch === '0') return;
    for (const domain of DOMAINS) {
      const out = `${work}/rl-${domain}-batch${refBatch}`;
      if (fresh || !existsSync(`${out}/finished`)) {
        console.log(`training the ${domain} expert with batch ${refBatch} (seed 0)`);
        const [, s] = await timed(() =>
          rl([...recipe(refBatch), '--task', domain, '--seed', '0', '--out', out, '--overwrite']),
        );
        await writeFile(`${out}/finished`, `${new Date().toISOString()}\n${s}\n`);
      }
      const lines = (await readFile(`${out}/finished`, 'utf8')).trim().split('\n');
      referenceBatch.minutes[domain] = Number(lines[1] ?? Number.NaN) / 60;
      referenceBatch.experts[domain] = await predictions(`expert-${domain}-batch${refBatch}`, domain, ['--expert', `${out}/expert.safetensors`]);
    }
  });

  const base: Record<string, Scores> = {};
  [, seconds.base] = await timed(async () => {
    for (const f of FAMILIES) base[f] = await predictions('base', f, []);
  });

  const experts: Record<string, Record<string, Scores>[]> = {};
  [, seconds.experts_eval] = await timed(async () => {
    for (const domain of DOMAINS) {
      experts[domain] = [];
      for (const seed of seeds) {
        const row: Record<string, Scores> = {};
        const fams = [domain, ...MIXABLE];
        for (const f of fams) {
          row[f] = await predictions(`expert-${domain}-seed${seed}`, f, ['--expert', `${sets[seed]}/${domain}.safetensors`]);
        }
        experts[domain]!.push(row);
        console.log(`expert ${domain} seed ${seed}: ${fams.map((f) => `${f} ${pct(mean(row[f]!))}`).join('  ')}`);
      }
    }
  });

  const strategies: Record<string, Record<string, Scores>[]> = {};
  const routing: Record<string, number[]> = { prompt: [], classifier: [] };
  const alpha: T2Results['alpha'] = [];
  const alphaAdditive: T2Results['alpha'] = [];
  // few-shot-additive: the same search with --mixing additive (t2's departure from the
  // reference's normalised α, measured here on the same problems).
  const alphaFile = (strategy: string, seed: number) =>
    `${work}/alpha-${strategy === 'few-shot-additive' ? 'additive-' : ''}seed${seed}.json`;
  [, seconds.strategies] = await timed(async () => {
    for (const strategy of ['prompt', 'classifier', 'oracle', 'few-shot', 'few-shot-additive']) {
      strategies[strategy] = [];
      const fewShot = strategy.startsWith('few-shot');
      const fams = fewShot ? MIXABLE : DOMAINS;
      for (const seed of seeds) {
        const extra = fewShot
          ? ['--shots', opts.shots, '--alpha-cache', alphaFile(strategy, seed)]
          : [];
        if (strategy === 'few-shot-additive') extra.push('--mixing', 'additive');
        const name = strategy === 'few-shot-additive' ? 'few-shot' : strategy;
        const row: Record<string, Scores> = {};
        for (const f of fams) {
          row[f] = await predictions(`${strategy}-seed${seed}`, f, ['--strategy', name, '--experts', sets[seed]!, ...extra]);
        }
        strategies[strategy]!.push(row);
        console.log(`${strategy} seed ${seed}: ${fams.map((f) => `${f} ${pct(mean(row[f]!))}`).join('  ')}`);
        if (strategy === 'prompt' || strategy === 'classifier') {
          routing[strategy]!.push(await routingAccuracy(`${strategy}-seed${seed}`));
        }
        if (fewShot) {
          (strategy === 'few-shot' ? alpha : alphaAdditive).push(
            await fewShotAlpha(alphaFile(strategy, seed)),
          );
        }
      }
    }
  });

  const results: T2Results = {
    model: opts.model,
    date: new Date().toISOString(),
    n: Number(opts.n),
    evalSeed: Number(opts['eval-seed']),
    seeds,
    recipe: {
      steps: Number(opts.steps),
      batch: Number(opts.batch),
      validateEvery: Number(opts['validate-every']),
      valSize: Number(opts['val-size']),
      shots: Number(opts.shots),
      loraRank: Number(opts.r),
    },
    base,
    experts,
    strategies,
    lora,
    trainable: await trainableCounts(sets[0]!),
    routing,
    alpha,
    alphaAdditive,
    ...(refBatch !== '0' && { referenceBatch }),
    seconds,
  };
  await writeFile('experiments/transformer2/results.json', `${JSON.stringify(results)}\n`);
  await writeReport(results);
  console.log('wrote experiments/transformer2/results.json and experiments/REPORT.md');
}

/** Share of prompts whose pass-1 label was their own category, over the seen domains. */
async function routingAccuracy(name: string): Promise<number> {
  let right = 0;
  let total = 0;
  for (const f of DOMAINS) {
    const lines = (await readFile(`${work}/pred/${name}--${f}.jsonl`, 'utf8')).trim().split('\n');
    for (const l of lines) {
      const p = JSON.parse(l) as { label: string | null; category: string };
      total++;
      if (p.label === p.category) right++;
    }
  }
  return right / total;
}

/** α per task from a few-shot α cache file (`{"tasks": {task: {experts, alpha}}}`). */
async function fewShotAlpha(file: string): Promise<Record<string, Record<string, number> | null>> {
  const cache = JSON.parse(await readFile(file, 'utf8')) as {
    tasks?: Record<string, { alpha?: number[] | null; experts?: string[] }>;
  };
  const out: Record<string, Record<string, number> | null> = {};
  for (const [task, e] of Object.entries(cache.tasks ?? {})) {
    out[task] = e.alpha && e.experts ? Object.fromEntries(e.experts.map((x, i) => [x, e.alpha![i]!])) : null;
  }
  return out;
}

/** Trainable values of an SVF expert set (all domains alike) and of a LoRA adapter. */
async function trainableCounts(expertsDir: string): Promise<{ svf: number; lora: number }> {
  const { readSafetensorsFile } = await import('@t2/tensor-core');
  const svf = await readSafetensorsFile(`${expertsDir}/arith.safetensors`);
  let svfCount = 0;
  for (const t of svf.tensors.values()) svfCount += t.size;
  const lora = await readSafetensorsFile(`${work}/lora-arith/lora/adapter_model.safetensors`);
  let loraCount = 0;
  for (const t of lora.tensors.values()) loraCount += t.size;
  return { svf: svfCount, lora: loraCount };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
