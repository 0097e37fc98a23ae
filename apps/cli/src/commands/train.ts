import * as bone from '@t2/adapters-bone';
import * as lora from '@t2/adapters-lora';
import type { LlamaForCausalLM, TextTokenizer } from '@t2/llama';
import { saveHfFolder } from '@t2/llama';
import { encodeExample, readSftJsonl, SftDataError, type StepInfo, trainSft } from '@t2/sft';
import { Rng, type Tensor } from '@t2/tensor-core';
import { loadModelForCli, parseFlags, parseNumber } from './model-path';
import { claimOutputDir } from './output-dir';
import { ProgressBar } from './progress';
import { type Command, type CommandIO, UsageError } from './types';

export const METHODS = ['bone', 'bat', 'lora', 'pissa', 'full'] as const;
export type Method = (typeof METHODS)[number];

/** A method's trainable parameters on a model, and how to write the result. */
export interface Trainable {
  params: [string, Tensor][];
  save(dir: string): Promise<void>;
}

/** Installs `method` on the model (adapters) or unfreezes it (full fine-tuning). */
export function prepareMethod(
  model: LlamaForCausalLM,
  method: Method,
  opts: { r: number; alpha?: number; targets: string | string[]; seed: number; baseModel: string },
): Trainable {
  const targetModules = opts.targets === 'all-linear' ? 'all-linear' : opts.targets;
  if (method === 'full') {
    model.requiresGrad(true);
    return { params: model.namedParameters(), save: (dir) => saveHfFolder(model, dir) };
  }
  if (method === 'bone' || method === 'bat') {
    const h = bone.inject(
      model,
      {
        r: opts.r,
        targetModules,
        initWeights: method === 'bat' ? 'bat' : true,
        baseModelNameOrPath: opts.baseModel,
      },
      { rng: new Rng(opts.seed) },
    );
    return { params: h.namedAdapterParameters(), save: (dir) => h.save(dir) };
  }
  // The seed fixes LoRA's Kaiming-uniform A, so runs are reproducible.
  const h = lora.inject(
    model,
    {
      r: opts.r,
      loraAlpha: opts.alpha ?? opts.r,
      targetModules,
      initLoraWeights: method === 'pissa' ? 'pissa' : true,
      baseModelNameOrPath: opts.baseModel,
    },
    { rng: new Rng(opts.seed) },
  );
  return { params: h.namedAdapterParameters(), save: (dir) => h.save(dir) };
}

/** Tokenized training data from a JSONL file; bad lines are reported as file:line: why. */
export async function loadSftData(
  path: string,
  tokenizer: TextTokenizer,
  maxLength: number,
  flag = '--data',
) {
  let encoded: ReturnType<typeof encodeExample>[];
  try {
    const examples = await readSftJsonl(path);
    encoded = examples.map((e) => encodeExample(e, tokenizer, { maxLength }));
  } catch (err) {
    if (err instanceof SftDataError) throw new UsageError(err.message);
    throw err;
  }
  // A run whose every target token is cut away would train nothing and "succeed".
  if (encoded.length > 0 && !encoded.some((e) => e.labels.slice(1).some((l) => l !== -100))) {
    const longestPrompt = Math.max(
      ...encoded.map((e) => e.labels.filter((l) => l === -100).length),
    );
    throw new UsageError(
      `${flag} ${path}: no example keeps a completion token within --max-length ${maxLength} (prompts are up to ${longestPrompt} tokens); raise --max-length`,
    );
  }
  return encoded;
}

