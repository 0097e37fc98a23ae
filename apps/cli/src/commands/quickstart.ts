import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expertDomains, getFamily, mixableFamilies, type Sample, type TaskFamily } from '@t2/tasks';
import { getBackend, writeFileAtomic } from '@t2/tensor-core';
import {
  evaluateStrategy,
  type FewShotOptions,
  type StrategyName,
  settleTaskAlpha,
  type TaskAlphaInfo,
  type Transformer2Runtime,
} from '@t2/transformer2-runtime';
import { BACKEND_FLAG, backendUsage, useBackend } from '../lib/backend';
import { type Command, type CommandIO, UsageError } from '../lib/command';
import { parseFlags, parseNumber } from '../lib/flags';
import { refuseInputs } from '../lib/output-dir';
import { parameterShare } from '../lib/parameter-share';
import { formatDuration, ProgressBar } from '../lib/progress';
import { fewShotFlags, type OpenedRuntime, openRuntime, RUNTIME_FLAGS } from '../lib/runtime';
import { drawSamples, TASK_MAX_NEW_TOKENS } from '../lib/task-data';
import { alphaBars, cemProgress, eraseProgress } from '../lib/trace-view';
import { renderAccuracyTable, type TableRow } from '../quickstart/accuracy-table';
import { type BoneRunResult, fineTuneBone } from '../quickstart/bone';
import { demoAnswers, renderDemo } from '../quickstart/demo';
import { renderExperts } from '../quickstart/experts-table';
import { BUNDLED_MODEL, missingModelMessage } from '../quickstart/missing-model';
import { quickstartReport } from '../quickstart/report';

const USAGE =
  't2 quickstart [--model DIR] [options]\n\n' +
  `  --model DIR            base model (default ${BUNDLED_MODEL})\n` +
  '  --experts DIR          its SVF experts (default MODEL/experts)\n' +
  '  --per-task N           test problems of each task in the accuracy table (default 50)\n' +
  '  --prompts N            prompts answered with every strategy (default 5, one per task)\n' +
  '  --shots N              few-shot: labelled validation examples per task (default 8)\n' +
  '  --cem-iterations N     few-shot: CEM iterations (default 5)\n' +
  '  --population N         few-shot: CEM population (default 16)\n' +
  '  --per-layer            few-shot: one α per expert per adapted weight\n' +
  "  --mixing M             few-shot: additive (default here: each expert's change added, so two\n" +
  "                         experts can both apply; experiments/REPORT.md) or convex (the paper's)\n" +
  '  --bone-task NAME       the task the Bone adapter is fine-tuned on (default count: held out,\n' +
  '                         so neither pretraining nor the experts taught it)\n' +
  '  --bone-steps N         its training steps (default 60)\n' +
  '  --bone-r R             its block size (default 8)\n' +
  '  --bone-lr LR           its learning rate (default 3e-3)\n' +
  '  --bone-n N             test problems scored before/after (default 100)\n' +
  '  --skip-bone            leave out the Bone fine-tuning\n' +
  '  --out DIR              where the adapter and quickstart.json go (default out)\n' +
  '  --cache DIR            SVD factor cache (default .t2-cache/svd)\n' +
  '  --alpha-cache FILE     few-shot α per task (default .t2-cache/alpha/<experts fingerprint>.json)\n' +
  '  --refresh              search few-shot α again even when cached\n' +
  '  --seed S               which problems are drawn (default 0)\n' +
  backendUsage().trimEnd();

/**
 * The tour's tasks: the expert domains and the held-out families that answer in two domains'
 * conventions (a mixture of experts can serve them). count and sort are skills the bundled
 * model never learned; `t2 probe --task count` shows that, and the Bone step trains one.
 */
const families = [...expertDomains, ...mixableFamilies];

/** The order strategies are shown in: base first, the oracle (an upper bound) last. */
const STRATEGY_ROWS: { strategy: StrategyName; name: string }[] = [
  { strategy: 'none', name: 'base (none)' },
  { strategy: 'prompt', name: 'prompt' },
  { strategy: 'classifier', name: 'classifier' },
  { strategy: 'few-shot', name: 'few-shot' },
  { strategy: 'oracle', name: 'oracle' },
];

