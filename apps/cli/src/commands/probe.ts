import { tokenizerCoverageProblem } from '@t2/llama';
import { deriveSeed, type Sample, splitSamples, type TaskFamily } from '@t2/tasks';
import {
  overlapProblem,
  PROBE_DEFAULTS,
  PROBE_TARGETS,
  type ProbeAccuracy,
  type ProbeProgress,
  type ProbeResult,
  type ProbeStage,
  probeHeadroom,
} from '@t2/transformer2-runtime';
import { BACKEND_FLAG, backendUsage, useBackend } from '../lib/backend';
import { DEFAULT_SVD_CACHE } from '../lib/cache-dirs';
import { type Command, type CommandIO, UsageError } from '../lib/command';
import { parseFlags, parseNumber } from '../lib/flags';
import { loadModelForCli } from '../lib/load-model';
import { ProgressBar } from '../lib/progress';
import { parseRewardSpec, type RewardSpec } from '../lib/rewards';
import { checkTargets, parseTargetList } from '../lib/targets';
import {
  answerBudget,
  drawSamples,
  parseFamilies,
  readDataFile,
  TASK_MAX_NEW_TOKENS,
} from '../lib/task-data';

const D = PROBE_DEFAULTS;

const USAGE =
  't2 probe --model PATH (--task NAME[,NAME…] | --data FILE) [options]\n\n' +
  'Before training an SVF expert: is there headroom? Measures, on --n test-split problems,\n' +
  '  greedy          the base model greedy accuracy\n' +
  '  pass@k          share of problems with at least one correct answer among k samples at\n' +
  '                  temperature 1 (exactly k samples: the unbiased pass@k estimator is this share)\n' +
  '  supervised SVF  greedy accuracy after a short supervised fit of the SVF vectors z on the\n' +
  '                  correct answers of train-split problems (Adam on the cross-entropy of\n' +
  "                  answer + '\\n', answer tokens only): about the most REINFORCE with SVF reaches\n" +
  'each with its Wilson 95% interval, and prints a one-line verdict. A gain counts when it is at\n' +
  `least ${100 * D.minGain} points and at least ${D.minProblems} problems of --n (with --n 200: 2 points; --n 50: 6 points);\n` +
  `pass@k must also find the answer of at least ${100 * D.minFound}% of the problems greedy gets wrong:\n` +
  '  gain         pass@k and supervised SVF both beat greedy: "SVF can plausibly gain ~N points\n' +
  '               here", N = supervised SVF − greedy\n' +
  '  no headroom  neither does ("the skill is missing"; "at its ceiling" when pass@k ≥ 50%), or only\n' +
  '               the supervised fit does ("the skill is missing": sampling (almost) never finds the\n' +
  '               answers the fit learns, so REINFORCE gets no reward to learn from)\n' +
  '  unclear      pass@k does, the short fit does not (try more --fit-steps)\n\n' +
  '  --model PATH           Hugging Face folder with tokenizer.json\n' +
  backendUsage() +
  '  --task NAME            task families (arith, string, logic, count, sort, …; comma-separated for a\n' +
  '                         mixture): evaluates on the test split, fits on the train split\n' +
  '  --data FILE            JSONL of {"prompt", "answer"}, split by prompt hash: evaluates on its test\n' +
  '                         split (at most --n), fits on its train split\n' +
  "  --reward SPEC          task (the family's own; default with --task), exact (default with --data),\n" +
  '                         numeric[:TOL], regex[:PATTERN], module:FILE\n' +
  '  --n N                  problems evaluated (default 200)\n' +
  `  --k K                  samples per problem for pass@k at temperature 1 (default ${D.k})\n` +
  `  --fit-steps N          Adam steps of the supervised SVF fit (default ${D.fitSteps}; 0: no fit)\n` +
  `  --fit-batch B          answers per fit step (default ${D.fitBatch})\n` +
  `  --fit-lr LR            learning rate of the fit (default ${D.fitLr})\n` +
  `  --target LIST          adapted layers, comma-separated (default ${PROBE_TARGETS.join(',')})\n` +
  '  --max-new-tokens N     answer length cap (default 16 for tasks; from the data otherwise)\n' +
  `  --batch B              prompts decoded at once (default ${D.batchSize})\n` +
  `  --cache DIR            SVD factor cache (default ${DEFAULT_SVD_CACHE})\n` +
  '  --seed S               which problems, the samples, the z init and fit order (default 0)\n' +
  '  --json                 print the result as one JSON object (progress stays on stderr)\n\n' +
  'Example (20–60 s on the bundled model; the fit takes most of it):\n' +
  '  t2 probe --model models/t2-tiny --task string\n' +
  'Refused with exit code 2: no problems (--n 0, an empty file or split), characters the\n' +
  "model's tokenizer cannot encode, train and test problems that overlap.";

