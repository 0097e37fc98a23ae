import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createConfig, LlamaForCausalLM, loadModel, TextTokenizer } from '@t2/llama';
import { type EncodedExample, type StepInfo, trainSft } from '@t2/sft';
import { getBackend, Rng } from '@t2/tensor-core';
import { BACKEND_FLAG, backendUsage, keepStoredWeights, useBackend } from '../lib/backend';
import { type Command, type CommandIO, UsageError } from '../lib/command';
import { parseFlags, parseNumber } from '../lib/flags';
import { claimOutputDir, lockFolder, RUN_FLAGS, removeStaleTemps } from '../lib/output-dir';
import { ProgressBar, trainingHooks } from '../lib/progress';
import { type FamilyAccuracy, familyAccuracies } from '../pretrain/base-eval';
import { charTokenizerFiles } from '../pretrain/char-tokenizer';
import { pretrainExamples } from '../pretrain/corpus';
import { writePretrainedFolder } from '../pretrain/model-folder';

const PRETRAIN_FLAGS = {
  out: { type: 'string', default: 'models/t2-tiny' },
  steps: { type: 'string' },
  batch: { type: 'string' },
  seq: { type: 'string' },
  lr: { type: 'string' },
  dim: { type: 'string' },
  layers: { type: 'string' },
  heads: { type: 'string' },
  'kv-heads': { type: 'string' },
  hidden: { type: 'string' },
  problems: { type: 'string' },
  classification: { type: 'string' },
  'held-out': { type: 'string' },
  'distractor-rate': { type: 'string' },
  init: { type: 'string' },
  seed: { type: 'string' },
  'eval-n': { type: 'string' },
  ...BACKEND_FLAG,
  ...RUN_FLAGS,
} as const;

type PretrainValues = ReturnType<typeof parseFlags<typeof PRETRAIN_FLAGS>>['values'];

/** The run's settings, checked. */
function pretrainOptions(values: PretrainValues) {
  const int = (v: string | undefined, flag: string, fallback: number) =>
    parseNumber(v, flag, { integer: true, min: 1, fallback });
  const dim = int(values.dim, '--dim', 128);
  const heads = int(values.heads, '--heads', 4);
  return {
    architecture: {
      dim,
      heads,
      hidden: int(values.hidden, '--hidden', Math.round((dim * 8) / 3 / 8) * 8),
      layers: int(values.layers, '--layers', 4),
      kvHeads: int(values['kv-heads'], '--kv-heads', Math.max(1, heads / 2)),
    },
    out: values.out!,
    steps: int(values.steps, '--steps', 3000),
    batch: int(values.batch, '--batch', 16),
    seqLength: int(values.seq, '--seq', 128),
    lr: parseNumber(values.lr, '--lr', { min: 0, fallback: 3e-3 }),
    seed: parseNumber(values.seed, '--seed', { integer: true, min: 0, fallback: 0 }),
    problems: int(values.problems, '--problems', 100_000),
    classification: int(values.classification, '--classification', 10_000),
    heldOut: parseNumber(values['held-out'], '--held-out', { integer: true, min: 0, fallback: 0 }),
    distractorRate: parseNumber(values['distractor-rate'], '--distractor-rate', {
      min: 0,
      max: 1,
      fallback: 0,
    }),
    evalN: int(values['eval-n'], '--eval-n', 200),
  };
}

type PretrainOptions = ReturnType<typeof pretrainOptions>;

/**
 * A new model of the flags' architecture, or the `--init` folder's model (a second
 * pretraining stage keeps that model's architecture; the architecture flags do not apply).
 */