async function hasExperts(dir: string): Promise<boolean> {
  if (!existsSync(dir)) return false;
  try {
    return (await readdir(dir)).some((n) => n.endsWith('.safetensors'));
  } catch {
    return false;
  }
}

function heading(io: CommandIO, n: number, text: string): void {
  io.stdout(`\n${n}. ${text}\n`);
}

function indent(lines: readonly string[], by = '   '): string {
  return lines.map((l) => `${by}${l}`).join('\n') + (lines.length ? '\n' : '');
}

const QUICKSTART_FLAGS = {
  model: { type: 'string', default: BUNDLED_MODEL },
  'per-task': { type: 'string' },
  prompts: { type: 'string' },
  shots: { type: 'string' },
  'bone-task': { type: 'string', default: 'count' },
  'bone-steps': { type: 'string' },
  'bone-r': { type: 'string' },
  'bone-lr': { type: 'string' },
  'bone-n': { type: 'string' },
  'skip-bone': { type: 'boolean', default: false },
  out: { type: 'string', default: 'out' },
  seed: { type: 'string' },
  ...RUNTIME_FLAGS,
  ...BACKEND_FLAG,
} as const;

type QuickstartValues = ReturnType<typeof parseFlags<typeof QUICKSTART_FLAGS>>['values'];

/** The tour's settings, checked. */
interface TourOptions {
  model: string;
  expertsDir: string;
  out: string;
  /** Test problems per task (not --n: --n of t2 eval counts the problems in all). */
  n: number;
  numPrompts: number;
  numShots: number;
  seed: number;
  fewShot: FewShotOptions;
  bone?: { family: TaskFamily; steps: number; r: number; n: number; lr: number };
}

function tourOptions(values: QuickstartValues): TourOptions {
  const int = (v: string | undefined, flag: string, fallback: number, min = 1) =>
    parseNumber(v, flag, { integer: true, min, fallback });
  let boneFamily: TaskFamily;
  try {
    boneFamily = getFamily(values['bone-task']!);
  } catch (err) {
    throw new UsageError(`--bone-task: ${(err as Error).message}`);
  }
  const bone = {
    family: boneFamily,
    steps: int(values['bone-steps'], '--bone-steps', 60),
    r: int(values['bone-r'], '--bone-r', 8),
    n: int(values['bone-n'], '--bone-n', 100),
    lr: parseNumber(values['bone-lr'], '--bone-lr', { min: Number.MIN_VALUE, fallback: 3e-3 }),
  };
  return {
    model: values.model!,
    expertsDir: values.experts ?? join(values.model!, 'experts'),
    out: values.out!,
    n: int(values['per-task'], '--per-task', 50),
    numPrompts: int(values.prompts, '--prompts', families.length, 0),
    numShots: int(values.shots, '--shots', 8),
    seed: int(values.seed, '--seed', 0, 0),
    // A smaller CEM budget than t2 run's, so the tour stays within a few minutes.
    fewShot: fewShotFlags({
      ...values,
      'cem-iterations': values['cem-iterations'] ?? '5',
      population: values.population ?? '16',
    }),
    ...(!values['skip-bone'] && { bone }),
  };
}

