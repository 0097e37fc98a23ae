import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import * as lora from '@t2/adapters-lora';
import * as svf from '@t2/adapters-svf';
import type { LlamaForCausalLM } from '@t2/llama';
import { ReinforceTrainer, type StepLog, type ValidationLog } from '@t2/rl-reinforce';
import { deriveSeed, type Sample, splitSamples, type TaskFamily } from '@t2/tasks';
import { Rng, type Tensor, writeFileAtomic } from '@t2/tensor-core';
import { tokenizerCoverageProblem } from '@t2/transformer2-runtime';
import { BACKEND_FLAG, backendUsage, useBackend } from '../lib/backend';
import { DEFAULT_SVD_CACHE } from '../lib/cache-dirs';
import { type Command, type CommandIO, UsageError } from '../lib/command';
import { parseFlags, parseNumber } from '../lib/flags';
import { loadModelForCli } from '../lib/load-model';
import { claimOutputDir, type OutputDir } from '../lib/output-dir';
import { ProgressBar } from '../lib/progress';
import { parseRewardSpec } from '../lib/rewards';
import { parseTargets } from '../lib/targets';
import {
  answerBudget,
  codecOf,
  defaultLabel,
  drawSamples,
  parseFamilies,
  readDataFile,
  stopTokenIds,
  TASK_MAX_NEW_TOKENS,
} from '../lib/task-data';

/** The MLP projections: SVF's default targets, and LoRA's here so the two compare like for like. */
const MLP_TARGETS = ['gate_proj', 'up_proj', 'down_proj'];

export const RL_METHODS = ['svf', 'lora'] as const;
type RlMethod = (typeof RL_METHODS)[number];

/** The adapter being trained: its parameters, the KL switch, and how to write the result. */
interface RlAdapter {
  params: [string, Tensor][];
  setEnabled(flag: boolean): void;
  /** Writes the adapter as it is now; returns the path written. */
  save(out: string): Promise<string>;
  /** A line about the setup for the header (SVD cache use). */
  note: string;
}

async function prepareAdapter(
  model: LlamaForCausalLM,
  method: RlMethod,
  opts: {
    targets: string[];
    seed: number;
    r: number;
    alpha: number;
    cacheDir: string;
    baseModel: string;
    label: string;
  },
): Promise<RlAdapter> {
  if (method === 'svf') {
    const h = await svf.inject(model, {
      targetModules: opts.targets,
      seed: opts.seed,
      cacheDir: opts.cacheDir,
      baseModelName: opts.baseModel,
    });
    return {
      note: `SVD factors: ${h.stats.cached} from ${opts.cacheDir}, ${h.stats.decomposed} computed\n`,
      params: h.namedTrainableParameters(),
      setEnabled: (flag) => h.setEnabled(flag),
      save: async (out) => {
        const path = join(out, 'expert.safetensors');
        await svf.saveExpert(path, h.expert({ task: opts.label }), {}, h);
        return path;
      },
    };
  }
  const h = lora.inject(
    model,
    {
      r: opts.r,
      loraAlpha: opts.alpha,
      targetModules: opts.targets,
      baseModelNameOrPath: opts.baseModel,
    },
    { rng: new Rng(opts.seed) },
  );
  return {
    note: '',
    params: h.namedAdapterParameters(),
    setEnabled: (flag) => (flag ? h.enable() : h.disable()),
    save: async (out) => {
      const dir = join(out, 'lora');
      await h.save(dir);
      return dir;
    },
  };
}

/** The settings a resumed run must share with the run it continues (beyond the trainer's own). */
interface RunInfo {
  format: 't2-rl-run';
  method: RlMethod;
  task: string | null;
  data: string | null;
  reward: string;
  label: string;
  targets: string[];
  r: number | null;
  model: string;
}