async function initialModel(values: PretrainValues, opts: PretrainOptions, vocabSize: number) {
  const init = values.init
    ? await loadModel(values.init, { skipTokenizer: true, keepBf16: keepStoredWeights() })
    : undefined;
  if (init && init.config.vocabSize !== vocabSize) {
    throw new UsageError(
      `--init ${values.init}: vocabulary of ${init.config.vocabSize} tokens, t2's character tokenizer has ${vocabSize}`,
    );
  }
  if (init) return { model: init.model, config: init.config };
  const a = opts.architecture;
  const config = createConfig({
    hiddenSize: a.dim,
    intermediateSize: a.hidden,
    numHiddenLayers: a.layers,
    numAttentionHeads: a.heads,
    numKeyValueHeads: a.kvHeads,
    vocabSize,
    maxPositionEmbeddings: 256,
    rmsNormEps: 1e-5,
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: 0,
    tieWordEmbeddings: true,
  });
  return { model: new LlamaForCausalLM(config, { rng: new Rng(opts.seed) }), config };
}

export const pretrain: Command = {
  name: 'pretrain',
  summary: 'Pretrain a small base model on the @t2/tasks mixture (how models/t2-tiny is made)',
  usage:
    't2 pretrain [--out DIR] [options]\n\n' +
    '  --out DIR              the new model folder (default models/t2-tiny; an existing model\n' +
    '                         there is kept unless --overwrite)\n' +
    '  --steps N              optimizer steps (default 3000)\n' +
    '  --batch B              sequences per step (default 16)\n' +
    '  --seq L                tokens per packed sequence (default 128)\n' +
    '  --lr LR                peak learning rate (default 3e-3)\n' +
    '  --dim D                hidden size (default 128)\n' +
    '  --layers N             decoder layers (default 4)\n' +
    '  --heads H              attention heads (default 4)\n' +
    '  --kv-heads K           key/value heads (default H/2)\n' +
    '  --hidden F             MLP size (default 8·D/3, a multiple of 8)\n' +
    '  --problems N           task problems in the corpus (default 100000)\n' +
    '  --classification N     classification prompts in the corpus (default 10000)\n' +
    '  --held-out N           problems of the held-out families shout, big, end (default 0)\n' +
    "  --distractor-rate R    share of answers in the family's competing convention (default 0)\n" +
    '  --init DIR             continue from this model folder (its architecture; default: new)\n' +
    '  --seed S               initialisation and corpus (default 0)\n' +
    '  --eval-n N             problems per family in the final accuracy check (default 200)\n' +
    backendUsage() +
    '  --overwrite            replace the model in a non-empty --out folder\n' +
    '  --resume               continue the interrupted run of the same flags (Ctrl-C checkpoints)\n' +
    '  --json                 JSON lines on stdout: {"event": "step"|"eval"|"done", …}',
  async run(argv, io) {
    const { values } = parseFlags(argv, PRETRAIN_FLAGS);
    const opts = pretrainOptions(values);
    const { out } = opts;
    // Never over a model that is there (models/t2-tiny by default) unless --overwrite; one run
    // per folder and per checkpoint cache.
    await claimOutputDir(out, {
      command: 't2 pretrain',
      overwrite: values.overwrite,
      inputs: [{ flag: '--init', path: values.init }],
    });
    await useBackend(values);
    const say = (t: string) => (values.json ? io.stderr(t) : io.stdout(t));
    const { tokenizerJson, tokenizerConfig, vocabSize } = charTokenizerFiles();
    const tokenizer = new TextTokenizer(tokenizerJson, tokenizerConfig);
    const { model, config } = await initialModel(values, opts, vocabSize);
    const corpus = pretrainExamples(opts, tokenizer);
    say(
      `t2 pretrain: ${model.numParameters().toLocaleString('en-US')} parameters, ${corpus.examples.length.toLocaleString('en-US')} sequences of ${opts.seqLength} tokens, backend ${getBackend().name}\n`,
    );
    const cacheDir = `.t2-cache/pretrain/${out.replace(/[^a-zA-Z0-9_-]+/g, '_')}`;
    const result = await pretrainModel(io, model, corpus, opts, {
      cacheDir,
      resume: values.resume,
      json: values.json,
    });
    if (result.stopped) {
      say(
        `stopped at step ${result.steps}/${opts.steps}; checkpoint in ${cacheDir} — rerun with --resume to continue\n`,
      );
      return 130;
    }
    const accuracy = familyAccuracies(model, tokenizer, { n: opts.evalN, seed: opts.seed + 100 });
    await writePretrainedFolder(out, model, {
      name: out.split('/').pop() ?? out,
      command:
        `npx t2 pretrain ${argv.filter((a) => a !== '--resume' && a !== '--json').join(' ')}`.trim(),
      config,
      parameters: model.numParameters(),
      corpus: {
        problems: opts.problems,
        classification: opts.classification,
        heldOut: opts.heldOut,
        distractorRate: opts.distractorRate,
        sequences: corpus.sequences,
        seqLength: opts.seqLength,
      },
      init: values.init,
      training: {
        steps: result.steps,
        batch: opts.batch,
        lr: opts.lr,
        seed: opts.seed,
        finalLoss: result.finalLoss,
        evalLoss: result.evalLoss,
        wallSeconds: result.wallSeconds,
        tokensPerSecond: result.tokensPerSecond,
        backend: getBackend().name,
      },
      accuracy,
      date: new Date().toISOString().slice(0, 10),
    });
    printDone(io, values.json, out, result, accuracy);
    return 0;
  },
};