const STAGE_LABEL: Record<ProbeStage, string> = {
  greedy: 'greedy',
  sample: `pass@k`,
  fit: 'fit',
  ceiling: 'svf eval',
};

function row(name: string, a: ProbeAccuracy, note = ''): string {
  const p = (x: number) => (100 * x).toFixed(1);
  const head = `${name.padEnd(16)} ${`${p(a.accuracy)}%`.padStart(6)}  [${p(a.low)}–${p(a.high)}]`;
  const count = `${a.correct}/${a.total}`.padStart(9);
  return `${head.padEnd(36)}${count}${note ? `  ${note}` : ''}\n`;
}

const PROBE_FLAGS = {
  model: { type: 'string' },
  task: { type: 'string' },
  data: { type: 'string' },
  reward: { type: 'string' },
  n: { type: 'string' },
  k: { type: 'string' },
  'fit-steps': { type: 'string' },
  'fit-batch': { type: 'string' },
  'fit-lr': { type: 'string' },
  target: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  batch: { type: 'string' },
  cache: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean', default: false },
  ...BACKEND_FLAG,
} as const;

type ProbeValues = ReturnType<typeof parseFlags<typeof PROBE_FLAGS>>['values'];

function probeSettings(values: ProbeValues) {
  const int = (v: string | undefined, flag: string, fallback: number, min = 1) =>
    parseNumber(v, flag, { integer: true, min, fallback });
  const n = int(values.n, '--n', 200, 0);
  if (n === 0) throw new UsageError('--n 0: no problems to probe (give --n 1 or more)');
  const settings = {
    n,
    k: int(values.k, '--k', D.k),
    fitSteps: int(values['fit-steps'], '--fit-steps', D.fitSteps, 0),
    fitBatch: int(values['fit-batch'], '--fit-batch', D.fitBatch),
    fitLr: parseNumber(values['fit-lr'], '--fit-lr', { min: Number.MIN_VALUE, fallback: D.fitLr }),
    batchSize: int(values.batch, '--batch', D.batchSize),
    seed: int(values.seed, '--seed', 0, 0),
    targets: parseTargetList(values.target, [...PROBE_TARGETS]),
  };
  if (settings.targets === 'all-linear')
    throw new UsageError('--target all-linear: name the layers SVF should adapt');
  return { ...settings, targets: settings.targets };
}

type ProbeSettings = ReturnType<typeof probeSettings>;

/** Test-split problems to evaluate and train-split ones for the fit (none without a fit). */
async function probeSamples(
  values: ProbeValues,
  fams: TaskFamily[] | undefined,
  s: ProbeSettings,
): Promise<{ evalSamples: Sample[]; trainSamples: Sample[]; what: string }> {
  const { n, seed, fitSteps } = s;
  if (fams) {
    const evalSamples = drawSamples(fams, { n, seed, split: 'test', unique: true });
    const trainSamples =
      fitSteps > 0
        ? drawSamples(fams, {
            n: Math.min(fitSteps * s.fitBatch, 20_000),
            seed: deriveSeed(seed, 'probe-fit'),
            split: 'train',
          })
        : [];
    const what = `${fams.map((f) => f.name).join('+')} (test split, ${evalSamples.length} problems, seed ${seed})`;
    return { evalSamples, trainSamples, what };
  }
  const all = await readDataFile(values.data!);
  if (all.length === 0) throw new UsageError(`--data ${values.data}: no samples`);
  const split = splitSamples(all);
  const evalSamples = split.test.slice(0, n);
  const trainSamples = split.train;
  if (evalSamples.length === 0) {
    throw new UsageError(
      `--data ${values.data}: none of its ${all.length} samples falls in the test split`,
    );
  }
  if (fitSteps > 0 && trainSamples.length === 0) {
    throw new UsageError(
      `--data ${values.data}: none of its ${all.length} samples falls in the train split (the fit needs some; --fit-steps 0 skips it)`,
    );
  }
  const what = `${values.data} (test split, ${evalSamples.length} of ${split.test.length} samples; ${trainSamples.length} train samples)`;
  return { evalSamples, trainSamples, what };
}