export const train: Command = {
  name: 'train',
  summary: 'Fine-tune a model with Bone, BAT, LoRA, PiSSA or all weights on JSONL data',
  usage:
    't2 train --model PATH --method bone|bat|lora|pissa|full --data train.jsonl [--eval eval.jsonl] [--r R] [--alpha A] [--target q_proj,v_proj|all-linear] [--steps N] [--lr LR] [--batch B] [--grad-accum K] [--warmup W] [--eval-every N] [--max-length L] [--seed S] [--out DIR] [--overwrite] [--resume] [--json]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
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
      resume: { type: 'boolean', default: false },
      overwrite: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    const method = values.method as Method;
    if (!METHODS.includes(method))
      throw new UsageError(`--method must be one of ${METHODS.join(', ')}`);
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
    // Never into the model or the data; a non-empty folder only with --overwrite or --resume.
    const outDir = await claimOutputDir(out, {
      command: 't2 train',
      overwrite: values.overwrite,
      resume: values.resume,
      inputs: [
        { flag: '--model', path: values.model },
        { flag: '--data', path: values.data },
        { flag: '--eval', path: values.eval },
      ],
    });
    try {
      const { model, tokenizer, source } = await loadModelForCli(values.model);
      if (!tokenizer) {
        throw new UsageError(
          `${source} has no tokenizer.json: t2 train needs one to read text data`,
        );
      }
      const trainData = await loadSftData(values.data, tokenizer, maxLength);
      const evalData = values.eval
        ? await loadSftData(values.eval, tokenizer, maxLength, '--eval')
        : undefined;
      const trainable = prepareMethod(model, method, {
        r,
        alpha:
          values.alpha === undefined
            ? undefined
            : parseNumber(values.alpha, '--alpha', { min: 0, fallback: r }),
        targets:
          values.target === undefined || values.target === 'all-linear'
            ? 'all-linear'
            : values.target.split(','),
        seed,
        baseModel: source,
      });
      const numTrainable = trainable.params.reduce((n, [, p]) => n + p.size, 0);
      const say = (text: string) => (values.json ? io.stderr(text) : io.stdout(text));
      say(
        `t2 train: ${method} on ${source} — ${numTrainable.toLocaleString('en-US')} trainable parameters (${((100 * numTrainable) / model.numParameters()).toFixed(3)}% of ${model.numParameters().toLocaleString('en-US')}), ${trainData.length} examples\n`,
      );
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      const bar = new ProgressBar(steps, io.stderr, io.isTTY, { label: method, unit: 'steps' });
      const onStep = (s: StepInfo) => {
        if (values.json) io.stdout(`${JSON.stringify({ event: 'step', ...s })}\n`);
        else bar.update(s.step, { loss: s.loss, 'tok/s': Math.round(s.tokensPerSecond), lr: s.lr });
      };
      const onEval = (step: number, loss: number) => {
        if (values.json) io.stdout(`${JSON.stringify({ event: 'eval', step, loss })}\n`);
        else if (!io.isTTY) io.stderr(`eval at step ${step}: loss ${loss.toFixed(4)}\n`);
      };
      let result: Awaited<ReturnType<typeof trainSft>>;
      try {
        result = await trainSft(
          model,
          trainable.params,
          trainData,
          {
            steps,
            lr: parseNumber(values.lr, '--lr', {
              min: 0,
              fallback: method === 'full' ? 1e-4 : 1e-3,
            }),
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
            evalData,
            evalEvery: parseNumber(values['eval-every'], '--eval-every', {
              integer: true,
              min: 0,
              fallback: evalData ? Math.max(1, Math.floor(steps / 5)) : 0,
            }),
            seed,
            padId: model.config.padTokenId ?? 0,
            checkpointDir: `${out}/checkpoint`,
            checkpointEvery: Math.max(1, Math.floor(steps / 10)),
            resume: values.resume,
            extra: { method, r },
          },
          { onStep, onEval, signal: controller.signal },
        );
      } finally {
        process.off('SIGINT', onSigint);
      }
      bar.finish();
      if (result.stopped) {
        say(
          `stopped at step ${result.steps}/${steps}; the checkpoint is in ${out}/checkpoint — rerun with --resume to continue\n`,
        );
        return 130;
      }
      await trainable.save(out);
      const summary = {
        event: 'done',
        method,
        steps: result.steps,
        resumedFrom: result.resumedFrom,
        finalLoss: result.finalLoss,
        evalLoss: result.evalLoss,
        trainableParameters: numTrainable,
        tokensPerSecond: result.tokensPerSecond,
        wallSeconds: result.wallSeconds,
        out,
      };
      if (values.json) io.stdout(`${JSON.stringify(summary)}\n`);
      else printSummary(io, summary);
      return 0;
    } finally {
      await outDir.release();
    }
  },
};

function printSummary(io: CommandIO, s: Record<string, string | number | null>): void {
  io.stdout(
    `done: ${s.steps} steps${s.resumedFrom ? ` (resumed at ${s.resumedFrom})` : ''}, final train loss ${Number(s.finalLoss).toFixed(4)}` +
      `${s.evalLoss !== null ? `, eval loss ${Number(s.evalLoss).toFixed(4)}` : ''}, ${Math.round(Number(s.tokensPerSecond))} tokens/s, ${Number(s.wallSeconds).toFixed(1)} s\n` +
      `saved to ${s.out}\n`,
  );
}