async function checkResumable(out: string, run: RunInfo): Promise<void> {
  const checkpoint = join(out, 'checkpoint.safetensors');
  if (!(await exists(checkpoint))) throw new UsageError(`--resume: no checkpoint at ${checkpoint}`);
  let saved: Partial<RunInfo> = {};
  try {
    saved = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
  } catch {
    throw new UsageError(`--resume: ${join(out, 'run.json')} is missing or unreadable`);
  }
  for (const key of [
    'method',
    'task',
    'data',
    'reward',
    'label',
    'targets',
    'r',
    'model',
  ] as const) {
    const a = JSON.stringify(saved[key] ?? null);
    const b = JSON.stringify(run[key] ?? null);
    if (a !== b)
      throw new UsageError(
        `--resume: the run in ${out} was started with ${key} ${a}, this one has ${b}`,
      );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Keeps the log lines up to the checkpoint's step: later ones belong to the interrupted tail. */
async function truncateLog(path: string, step: number): Promise<void> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return;
  }
  const kept = text
    .split('\n')
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        return (JSON.parse(line) as { step?: number }).step! <= step;
      } catch {
        return false;
      }
    })
    .map((line) => `${line}\n`)
    .join('');
  await writeFileAtomic(path, kept);
}

const USAGE =
  't2 rl --model PATH (--task NAME[,NAME…] | --data FILE) [options]\n\n' +
  '  --model PATH           Hugging Face folder with tokenizer.json\n' +
  backendUsage() +
  '  --task NAME            a task family (arith, string, logic, count, sort; comma-separated for a mixture):\n' +
  '                         trains on its train split, validates on its validation split\n' +
  '  --data FILE            JSONL of {"prompt", "answer"}, split by prompt hash (80/10/10)\n' +
  "  --reward SPEC          task (the family's own; default with --task), exact (default with --data),\n" +
  '                         numeric[:TOL], regex[:PATTERN] (whole answer line), module:FILE\n' +
  '  --method svf|lora      SVF expert (default) or the LoRA baseline\n' +
  '  --steps N              REINFORCE updates (default 200; reference 200)\n' +
  '  --batch B              prompts per update, one answer each (default 32; reference 256)\n' +
  '  --lr LR                Adam learning rate (default 2e-3; reference 2e-3)\n' +
  '  --clip C               global gradient-norm clip (default 1e-3; reference 1e-3)\n' +
  '  --kl K                 KL(p_base ‖ p) coefficient (default 0; reference 0)\n' +
  '  --normalize-rewards    subtract the batch mean reward and divide by its std (a baseline)\n' +
  '  --temperature T        sampling temperature of the training answers (default 0: greedy, as the reference)\n' +
  '  --max-new-tokens N     answer length cap (default 16 for tasks; from the data otherwise)\n' +
  '  --validate-every N     greedy validation accuracy every N steps; keeps the best (default 10; 0: never)\n' +
  '  --val-size N           validation problems drawn for --task (default 500)\n' +
  '  --checkpoint-every N   also checkpoint every N steps (default 10)\n' +
  '  --target LIST          adapted layers, comma-separated (default gate_proj,up_proj,down_proj)\n' +
  '  --r R                  LoRA rank (default 4); --alpha A its alpha (default R)\n' +
  "  --label NAME           the expert's task label (default the family's category)\n" +
  `  --cache DIR            SVD factor cache (default ${DEFAULT_SVD_CACHE})\n` +
  '  --seed S               seeds z/LoRA init, sampling and data order (default 0)\n' +
  '  --out DIR              default out/rl-<task> (svf) or out/rl-<task>-lora\n' +
  '  --resume               continue from DIR/checkpoint.safetensors\n' +
  '  --overwrite            write into DIR although it is not empty (replacing an earlier run)\n' +
  '  --json                 one JSON line per step / validation on stdout\n\n' +
  'Writes DIR/expert.safetensors (SVF, best by validation) or DIR/lora/ (PEFT), DIR/checkpoint.safetensors,\n' +
  'DIR/log.jsonl and DIR/run.json. Ctrl-C checkpoints and stops; rerun with --resume to continue.';

/** `t2 rl` with an explicit stop signal (tests); `rl.run` wires it to Ctrl-C. */
export async function runRl(argv: string[], io: CommandIO, signal?: AbortSignal): Promise<number> {
  const claimed: OutputDir[] = [];
  try {
    return await rlInto(argv, io, signal, claimed);
  } finally {
    for (const c of claimed) await c.release();
  }
}