export const probe: Command = {
  name: 'probe',
  summary: 'Headroom probe: greedy, pass@k and a supervised SVF ceiling, with a verdict',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseFlags(argv, PROBE_FLAGS);
    if ((values.task === undefined) === (values.data === undefined)) {
      throw new UsageError('give exactly one of --task NAME or --data FILE');
    }
    const s = probeSettings(values);
    const fams = values.task === undefined ? undefined : parseFamilies(values.task);
    const reward = await parseRewardSpec(values.reward, { task: fams !== undefined });
    // Data before the model: bad input fails fast.
    const { evalSamples, trainSamples, what } = await probeSamples(values, fams, s);
    const source = values.data ?? `--task ${values.task}`;
    reward.check(evalSamples, source);
    const overlap = overlapProblem(trainSamples, evalSamples);
    if (overlap) throw new UsageError(`${source}: ${overlap}`);

    await useBackend(values);
    const loaded = await loadModelForCli(values.model);
    const { model, tokenizer } = loaded;
    if (!tokenizer)
      throw new UsageError(
        `${loaded.source} has no tokenizer.json: t2 probe needs one to read text prompts`,
      );
    checkTargets(s.targets, model);
    const coverage = tokenizerCoverageProblem(tokenizer, [...evalSamples, ...trainSamples]);
    if (coverage) throw new UsageError(`${loaded.source}: ${coverage}`);
    const maxNewTokens = parseNumber(values['max-new-tokens'], '--max-new-tokens', {
      integer: true,
      min: 1,
      fallback: fams ? TASK_MAX_NEW_TOKENS : answerBudget(tokenizer, evalSamples),
    });
    const say = (text: string) => (values.json ? io.stderr(text) : io.stdout(text));
    say(`t2 probe: ${what} on ${loaded.source}, reward ${reward.spec}\n`);
    const progress = stageProgress(io);
    let result: ProbeResult;
    try {
      result = await probeHeadroom({
        model,
        tokenizer,
        evalSamples,
        trainSamples,
        reward: (prompt, output, _answer, sample) => reward.score(prompt, output, sample),
        k: s.k,
        batchSize: s.batchSize,
        fitSteps: s.fitSteps,
        fitBatch: s.fitBatch,
        fitLr: s.fitLr,
        targets: s.targets,
        seed: s.seed,
        maxNewTokens,
        cacheDir: values.cache ?? DEFAULT_SVD_CACHE,
        baseModelName: loaded.source,
        onProgress: progress.update,
      });
    } catch (err) {
      // The library's own refusals (a reward that is not a number, a missing layer) as one line.
      const message = (err as Error).message;
      if (/^probeHeadroom: |^inject: /.test(message)) throw new UsageError(message);
      throw err;
    }
    progress.finish();
    printProbe(io, values, { source: loaded.source, reward }, result);
    return 0;
  },
};

/** One progress bar per stage of the probe (greedy, sampling, fit, supervised eval). */
function stageProgress(io: CommandIO) {
  let bar: ProgressBar | null = null;
  let stage: ProbeStage | null = null;
  return {
    update: (e: ProbeProgress) => {
      if (e.stage !== stage) {
        bar?.finish();
        stage = e.stage;
        bar = new ProgressBar(e.total, io.stderr, io.isTTY, {
          label: STAGE_LABEL[e.stage].padEnd(8),
          unit: e.stage === 'fit' ? 'steps' : 'answers',
        });
      }
      bar!.update(e.done, e.loss === undefined ? {} : { loss: e.loss });
    },
    finish: () => bar?.finish(),
  };
}

function printProbe(
  io: CommandIO,
  values: ProbeValues,
  run: { source: string; reward: RewardSpec },
  result: ProbeResult,
): void {
  if (values.json) {
    io.stdout(
      `${JSON.stringify({ task: values.task ?? null, data: values.data ?? null, model: run.source, reward: run.reward.spec, ...result })}\n`,
    );
    return;
  }
  const t = result.timings;
  const fit = result.fit;
  io.stdout(`\n${row('greedy', result.greedy)}`);
  io.stdout(
    row(
      `pass@${result.k} (T=${result.temperature})`,
      result.passAtK,
      `(${(100 * result.sampled.accuracy).toFixed(1)}% of the ${result.sampled.total} samples)`,
    ),
  );
  if (result.ceiling) {
    const loss =
      fit.firstLoss === null
        ? ''
        : `, loss ${fit.firstLoss.toFixed(2)} → ${fit.lastLoss!.toFixed(2)}`;
    io.stdout(
      row(
        'supervised SVF',
        result.ceiling,
        `(${fit.steps} steps × ${fit.batch}, lr ${fit.lr}, ${fit.trainableValues} values${loss})`,
      ),
    );
  }
  io.stdout(`\n${result.verdict.line}\n`);
  io.stdout(
    `(${(t.totalMs / 1000).toFixed(1)} s: greedy ${(t.greedyMs / 1000).toFixed(1)}, sampling ${(t.sampleMs / 1000).toFixed(1)}, fit ${(t.fitMs / 1000).toFixed(1)}, supervised eval ${(t.ceilingMs / 1000).toFixed(1)}; a gain counts from ${(100 * result.threshold).toFixed(1)} points)\n`,
  );
}
