import { appendFile, mkdir } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { MLP_TARGETS } from '@t2/adapters-svf';
import { type LlamaForCausalLM, type TextTokenizer, tokenizerCoverageProblem } from '@t2/llama';
import {
  createRlTrainer,
  prepareRlAdapter,
  type ReinforceTrainer,
  RL_METHODS,
  type RlAdapter,
  type RlMethod,
  type RlRunInfo,
  resumeProblem,
  rlRunFiles,
  type StepLog,
  trainWithCheckpoints,
  truncateLog,
  type ValidationLog,
} from '@t2/rl-reinforce';
import type { Sample, TaskFamily } from '@t2/tasks';
import { writeFileAtomic } from '@t2/tensor-core';
import { BACKEND_FLAG, backendUsage, useBackend } from '../lib/backend';
import { DEFAULT_SVD_CACHE } from '../lib/cache-dirs';
import { type Command, type CommandIO, UsageError } from '../lib/command';
import { parseFlags, parseNumber } from '../lib/flags';
import { loadModelForCli } from '../lib/load-model';
import { claimOutputDir, type OutputDir, RUN_FLAGS } from '../lib/output-dir';
import { ProgressBar } from '../lib/progress';
import { parseRewardSpec, type RewardSpec } from '../lib/rewards';
import { type RlData, rlData, someTrainSamples } from '../lib/rl-data';
import { checkTargets, parseTargetList } from '../lib/targets';
import { answerBudget, defaultLabel, parseFamilies, TASK_MAX_NEW_TOKENS } from '../lib/task-data';

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

const RL_FLAGS = {
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
  ...RUN_FLAGS,
  ...BACKEND_FLAG,
} as const;

type RlValues = ReturnType<typeof parseFlags<typeof RL_FLAGS>>['values'];

/** The run's settings from the flags, checked before anything is read. */
function rlSettings(values: RlValues, fams: TaskFamily[] | undefined) {
  const method = values.method as RlMethod;
  if (values.resume && values.overwrite)
    throw new UsageError('--resume and --overwrite contradict each other: give one');
  if (!RL_METHODS.includes(method))
    throw new UsageError(`--method must be one of ${RL_METHODS.join(', ')}`);
  const int = (v: string | undefined, flag: string, fallback: number, min = 1) =>
    parseNumber(v, flag, { integer: true, min, fallback });
  const positive = (v: string | undefined, flag: string, fallback: number) =>
    parseNumber(v, flag, { min: Number.MIN_VALUE, fallback });
  const seed = int(values.seed, '--seed', 0, 0);
  const validateEvery = int(values['validate-every'], '--validate-every', 10, 0);
  const r = int(values.r, '--r', 4);
  const taskName = fams
    ? fams.map((f) => f.name).join('+')
    : basename(values.data!, extname(values.data!));
  const targets = parseTargetList(values.target, [...MLP_TARGETS]);
  if (targets === 'all-linear')
    throw new UsageError('--target all-linear: name the layers to adapt');
  return {
    method,
    steps: int(values.steps, '--steps', 200),
    seed,
    validateEvery,
    checkpointEvery: int(values['checkpoint-every'], '--checkpoint-every', 10),
    r,
    alpha: parseNumber(values.alpha, '--alpha', { min: 0, fallback: r }),
    config: {
      lr: positive(values.lr, '--lr', 2e-3),
      maxGradNorm: positive(values.clip, '--clip', 1e-3),
      klCoeff: parseNumber(values.kl, '--kl', { min: 0, fallback: 0 }),
      normalizeRewards: values['normalize-rewards'],
      batchSize: int(values.batch, '--batch', 32),
      temperature: parseNumber(values.temperature, '--temperature', { min: 0, fallback: 0 }),
      seed,
      validateEvery,
    },
    valSize: int(values['val-size'], '--val-size', 500, 0),
    targets,
    taskName,
    label: values.label ?? (fams ? defaultLabel(fams) : taskName),
    out: values.out ?? `out/rl-${taskName}${method === 'lora' ? '-lora' : ''}`,
  };
}

