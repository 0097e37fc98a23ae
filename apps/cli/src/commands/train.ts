import { type StepInfo, trainSft } from '@t2/sft';
import { BACKEND_FLAG, backendUsage, useBackend } from '../lib/backend';
import { type Command, type CommandIO, UsageError } from '../lib/command';
import { parseFlags, parseNumber } from '../lib/flags';
import { loadModelForCli } from '../lib/load-model';
import { claimOutputDir, RUN_FLAGS } from '../lib/output-dir';
import { parameterShare } from '../lib/parameter-share';
import { ProgressBar, trainingHooks } from '../lib/progress';
import { parseTargets } from '../lib/targets';
import {
  loadSftData,
  type Method,
  methodList,
  prepareMethod,
  trainMethodNames,
  unknownMethod,
} from '../lib/train-setup';

export const train: Command = {
  name: 'train',
  summary: 'Fine-tune a model with Bone, BAT, LoRA, PiSSA or all weights on JSONL data',
  // A getter: the method list comes from the registry, plugins included.
  get usage() {
    return (
      `t2 train --model PATH --method ${trainMethodNames().join('|')} --data train.jsonl [options]\n\n` +
      '  --model PATH           Hugging Face folder with tokenizer.json\n' +
      backendUsage() +
      `  --method NAME          ${methodList()}, or full (all weights)\n` +
      '  --data FILE            training JSONL, one object per line (see below)\n' +
      '  --eval FILE            held-out JSONL; its loss is shown every --eval-every steps\n' +
      '  --r R                  adapter rank (Bone: block size) (default 8)\n' +
      '  --alpha A              LoRA/PiSSA scaling numerator (default R)\n' +
      '  --target LIST          modules to adapt, comma-separated (q_proj,k_proj,v_proj,o_proj,gate_proj,\n' +
      '                         up_proj,down_proj) or all-linear (default all-linear)\n' +
      '  --steps N              optimizer steps (default 100)\n' +
      '  --lr LR                peak learning rate (default 1e-3; 1e-4 with --method full)\n' +
      '  --batch B              examples per step (default 8)\n' +
      '  --grad-accum K         micro-batches accumulated per step (default 1)\n' +
      '  --warmup W             linear warm-up steps (default min(10, N/10))\n' +
      '  --eval-every N         steps between eval losses (default N/5 with --eval; 0: only at the end)\n' +
      '  --max-length L         tokens per example, longer ones are cut (default 512)\n' +
      '  --seed S               data order and adapter initialisation (default 0)\n' +
      '  --out DIR              output folder (default out/METHOD): a PEFT adapter folder, or for\n' +
      '                         --method full a complete Hugging Face folder (tokenizer included)\n' +
      '  --overwrite            replace the files of a non-empty --out folder\n' +
      '  --resume               continue from DIR/checkpoint (written every N/10 steps and on Ctrl-C)\n' +
      '  --json                 JSON lines on stdout: {"event": "step"|"eval"|"done", …}\n\n' +
      'Data: {"prompt": "12+35=", "answer": "47"} per line, the loss on the answer only ("completion"\n' +
      'is accepted for "answer"); or {"messages": [{"role", "content"}, …]} (chat template, loss on\n' +
      'the last assistant message); or {"text": "…"} (loss on every token).'
    );
  },
  async run(argv, io) {
    const { values } = parseFlags(argv, TRAIN_FLAGS);
    const s = trainSettings(values);
    // Never into the model or the data; a non-empty folder only with --overwrite or --resume.
    const outDir = await claimOutputDir(s.out, {
      command: 't2 train',
      overwrite: values.overwrite,
      resume: values.resume,
      inputs: [
        { flag: '--model', path: s.model },
        { flag: '--data', path: s.data },
        { flag: '--eval', path: values.eval },
      ],
    });
    try {
      await useBackend(values);
      const run = await prepareRun(values, s, `t2 train ${argv.join(' ')}`);
      const say = (text: string) => (values.json ? io.stderr(text) : io.stdout(text));
      say(
        `t2 train: ${s.method} on ${run.source} — ${parameterShare(run.numTrainable, run.baseParameters)}, ${run.trainData.length} examples\n`,
      );
      const result = await trainStoppable(run, s, io, values.json);
      if (result.stopped) {
        say(
          `stopped at step ${result.steps}/${s.steps}; the checkpoint is in ${s.out}/checkpoint — rerun with --resume to continue\n`,
        );
        return 130;
      }
      await run.trainable.save(s.out);
      const summary = {
        event: 'done',
        method: s.method,
        steps: result.steps,
        resumedFrom: result.resumedFrom,
        finalLoss: result.finalLoss,
        evalLoss: result.evalLoss,
        trainableParameters: run.numTrainable,
        tokensPerSecond: result.tokensPerSecond,
        wallSeconds: result.wallSeconds,
        out: s.out,
      };
      if (values.json) io.stdout(`${JSON.stringify(summary)}\n`);
      else printSummary(io, summary);
      return 0;
    } finally {
      await outDir.release();
    }
  },
};