export const quickstart: Command = {
  name: 'quickstart',
  summary: 'Tour Transformer² on the bundled model: experts, strategies, accuracy, a Bone adapter',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseFlags(argv, QUICKSTART_FLAGS);
    const opts = tourOptions(values);
    const { model, expertsDir } = opts;
    // The tour writes its adapter and report under --out, never into the model or experts.
    refuseInputs(opts.out, [
      { flag: '--model', path: model },
      { flag: '--experts', path: expertsDir },
    ]);
    if (!existsSync(join(model, 'config.json'))) {
      io.stderr(missingModelMessage({ model, expertsDir, missing: 'model' }));
      return 1;
    }
    if (!(await hasExperts(expertsDir))) {
      io.stderr(missingModelMessage({ model, expertsDir, missing: 'experts' }));
      return 1;
    }
    const started = performance.now();
    await useBackend(values);
    const opened = await openRuntime({
      model,
      experts: values.experts,
      svdCacheDir: values.cache,
      alphaCacheFile: values['alpha-cache'],
      // The tour shows the held-out families a mixture serves; additive mixing is what
      // serves them (measured in experiments/REPORT.md). t2 eval/run default to the paper's.
      mixing: values.mixing ?? 'additive',
      maxNewTokens: TASK_MAX_NEW_TOKENS,
    });
    const runtime = opened.runtime as Transformer2Runtime<unknown, unknown>;
    const hasClassifier = runtime.registry.classifier() !== undefined;
    const strategyRows = STRATEGY_ROWS.filter((r) => r.strategy !== 'classifier' || hasClassifier);
    showExperts(io, opts, opened, hasClassifier);
    const alphas = await adaptFewShot(io, opts, opened);
    if (opts.numPrompts > 0) await showAnswers(io, opts, runtime, strategyRows);
    const rows = await accuracyTable(io, opts, runtime, strategyRows);
    const bone = opts.bone && (await fineTuneSection(io, opts, opts.bone));
    await mkdir(opts.out, { recursive: true });
    const report = join(opts.out, 'quickstart.json');
    const summary = quickstartReport({
      model,
      experts: opened.experts,
      n: opts.n,
      seed: opts.seed,
      fewShot: {
        shots: opts.numShots,
        iterations: opts.fewShot.iterations,
        population: opts.fewShot.population,
      },
      alphas,
      rows,
      bone: bone && {
        task: opts.bone!.family.name,
        steps: opts.bone!.steps,
        r: opts.bone!.r,
        result: bone,
      },
      backend: getBackend().name,
      seconds: (performance.now() - started) / 1000,
    });
    await writeFileAtomic(report, `${JSON.stringify(summary, null, 2)}\n`);
    io.stdout(
      `\ndone in ${formatDuration((performance.now() - started) / 1000)}; summary in ${report}\n`,
    );
    return 0;
  },
};

/** 1. The experts. */
function showExperts(
  io: CommandIO,
  opts: TourOptions,
  opened: OpenedRuntime,
  hasClassifier: boolean,
): void {
  io.stdout(
    `t2 quickstart — Transformer² on ${opts.model} (${opened.parameters.toLocaleString('en-US')} parameters, backend ${getBackend().name})\n`,
  );
  heading(
    io,
    1,
    'The experts: SVF vectors z that scale the singular values of the adapted weights',
  );
  io.stdout(indent(renderExperts(opened.experts)));
  io.stdout(
    `   loaded and checked against the base weights in ${(opened.loadMs / 1000).toFixed(1)} s\n`,
  );
  if (!hasClassifier) {
    io.stdout(
      `   (no classifier.safetensors in ${opened.expertsDir}: the classifier strategy is skipped)\n`,
    );
  }
}

/** 2. Few-shot α per task. */
async function adaptFewShot(
  io: CommandIO,
  opts: TourOptions,
  opened: OpenedRuntime,
): Promise<Record<string, TaskAlphaInfo>> {
  const { fewShot, numShots, seed } = opts;
  heading(
    io,
    2,
    `Few-shot adaptation: CEM searches α per task on ${numShots} labelled validation examples (${fewShot.iterations} iterations × ${fewShot.population} candidates, ${opened.runtime.mixing} mixing)`,
  );
  const alphas: Record<string, TaskAlphaInfo> = {};
  for (const f of families) {
    const shots = drawSamples([f], { n: numShots, seed, split: 'validation', unique: true });
    const a = await settleTaskAlpha(
      opened.runtime as Transformer2Runtime<unknown, unknown>,
      f.name,
      shots.map((s) => ({ prompt: s.prompt, answer: s.answer })),
      { ...fewShot, reward: f.reward },
      (task) => cemProgress(io, `CEM ${task}`, fewShot.iterations!, { erase: true }),
    );
    alphas[f.name] = a;
    const how =
      a.source === 'cache' ? 'from the cache' : `searched in ${(a.adaptMs / 1000).toFixed(1)} s`;
    const score = a.score
      ? `, ${Math.round(a.score.accuracy * a.examples)}/${a.examples} shots right`
      : '';
    io.stdout(`   ${f.name}${f.heldOut ? ' (held out)' : ''}: ${how}${score}\n`);
    io.stdout(indent(a.alpha ? alphaBars(a.alpha, opened.experts) : ['base model'], '     '));
  }
  io.stdout(
    `   α cache: ${opened.alphaCacheFile} (the next run reuses it; --refresh searches again)\n`,
  );
  return alphas;
}