type RlSettings = ReturnType<typeof rlSettings>;

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
  const { values } = parseFlags(argv, RL_FLAGS);
  if ((values.task === undefined) === (values.data === undefined)) {
    throw new UsageError('give exactly one of --task NAME or --data FILE');
  }
  const fams = values.task === undefined ? undefined : parseFamilies(values.task);
  const reward = await parseRewardSpec(values.reward, { task: fams !== undefined });
  const s = rlSettings(values, fams);
  // Data before the model: a bad file should fail fast.
  const data = await rlData(fams ? { fams, task: values.task! } : { data: values.data! }, {
    seed: s.seed,
    valSize: s.valSize,
    reward,
  });
  if (!values.model)
    throw new UsageError('--model PATH is required (a Hugging Face folder with tokenizer.json)');
  // Never into the model or the data; a non-empty folder only with --overwrite or --resume.
  claimed.push(
    await claimOutputDir(s.out, {
      command: 't2 rl',
      overwrite: values.overwrite,
      resume: values.resume,
      inputs: [
        { flag: '--model', path: values.model },
        { flag: '--data', path: values.data },
      ],
    }),
  );
  await useBackend(values);
  const { model, tokenizer, source } = await loadModelForCli(values.model);
  if (!tokenizer)
    throw new UsageError(`${source} has no tokenizer.json: t2 rl needs one to read text prompts`);
  checkRlInput(model, tokenizer, source, data, s.targets);
  const maxNewTokens = parseNumber(values['max-new-tokens'], '--max-new-tokens', {
    integer: true,
    min: 1,
    fallback: fams ? TASK_MAX_NEW_TOKENS : answerBudget(tokenizer, data.trainSamples as Sample[]),
  });
  const run = runInfo(s, { task: fams ? s.taskName : null, data: values.data, reward, source });
  const { trainer, adapter } = await prepareRun(values, s, {
    model,
    tokenizer,
    source,
    data,
    reward,
    run,
    maxNewTokens,
  });
  const numTrainable = adapter.params.reduce((n, [, p]) => n + p.size, 0);
  const say = (text: string) => (values.json ? io.stderr(text) : io.stdout(text));
  const resuming = values.resume ? `, resuming at step ${trainer.step}` : '';
  const svd = adapter.svd
    ? `SVD factors: ${adapter.svd.cached} from ${adapter.svd.cacheDir}, ${adapter.svd.decomposed} computed\n`
    : '';
  say(
    `t2 rl: ${s.method} on ${source} — ${numTrainable.toLocaleString('en-US')} trainable values, ${data.note}, reward ${reward.spec}${resuming}\n${svd}`,
  );
  if (data.validationSamples.length === 0 || s.validateEvery === 0) {
    say('no validation: the saved adapter is the last one, not the best\n');
  }
  return trainAndSave(io, trainer, adapter, { values, s, data, numTrainable, signal });
}

/** run.json: what a resumed run must share with this one. */
function runInfo(
  s: RlSettings,
  ctx: { task: string | null; data: string | undefined; reward: RewardSpec; source: string },
): RlRunInfo {
  return {
    format: 't2-rl-run',
    method: s.method,
    task: ctx.task,
    data: ctx.task === null ? ctx.data! : null,
    reward: ctx.reward.spec,
    label: s.label,
    targets: s.targets,
    r: s.method === 'lora' ? s.r : null,
    model: ctx.source,
  };
}

/** Refuses data the tokenizer cannot read and layer names the model does not have. */
function checkRlInput(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  source: string,
  data: RlData,
  targets: string[],
): void {
  // A task written in characters the model cannot read would train on <unk> tokens.
  const coverage = tokenizerCoverageProblem(tokenizer, [
    ...someTrainSamples(data),
    ...data.validationSamples,
  ]);
  if (coverage) throw new UsageError(`${source}: ${coverage}`);
  // A layer name the model does not have is refused, not silently left out.
  checkTargets(targets, model);
}

/** The run folder (run.json, log, resumed checkpoint), the adapter and its trainer. */
async function prepareRun(
  values: RlValues,
  s: RlSettings,
  ctx: {
    model: LlamaForCausalLM;
    tokenizer: TextTokenizer;
    source: string;
    data: RlData;
    reward: RewardSpec;
    run: RlRunInfo;
    maxNewTokens: number;
  },
): Promise<{ trainer: ReinforceTrainer<Sample>; adapter: RlAdapter }> {
  const files = rlRunFiles(s.out);
  if (values.resume) {
    const problem = await resumeProblem(s.out, ctx.run);
    if (problem) throw new UsageError(`--resume: ${problem}`);
  }
  await mkdir(s.out, { recursive: true });
  const adapter = await prepareRlAdapter(ctx.model, s.method, {
    targets: s.targets,
    seed: s.seed,
    r: s.r,
    alpha: s.alpha,
    cacheDir: values.cache ?? DEFAULT_SVD_CACHE,
    baseModel: ctx.source,
    label: s.label,
  });
  const trainer = createRlTrainer<Sample>({
    model: ctx.model,
    tokenizer: ctx.tokenizer,
    adapter,
    reward: (prompt, output, sample) => ctx.reward.score(prompt, output, sample),
    trainSamples: ctx.data.trainSamples,
    validationSamples: ctx.data.validationSamples,
    config: { ...s.config, maxNewTokens: ctx.maxNewTokens },
  });
  if (values.resume) {
    try {
      await trainer.loadCheckpoint(files.checkpoint);
    } catch (err) {
      throw new UsageError(
        `--resume: ${(err as Error).message.replace(/ \(pass allowConfigChange[^)]*\)/, '')}`,
      );
    }
    await truncateLog(files.log, trainer.step);
  } else {
    await writeFileAtomic(files.log, '');
  }
  await writeFileAtomic(files.runInfo, `${JSON.stringify(ctx.run, null, 2)}\n`);
  return { trainer, adapter };
}

