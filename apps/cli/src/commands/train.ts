import type { LlamaForCausalLM, TextTokenizer } from '@t2/llama';
import { encodeExample, readSftJsonl, SftDataError, type StepInfo, trainSft } from '@t2/sft';
import { Rng, type Tensor } from '@t2/tensor-core';
import { BACKEND_FLAG, backendUsage, useBackend } from '../lib/backend';
import { type Command, type CommandIO, UsageError } from '../lib/command';
import { parseFlags, parseNumber } from '../lib/flags';
import { saveCompleteFolder } from '../lib/hf-out';
import { loadModelForCli } from '../lib/load-model';
import { peftMethod, peftMethodNames } from '../lib/methods';
import { claimOutputDir } from '../lib/output-dir';
import { parameterShare } from '../lib/parameter-share';
import { ProgressBar, trainingHooks } from '../lib/progress';
import { parseTargets } from '../lib/targets';

/** Every `--method` name: the registered methods with PEFT folders (and variants), then `full`. */
export function trainMethodNames(): string[] {
  return [...peftMethodNames(), 'full'];
}

/** The `--method` names when the CLI loaded (the built-in methods; plugins add to `trainMethodNames()`). */
export const METHODS: readonly string[] = trainMethodNames();
export type Method = string;

/** A method's trainable parameters on a model, and how to write the result. */
export interface Trainable {
  params: [string, Tensor][];
  save(dir: string): Promise<void>;
}

/** `--method` help: each registered method with its variants ('bone (Bone; also bat)'). */
function methodList(): string {
  return peftMethodNames().join(', ');
}

/** Installs `method` on the model (adapters) or unfreezes it (full fine-tuning). */
export function prepareMethod(
  model: LlamaForCausalLM,
  method: Method,
  opts: {
    r: number;
    alpha?: number;
    targets: string | string[];
    seed: number;
    baseModel: string;
    /** The command line, for the README of a full fine-tune's folder. */
    command?: string;
  },
): Trainable {
  const targetModules = opts.targets === 'all-linear' ? 'all-linear' : opts.targets;
  if (method === 'full') {
    model.requiresGrad(true);
    return {
      params: model.namedParameters(),
      save: (dir) =>
        saveCompleteFolder(model, dir, {
          source: opts.baseModel,
          madeBy: `${opts.baseModel} fine-tuned (all weights) by \`t2 train --method full\`.`,
          command: opts.command ?? 't2 train --method full',
        }),
    };
  }
  const found = peftMethod(method);
  if (!found) throw new UsageError(unknownMethod(method));
  const config = found.config({
    variant: method,
    r: opts.r,
    alpha: opts.alpha,
    targetModules,
    baseModelNameOrPath: opts.baseModel,
  });
  // The seed fixes random starts (LoRA's Kaiming-uniform A), so runs are reproducible.
  const h = found.inject(model, config, { rng: new Rng(opts.seed) });
  if (h instanceof Promise)
    throw new Error(`${found.label}: inject must not be async for t2 train`);
  return { params: h.namedAdapterParameters(), save: (dir) => h.save(dir) };
}

function unknownMethod(method: string | undefined): string {
  return `--method must be one of ${trainMethodNames().join(', ')}${method === undefined ? '' : ` (unknown method '${method}')`}`;
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
      ...BACKEND_FLAG,
    });
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
      await useBackend(values.backend);
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
      const baseParameters = model.numParameters();
      const trainable = prepareMethod(model, method, {
        r,
        alpha:
          values.alpha === undefined
            ? undefined
            : parseNumber(values.alpha, '--alpha', { min: 0, fallback: r }),
        targets: parseTargets(values.target, model),
        seed,
        baseModel: source,
        command: `t2 train ${argv.join(' ')}`,
      });
      const numTrainable = trainable.params.reduce((n, [, p]) => n + p.size, 0);
      const say = (text: string) => (values.json ? io.stderr(text) : io.stdout(text));
      say(
        `t2 train: ${method} on ${source} — ${parameterShare(numTrainable, baseParameters)}, ${trainData.length} examples\n`,
      );
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      const bar = new ProgressBar(steps, io.stderr, io.isTTY, { label: method, unit: 'steps' });
      const { onStep, onEval } = trainingHooks<StepInfo>(bar, io, values.json);
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