const TRAIN_FLAGS = {
  model: { type: 'string' },
  method: { type: 'string' },
  data: { type: 'string' },
  eval: { type: 'string' },
  r: { type: 'string' },
  alpha: { type: 'string' },
  target: { type: 'string' },
  steps: { type: 'string' },
  lr: { type: 'string' },
  batch: { type: 'string' },
  'grad-accum': { type: 'string' },
  warmup: { type: 'string' },
  'eval-every': { type: 'string' },
  'max-length': { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  ...RUN_FLAGS,
  ...BACKEND_FLAG,
} as const;

type TrainValues = ReturnType<typeof parseFlags<typeof TRAIN_FLAGS>>['values'];
type TrainSettings = ReturnType<typeof trainSettings>;

/** The flags that need no model, checked before anything is written or loaded. */
function trainSettings(values: TrainValues) {
  const method = values.method as Method;
  if (method === undefined || !trainMethodNames().includes(method))
    throw new UsageError(unknownMethod(method));
  if (!values.data) throw new UsageError('--data train.jsonl is required');
  const steps = parseNumber(values.steps, '--steps', { integer: true, min: 1, fallback: 100 });
  const r = parseNumber(values.r, '--r', { integer: true, min: 1, fallback: 8 });
  const seed = parseNumber(values.seed, '--seed', { integer: true, min: 0, fallback: 0 });
  const maxLength = parseNumber(values['max-length'], '--max-length', {
    integer: true,
    min: 2,
    fallback: 512,
  });
  const out = values.out ?? `out/${method}`;
  if (values.resume && values.overwrite)
    throw new UsageError('--resume and --overwrite contradict each other: give one');
  if (!values.model)
    throw new UsageError('--model PATH is required (a Hugging Face folder or a llama2.c .bin)');
  return {
    method,
    steps,
    r,
    seed,
    maxLength,
    out,
    resume: values.resume,
    model: values.model,
    data: values.data,
    alpha:
      values.alpha === undefined
        ? undefined
        : parseNumber(values.alpha, '--alpha', { min: 0, fallback: r }),
    lr: parseNumber(values.lr, '--lr', { min: 0, fallback: method === 'full' ? 1e-4 : 1e-3 }),
    batchSize: parseNumber(values.batch, '--batch', { integer: true, min: 1, fallback: 8 }),
    gradAccum: parseNumber(values['grad-accum'], '--grad-accum', {
      integer: true,
      min: 1,
      fallback: 1,
    }),
    warmupSteps: parseNumber(values.warmup, '--warmup', {
      integer: true,
      min: 0,
      fallback: Math.min(10, Math.floor(steps / 10)),
    }),
    evalEvery: parseNumber(values['eval-every'], '--eval-every', {
      integer: true,
      min: 0,
      fallback: values.eval ? Math.max(1, Math.floor(steps / 5)) : 0,
    }),
  };
}

/** The model with the method installed, and the tokenized data. */
async function prepareRun(values: TrainValues, s: TrainSettings, command: string) {
  const { model, tokenizer, source } = await loadModelForCli(s.model);
  if (!tokenizer) {
    throw new UsageError(`${source} has no tokenizer.json: t2 train needs one to read text data`);
  }
  const trainData = await loadSftData(s.data, tokenizer, s.maxLength);
  const evalData = values.eval
    ? await loadSftData(values.eval, tokenizer, s.maxLength, '--eval')
    : undefined;
  const baseParameters = model.numParameters();
  const trainable = prepareMethod(model, s.method, {
    r: s.r,
    alpha: s.alpha,
    targets: parseTargets(values.target, model),
    seed: s.seed,
    baseModel: source,
    command,
  });
  const numTrainable = trainable.params.reduce((n, [, p]) => n + p.size, 0);
  return { model, source, trainData, evalData, baseParameters, trainable, numTrainable };
}

/** trainSft with a progress bar; Ctrl-C stops it at a checkpoint (`result.stopped`). */
async function trainStoppable(
  run: Awaited<ReturnType<typeof prepareRun>>,
  s: TrainSettings,
  io: CommandIO,
  json: boolean,
) {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const bar = new ProgressBar(s.steps, io.stderr, io.isTTY, { label: s.method, unit: 'steps' });
  const { onStep, onEval } = trainingHooks<StepInfo>(bar, io, json);
  try {
    const { steps, lr, batchSize, gradAccum, warmupSteps, evalEvery, seed, r, method } = s;
    const result = await trainSft(
      run.model,
      run.trainable.params,
      run.trainData,
      {
        steps,
        lr,
        batchSize,
        gradAccum,
        warmupSteps,
        evalData: run.evalData,
        evalEvery,
        seed,
        padId: run.model.config.padTokenId ?? 0,
        checkpointDir: `${s.out}/checkpoint`,
        checkpointEvery: Math.max(1, Math.floor(steps / 10)),
        resume: s.resume,
        extra: { method, r },
      },
      { onStep, onEval, signal: controller.signal },
    );
    bar.finish();
    return result;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function printSummary(io: CommandIO, s: Record<string, string | number | null>): void {
  io.stdout(
    `done: ${s.steps} steps${s.resumedFrom ? ` (resumed at ${s.resumedFrom})` : ''}, final train loss ${Number(s.finalLoss).toFixed(4)}` +
      `${s.evalLoss !== null ? `, eval loss ${Number(s.evalLoss).toFixed(4)}` : ''}, ${Math.round(Number(s.tokensPerSecond))} tokens/s, ${Number(s.wallSeconds).toFixed(1)} s\n` +
      `saved to ${s.out}\n`,
  );
}