/** Trains every weight on the corpus with checkpoints in `cacheDir`; Ctrl-C stops between steps. */
async function pretrainModel(
  io: CommandIO,
  model: LlamaForCausalLM,
  corpus: { examples: EncodedExample[]; evalSet: EncodedExample[] },
  opts: PretrainOptions,
  run: { cacheDir: string; resume: boolean; json: boolean },
) {
  const { steps, seed } = opts;
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const bar = new ProgressBar(steps, io.stderr, io.isTTY, {
    label: 'pretrain',
    unit: 'steps',
    everyPercent: 5,
  });
  await mkdir(run.cacheDir, { recursive: true });
  await lockFolder(run.cacheDir, 't2 pretrain', '--out');
  await removeStaleTemps(dirname(run.cacheDir), 1);
  try {
    const result = await trainSft(
      model,
      model.namedParameters(),
      corpus.examples,
      {
        steps,
        lr: opts.lr,
        batchSize: opts.batch,
        warmupSteps: Math.min(200, Math.floor(steps / 20)),
        minLrRatio: 0.05,
        weightDecay: 0.01,
        maxGradNorm: 1,
        seed,
        evalData: corpus.evalSet,
        evalEvery: Math.max(1, Math.floor(steps / 10)),
        checkpointDir: run.cacheDir,
        checkpointEvery: Math.max(1, Math.floor(steps / 20)),
        resume: run.resume,
      },
      {
        signal: controller.signal,
        // Rate and ETA of this run's steps after --resume; eval losses shown.
        ...trainingHooks<StepInfo>(bar, io, run.json, (s) => ({
          loss: s.loss,
          'tok/s': Math.round(s.tokensPerSecond),
        })),
      },
    );
    bar.finish();
    return result;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function printDone(
  io: CommandIO,
  json: boolean,
  out: string,
  result: { finalLoss: number; evalLoss: number | null },
  accuracy: FamilyAccuracy[],
): void {
  if (json) {
    io.stdout(
      `${JSON.stringify({ event: 'done', out, finalLoss: result.finalLoss, evalLoss: result.evalLoss, accuracy })}\n`,
    );
    return;
  }
  const table = accuracy
    .map(
      (a) =>
        `  ${a.family.padEnd(8)} ${a.heldOut ? '(held out) ' : '           '}${(100 * a.accuracy).toFixed(1)}%`,
    )
    .join('\n');
  io.stdout(
    `saved ${out}: final loss ${result.finalLoss.toFixed(4)}, ${result.evalLoss === null ? 'no eval loss' : `eval loss ${result.evalLoss.toFixed(4)}`}\naccuracy (greedy, test split):\n${table}\n`,
  );
}