/** Trains with a progress bar (or JSON lines), checkpoints, then saves the best adapter. */
async function trainAndSave(
  io: CommandIO,
  trainer: ReinforceTrainer<Sample>,
  adapter: RlAdapter,
  ctx: {
    values: RlValues;
    s: RlSettings;
    data: RlData;
    numTrainable: number;
    signal?: AbortSignal;
  },
): Promise<number> {
  const { values, s } = ctx;
  const files = rlRunFiles(s.out);
  const say = (text: string) => (values.json ? io.stderr(text) : io.stdout(text));
  const hooks = progressHooks(io, s, files.log, values.json);
  const controller = ctx.signal ? undefined : new AbortController();
  const onSigint = () => controller?.abort();
  if (controller) process.once('SIGINT', onSigint);
  let finished: boolean;
  try {
    finished = await trainWithCheckpoints(trainer, {
      steps: s.steps,
      checkpointPath: files.checkpoint,
      checkpointEvery: s.checkpointEvery,
      hasValidation: ctx.data.validationSamples.length > 0,
      signal: ctx.signal ?? controller!.signal,
      onStep: hooks.onStep,
      onValidation: hooks.onValidation,
      // The live parameters are the best ones right after a new best validation.
      onBest: async () => {
        await adapter.save(s.out);
      },
    });
  } finally {
    if (controller) process.off('SIGINT', onSigint);
  }
  hooks.bar.finish();
  if (!finished) {
    say(
      `stopped at step ${trainer.step}/${s.steps}; checkpoint in ${files.checkpoint} — rerun with --resume to continue\n`,
    );
    return 130;
  }
  const best = trainer.best;
  trainer.restoreBest();
  const saved = await adapter.save(s.out);
  const summary = {
    event: 'done',
    method: s.method,
    steps: trainer.step,
    best,
    finalMeanReward: trainer.history.at(-1)?.meanReward ?? null,
    trainableValues: ctx.numTrainable,
    saved,
    out: s.out,
  };
  if (values.json) io.stdout(`${JSON.stringify(summary)}\n`);
  else {
    io.stdout(
      `done: ${trainer.step} steps` +
        (best
          ? `, best validation accuracy ${best.accuracy.toFixed(3)} at step ${best.step}`
          : '') +
        `\nsaved ${best ? 'the best ' : ''}${s.method === 'svf' ? 'expert' : 'adapter'} to ${saved} (log: ${files.log})\n`,
    );
  }
  return 0;
}

/** Step and validation lines: appended to the log, and shown as a bar or as JSON lines. */
function progressHooks(io: CommandIO, s: RlSettings, logPath: string, json: boolean) {
  const bar = new ProgressBar(s.steps, io.stderr, io.isTTY, { label: s.method, unit: 'steps' });
  let lastValidation: number | undefined;
  const note = (text: string) => io.stderr(`${io.isTTY ? '\r\x1b[2K' : ''}${text}\n`);
  const onStep = async (step: StepLog) => {
    const line = JSON.stringify({ event: 'step', ...step });
    await appendFile(logPath, `${line}\n`);
    if (json) io.stdout(`${line}\n`);
    else {
      bar.update(step.step, {
        reward: step.meanReward,
        acc: step.trainAccuracy,
        loss: step.loss,
        ...(lastValidation === undefined ? {} : { val: lastValidation }),
      });
    }
  };
  const onValidation = async (v: ValidationLog) => {
    lastValidation = v.accuracy;
    const line = JSON.stringify({ event: 'validation', ...v });
    await appendFile(logPath, `${line}\n`);
    if (json) io.stdout(`${line}\n`);
    else
      note(
        `step ${v.step}: validation accuracy ${v.accuracy.toFixed(3)}${v.isBest ? ' (best so far)' : ''}`,
      );
  };
  return { bar, onStep, onValidation };
}

export const rl: Command = {
  name: 'rl',
  summary: 'Train an SVF expert (or a LoRA baseline) with REINFORCE on a task or JSONL data',
  usage: USAGE,
  run: (argv, io) => runRl(argv, io),
};