/** 3. A handful of prompts with every strategy. */
async function showAnswers(
  io: CommandIO,
  opts: TourOptions,
  runtime: Transformer2Runtime<unknown, unknown>,
  strategyRows: typeof STRATEGY_ROWS,
): Promise<void> {
  heading(
    io,
    3,
    'Answers with each strategy: pass 1 picks α over the experts, pass 2 answers with the mixed weights',
  );
  io.stdout(
    '   none: the base model · prompt: the base model names the category · classifier: the\n' +
      "   classification expert names it · few-shot: the task's α from step 2 · oracle: the true category\n",
  );
  // Round robin over the tasks, from another seed than the table's problems.
  const perTask = Math.ceil(opts.numPrompts / families.length);
  const drawn = families.map((f) =>
    drawSamples([f], { n: perTask, seed: opts.seed + 1, split: 'test', unique: true }),
  );
  const demo: Sample[] = Array.from(
    { length: opts.numPrompts },
    (_, i) => drawn[i % families.length]![Math.floor(i / families.length)]!,
  );
  const prompts = await demoAnswers(
    runtime,
    demo,
    strategyRows.map((r) => r.strategy),
    (sample, output) => getFamily(sample.family!).reward(sample.prompt, output, sample.answer) > 0,
  );
  io.stdout(indent(renderDemo(prompts)));
}

/** 4. Accuracy of every strategy on a mix of all tasks. */
async function accuracyTable(
  io: CommandIO,
  opts: TourOptions,
  runtime: Transformer2Runtime<unknown, unknown>,
  strategyRows: typeof STRATEGY_ROWS,
): Promise<TableRow[]> {
  heading(io, 4, `Accuracy on the test split: ${opts.n} problems per task, greedy answers`);
  const samples = families.flatMap((f) =>
    drawSamples([f], { n: opts.n, seed: opts.seed, split: 'test', unique: true }),
  );
  const rows: TableRow[] = [];
  for (const row of strategyRows) {
    const bar = new ProgressBar(samples.length, io.stderr, io.isTTY, {
      label: row.name,
      unit: 'prompts',
      everyPercent: 25,
    });
    const result = await evaluateStrategy(runtime, samples, row.strategy, {
      fewShot: { ...opts.fewShot, refresh: false },
      onProgress: (done) => bar.update(done),
    });
    eraseProgress(io, bar);
    rows.push({ name: row.name, result });
  }
  io.stdout(indent(renderAccuracyTable(rows, families)));
  io.stdout(
    '   the same comparison on 1000 problems per task with 3 seeds of expert training, with\n' +
      '   p-values: experiments/REPORT.md (npm run experiment:t2)\n',
  );
  return rows;
}

/** 5. A Bone adapter on one domain. */
async function fineTuneSection(
  io: CommandIO,
  opts: TourOptions,
  bone: NonNullable<TourOptions['bone']>,
): Promise<BoneRunResult> {
  const { family } = bone;
  heading(
    io,
    5,
    `Fine-tuning a Bone adapter (r ${bone.r}, all linear layers) on ${family.name}${family.heldOut ? ' (held out: no expert covers it)' : ''} for ${bone.steps} steps`,
  );
  const trainBar = new ProgressBar(bone.steps, io.stderr, io.isTTY, {
    label: 'bone',
    unit: 'steps',
  });
  const b = await fineTuneBone({
    modelPath: opts.model,
    family,
    steps: bone.steps,
    r: bone.r,
    lr: bone.lr,
    batch: 16,
    n: bone.n,
    seed: opts.seed,
    dir: join(opts.out, 'quickstart-bone'),
    onStep: (s) => trainBar.update(s.step, { loss: s.loss }),
  });
  eraseProgress(io, trainBar);
  io.stdout(
    `   ${parameterShare(b.trainable, b.parameters)}, ${b.trainExamples} training examples, ${b.seconds.toFixed(1)} s, final loss ${b.finalLoss.toFixed(3)}\n`,
  );
  io.stdout(
    `   accuracy on ${b.testProblems} ${family.name} test problems: before ${b.before.toFixed(2)} → after ${b.after.toFixed(2)}\n`,
  );
  io.stdout(`   saved in PEFT format: ${b.files.join(', ')}\n`);
  io.stdout(`   try: t2 eval --model ${opts.model} --adapter ${b.dir} --task ${family.name}\n`);
  return b;
}