async function rlInto(
  argv: string[],
  io: CommandIO,
  signal: AbortSignal | undefined,
  claimed: OutputDir[],
): Promise<number> {
  const { values } = parseFlags(argv, {
    model: { type: 'string' },
    task: { type: 'string' },
    data: { type: 'string' },
    reward: { type: 'string' },
    method: { type: 'string', default: 'svf' },
    steps: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    clip: { type: 'string' },
    kl: { type: 'string' },
    'normalize-rewards': { type: 'boolean', default: false },
    temperature: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    'validate-every': { type: 'string' },
    'val-size': { type: 'string' },
    'checkpoint-every': { type: 'string' },
    target: { type: 'string' },
    r: { type: 'string' },
    alpha: { type: 'string' },
    label: { type: 'string' },
    cache: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    resume: { type: 'boolean', default: false },
    overwrite: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    ...BACKEND_FLAG,
  });
  const method = values.method as RlMethod;
  if (values.resume && values.overwrite)
    throw new UsageError('--resume and --overwrite contradict each other: give one');
  if (!RL_METHODS.includes(method))
    throw new UsageError(`--method must be one of ${RL_METHODS.join(', ')}`);
  if ((values.task === undefined) === (values.data === undefined)) {
    throw new UsageError('give exactly one of --task NAME or --data FILE');
  }
  const fams: TaskFamily[] | undefined =
    values.task === undefined ? undefined : parseFamilies(values.task);
  const reward = await parseRewardSpec(values.reward, { task: fams !== undefined });
  const steps = parseNumber(values.steps, '--steps', { integer: true, min: 1, fallback: 200 });
  const seed = parseNumber(values.seed, '--seed', { integer: true, min: 0, fallback: 0 });
  const validateEvery = parseNumber(values['validate-every'], '--validate-every', {
    integer: true,
    min: 0,
    fallback: 10,
  });
  const checkpointEvery = parseNumber(values['checkpoint-every'], '--checkpoint-every', {
    integer: true,
    min: 1,
    fallback: 10,
  });
  const r = parseNumber(values.r, '--r', { integer: true, min: 1, fallback: 4 });
  const alpha = parseNumber(values.alpha, '--alpha', { min: 0, fallback: r });
  const config = {
    lr: parseNumber(values.lr, '--lr', { min: Number.MIN_VALUE, fallback: 2e-3 }),
    maxGradNorm: parseNumber(values.clip, '--clip', { min: Number.MIN_VALUE, fallback: 1e-3 }),
    klCoeff: parseNumber(values.kl, '--kl', { min: 0, fallback: 0 }),
    normalizeRewards: values['normalize-rewards'],
    batchSize: parseNumber(values.batch, '--batch', { integer: true, min: 1, fallback: 32 }),
    temperature: parseNumber(values.temperature, '--temperature', { min: 0, fallback: 0 }),
    seed,
    validateEvery,
  };
  const valSize = parseNumber(values['val-size'], '--val-size', {
    integer: true,
    min: 0,
    fallback: 500,
  });
  const targets =
    values.target === undefined
      ? MLP_TARGETS
      : values.target
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean);
  if (targets.length === 0) throw new UsageError('--target: no layer names');
  const taskName = fams
    ? fams.map((f) => f.name).join('+')
    : basename(values.data!, extname(values.data!));
  const label = values.label ?? (fams ? defaultLabel(fams) : taskName);
  const out = values.out ?? `out/rl-${taskName}${method === 'lora' ? '-lora' : ''}`;

  // Data before the model: a bad file should fail fast.
  let trainSamples: Sample[] | ((step: number, size: number) => Sample[]);
  let validationSamples: Sample[];
  let dataNote: string;
  if (fams) {
    validationSamples =
      valSize > 0 ? drawSamples(fams, { n: valSize, seed, split: 'validation', unique: true }) : [];
    // A fresh seeded draw per step: unlimited train-split problems, reproducible from (seed, step).
    trainSamples = (step, size) =>
      drawSamples(fams, { n: size, seed: deriveSeed(seed, `train:${step}`), split: 'train' });
    reward.check(trainSamples(0, 32), `--task ${values.task}`);
    dataNote = `task ${taskName} (train split; ${validationSamples.length} validation problems)`;
  } else {
    const all = await readDataFile(values.data!);
    reward.check(all, values.data!);
    const split = splitSamples(all);
    if (split.train.length === 0) {
      throw new UsageError(
        `--data ${values.data}: none of its ${all.length} samples falls in the train split`,
      );
    }
    trainSamples = split.train;
    validationSamples = split.validation;
    dataNote = `${values.data}: ${split.train.length} train / ${split.validation.length} validation samples (${split.test.length} test samples left out)`;
  }

  if (!values.model)
    throw new UsageError('--model PATH is required (a Hugging Face folder with tokenizer.json)');
  // Never into the model or the data; a non-empty folder only with --overwrite or --resume.
  claimed.push(
    await claimOutputDir(out, {
      command: 't2 rl',
      overwrite: values.overwrite,
      resume: values.resume,
      inputs: [
        { flag: '--model', path: values.model },
        { flag: '--data', path: values.data },
      ],
    }),
  );
  await useBackend(values.backend);
  const { model, tokenizer, source } = await loadModelForCli(values.model);
  if (!tokenizer)
    throw new UsageError(`${source} has no tokenizer.json: t2 rl needs one to read text prompts`);
  // A task written in characters the model cannot read would train on <unk> tokens.
  const coverage = tokenizerCoverageProblem(tokenizer, [
    ...(typeof trainSamples === 'function' ? trainSamples(0, 256) : trainSamples),
    ...validationSamples,
  ]);
  if (coverage) throw new UsageError(`${source}: ${coverage}`);
  // A layer name the model does not have is refused, not silently left out.
  if (values.target !== undefined) parseTargets(values.target, model);
  const maxNewTokens = parseNumber(values['max-new-tokens'], '--max-new-tokens', {
    integer: true,
    min: 1,
    fallback: fams ? TASK_MAX_NEW_TOKENS : answerBudget(tokenizer, trainSamples as Sample[]),
  });
  const say = (text: string) => (values.json ? io.stderr(text) : io.stdout(text));
  const run: RunInfo = {
    format: 't2-rl-run',
    method,
    task: fams ? taskName : null,
    data: fams ? null : values.data!,
    reward: reward.spec,
    label,
    targets,
    r: method === 'lora' ? r : null,
    model: source,
  };
  if (values.resume) await checkResumable(out, run);
  await mkdir(out, { recursive: true });

  const cacheDir = values.cache ?? DEFAULT_SVD_CACHE;
  const adapter = await prepareAdapter(model, method, {
    targets,
    seed,
    r,
    alpha,
    cacheDir,
    baseModel: source,
    label,
  });
  const trainer = new ReinforceTrainer<Sample>({
    model,
    params: adapter.params,
    codec: codecOf(tokenizer),
    reward: (prompt, output, sample) => reward.score(prompt, output, sample),
    trainSamples,
    validationSamples,
    setAdaptersEnabled: (flag) => adapter.setEnabled(flag),
    config: {
      ...config,
      maxNewTokens,
      eosTokenIds: stopTokenIds(tokenizer, model.config.eosTokenIds),
      padTokenId: model.config.padTokenId ?? 0,
      validationBatchSize: 32,
    },
  });
  const checkpoint = join(out, 'checkpoint.safetensors');
  const logPath = join(out, 'log.jsonl');
  if (values.resume) {
    try {
      await trainer.loadCheckpoint(checkpoint);
    } catch (err) {
      throw new UsageError(
        `--resume: ${(err as Error).message.replace(/ \(pass allowConfigChange[^)]*\)/, '')}`,
      );
    }
    await truncateLog(logPath, trainer.step);
  } else {
    await writeFileAtomic(logPath, '');
  }
  await writeFileAtomic(join(out, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);

  const numTrainable = adapter.params.reduce((n, [, p]) => n + p.size, 0);
  say(
    `t2 rl: ${method} on ${source} — ${numTrainable.toLocaleString('en-US')} trainable values, ${dataNote}, reward ${reward.spec}` +
      `${values.resume ? `, resuming at step ${trainer.step}` : ''}\n${adapter.note}`,
  );
  if (validationSamples.length === 0 || validateEvery === 0) {
    say('no validation: the saved adapter is the last one, not the best\n');
  }

  const bar = new ProgressBar(steps, io.stderr, io.isTTY, { label: method, unit: 'steps' });
  let lastValidation: number | undefined;
  const note = (text: string) => io.stderr(`${io.isTTY ? '\r\x1b[2K' : ''}${text}\n`);
  const onStep = async (s: StepLog) => {
    const line = JSON.stringify({ event: 'step', ...s });
    await appendFile(logPath, `${line}\n`);
    if (values.json) io.stdout(`${line}\n`);
    else {
      bar.update(s.step, {
        reward: s.meanReward,
        acc: s.trainAccuracy,
        loss: s.loss,
        ...(lastValidation === undefined ? {} : { val: lastValidation }),
      });
    }
  };
  const onValidation = async (v: ValidationLog) => {
    lastValidation = v.accuracy;
    const line = JSON.stringify({ event: 'validation', ...v });
    await appendFile(logPath, `${line}\n`);
    if (values.json) io.stdout(`${line}\n`);
    else
      note(
        `step ${v.step}: validation accuracy ${v.accuracy.toFixed(3)}${v.isBest ? ' (best so far)' : ''}`,
      );
  };
  // The live parameters are the best ones right after a new best validation.
  const onBest = async () => {
    await adapter.save(out);
  };

  const controller = signal ? undefined : new AbortController();
  const stop = signal ?? controller!.signal;
  const onSigint = () => controller?.abort();
  if (controller) process.once('SIGINT', onSigint);
  try {
    while (trainer.step < steps && !stop.aborted) {
      // One update per call, so that a stop request is honoured between whole steps
      // (validation included) and a resumed run replays the uninterrupted one exactly.
      await trainer.train({ steps: trainer.step + 1, onStep, onValidation, onBest });
      const validated =
        validateEvery > 0 && validationSamples.length > 0 && trainer.step % validateEvery === 0;
      if (validated || trainer.step % checkpointEvery === 0 || trainer.step === steps) {
        await trainer.saveCheckpoint(checkpoint);
      }
      // Lets a pending SIGINT reach its handler: training steps are synchronous.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (trainer.step < steps) await trainer.saveCheckpoint(checkpoint);
  } finally {
    if (controller) process.off('SIGINT', onSigint);
  }
  bar.finish();
  if (trainer.step < steps) {
    say(
      `stopped at step ${trainer.step}/${steps}; checkpoint in ${checkpoint} — rerun with --resume to continue\n`,
    );
    return 130;
  }
  const best = trainer.best;
  trainer.restoreBest();
  const saved = await adapter.save(out);
  const last = trainer.history.at(-1);
  const summary = {
    event: 'done',
    method,
    steps: trainer.step,
    best,
    finalMeanReward: last?.meanReward ?? null,
    trainableValues: numTrainable,
    saved,
    out,
  };
  if (values.json) io.stdout(`${JSON.stringify(summary)}\n`);
  else {
    io.stdout(
      `done: ${trainer.step} steps` +
        (best
          ? `, best validation accuracy ${best.accuracy.toFixed(3)} at step ${best.step}`
          : '') +
        `\nsaved ${best ? 'the best ' : ''}${method === 'svf' ? 'expert' : 'adapter'} to ${saved} (log: ${logPath})\n`,
    );
  }
  return 0;
}

export const rl: Command = {
  name: 'rl',
  summary: 'Train an SVF expert (or a LoRA baseline) with REINFORCE on a task or JSONL data',
  usage: USAGE,
  run: (argv, io) => runRl(argv, io),
};
