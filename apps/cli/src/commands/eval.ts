import { existsSync } from 'node:fs';
import * as svf from '@t2/adapters-svf';
import type { LlamaForCausalLM } from '@t2/llama';
import { decodeAnswer, generateAnswers } from '@t2/rl-reinforce';
import {
  type Evaluation,
  evaluate,
  type Sample,
  type Score,
  type Split,
  splitSamples,
  splits,
} from '@t2/tasks';
import { installAdapter } from './adapters';
import { loadModelForCli, parseFlags, parseNumber } from './model-path';
import { ProgressBar } from './progress';
import { parseRewardSpec } from './rewards';
import { DEFAULT_SVD_CACHE } from './rl';
import {
  answerBudget,
  codecOf,
  drawSamples,
  parseFamilies,
  readDataFile,
  stopTokenIds,
  TASK_MAX_NEW_TOKENS,
} from './task-data';
import { type Command, type CommandIO, UsageError } from './types';

const USAGE =
  't2 eval --model PATH (--task NAME[,NAME…] | --data FILE) [options]\n\n' +
  '  --model PATH           Hugging Face folder with tokenizer.json\n' +
  '  --task NAME            task families (comma-separated): --n distinct problems of --split\n' +
  '  --data FILE            JSONL of {"prompt", "answer", "category"?}: every line, or its --split\n' +
  '  --expert FILE          SVF expert (repeatable; several are mixed with --alpha)\n' +
  '  --alpha LIST           mixture weights, one per expert (default uniform)\n' +
  '  --adapter DIR          PEFT adapter folder (LoRA, Bone; repeatable)\n' +
  '  --reward SPEC          task (default with --task), exact (default with --data), numeric[:TOL],\n' +
  '                         regex[:PATTERN], module:FILE\n' +
  '  --n N                  problems per run for --task (default 100)\n' +
  '  --split NAME           train, validation or test (default test for --task; all lines for --data)\n' +
  '  --seed S               which problems are drawn (default 0)\n' +
  '  --max-new-tokens N     answer length cap (default 8 for tasks; from the data otherwise)\n' +
  '  --batch B              prompts decoded at once (default 16)\n' +
  `  --cache DIR            SVD factor cache (default ${DEFAULT_SVD_CACHE})\n` +
  '  --json                 print {"accuracy", "n", "correct", "meanReward", "perCategory", "perFamily"} only';

/** Applies `--expert` files: one is loaded as is, several are mixed in mask space. */
async function applyExperts(
  model: LlamaForCausalLM,
  paths: readonly string[],
  alpha: number[] | undefined,
  cacheDir: string,
): Promise<void> {
  const experts: svf.SvfExpert[] = [];
  for (const path of paths) {
    if (!existsSync(path)) throw new UsageError(`--expert ${path}: no such file`);
    try {
      // Checked against the plain weights first: a foreign base model fails before any SVD.
      experts.push(await svf.loadExpert(path, model));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const first = experts[0]!;
  const h = await svf.inject(model, {
    targetModules: [...first.z.keys()],
    maxMult: first.maxMult,
    cacheDir,
  });
  try {
    if (experts.length === 1 && !alpha) h.setExpert(first);
    else h.setMixture(experts, alpha ?? experts.map(() => 1 / experts.length));
  } catch (err) {
    throw new UsageError(`--expert: ${(err as Error).message}`);
  }
}

function parseAlpha(text: string, count: number): number[] {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const values = parts.map((p) => Number(p));
  if (parts.length === 0 || values.some((v) => !Number.isFinite(v))) {
    throw new UsageError(`--alpha: expected numbers separated by commas, got '${text}'`);
  }
  if (values.length !== count) {
    throw new UsageError(
      `--alpha: ${values.length} weights for ${count} expert${count === 1 ? '' : 's'}`,
    );
  }
  return values;
}

function scoreRow(name: string, s: Score, width: number): string {
  return `${name.padEnd(width)}  ${String(s.correct).padStart(7)}  ${String(s.total).padStart(5)}  ${s.accuracy.toFixed(3).padStart(8)}`;
}

function printTable(io: CommandIO, title: string, scores: Record<string, Score>): void {
  const names = Object.keys(scores).sort();
  const width = Math.max(title.length, ...names.map((n) => n.length));
  io.stdout(`\n${title.padEnd(width)}  correct  total  accuracy\n`);
  for (const name of names) io.stdout(`${scoreRow(name, scores[name]!, width)}\n`);
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Accuracy of a model (with SVF experts or adapters) on a task or JSONL data',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' },
      task: { type: 'string' },
      data: { type: 'string' },
      expert: { type: 'string', multiple: true },
      alpha: { type: 'string' },
      adapter: { type: 'string', multiple: true },
      reward: { type: 'string' },
      n: { type: 'string' },
      split: { type: 'string' },
      seed: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      batch: { type: 'string' },
      cache: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    if ((values.task === undefined) === (values.data === undefined)) {
      throw new UsageError('give exactly one of --task NAME or --data FILE');
    }
    const expertPaths = values.expert ?? [];
    const adapterDirs = values.adapter ?? [];
    if (expertPaths.length && adapterDirs.length) {
      throw new UsageError(
        '--expert and --adapter cannot be combined (both adapt the same layers)',
      );
    }
    const alpha =
      values.alpha === undefined ? undefined : parseAlpha(values.alpha, expertPaths.length);
    if (values.split !== undefined && !splits.includes(values.split as Split)) {
      throw new UsageError(`--split must be one of ${splits.join(', ')}`);
    }
    const seed = parseNumber(values.seed, '--seed', { integer: true, min: 0, fallback: 0 });
    const batch = parseNumber(values.batch, '--batch', { integer: true, min: 1, fallback: 16 });
    const fams = values.task === undefined ? undefined : parseFamilies(values.task);
    const reward = await parseRewardSpec(values.reward, { task: fams !== undefined });

    let samples: Sample[];
    let what: string;
    if (fams) {
      const n = parseNumber(values.n, '--n', { integer: true, min: 1, fallback: 100 });
      const split = (values.split ?? 'test') as Split;
      samples = drawSamples(fams, { n, seed, split, unique: true });
      what = `${fams.map((f) => f.name).join('+')} (${split} split, ${n} problems, seed ${seed})`;
    } else {
      if (values.n !== undefined)
        throw new UsageError('--n applies to --task; --data evaluates the file');
      const all = await readDataFile(values.data!);
      samples = values.split === undefined ? all : splitSamples(all)[values.split as Split];
      if (samples.length === 0)
        throw new UsageError(`--data ${values.data}: no samples in the ${values.split} split`);
      what = `${values.data} (${values.split === undefined ? 'all' : `${values.split} split,`} ${samples.length} samples)`;
    }
    reward.check(samples, values.data ?? 'the task');

    const { model, tokenizer, source } = await loadModelForCli(values.model, {
      adapters: adapterDirs,
      installAdapter,
    });
    if (!tokenizer)
      throw new UsageError(
        `${source} has no tokenizer.json: t2 eval needs one to read text prompts`,
      );
    const cacheDir = values.cache ?? DEFAULT_SVD_CACHE;
    if (expertPaths.length) await applyExperts(model, expertPaths, alpha, cacheDir);
    const maxNewTokens = parseNumber(values['max-new-tokens'], '--max-new-tokens', {
      integer: true,
      min: 1,
      fallback: fams ? TASK_MAX_NEW_TOKENS : answerBudget(tokenizer, samples),
    });

    // Greedy answers, decoded in batches; scoring then follows each sample's family rules.
    const codec = codecOf(tokenizer);
    const stops = stopTokenIds(tokenizer, model.config.eosTokenIds);
    const bar = new ProgressBar(samples.length, io.stderr, io.isTTY, {
      label: 'eval',
      unit: 'prompts',
    });
    const outputs: string[] = [];
    for (let start = 0; start < samples.length; start += batch) {
      const chunk = samples.slice(start, start + batch);
      const answers = generateAnswers(
        model,
        chunk.map((s) => codec.encode(s.prompt)),
        {
          maxNewTokens,
          temperature: 0,
          eosTokenIds: stops,
          padTokenId: model.config.padTokenId ?? 0,
        },
      );
      for (const a of answers) outputs.push(decodeAnswer(codec, a, stops));
      bar.update(outputs.length);
    }
    bar.finish();
    let next = 0;
    const result: Evaluation = await evaluate(samples, async () => outputs[next++]!, {
      reward: reward.rewardFn,
    });

    if (values.json) {
      const { accuracy, total, correct, meanReward, perCategory, perFamily } = result;
      io.stdout(
        `${JSON.stringify({ accuracy, n: total, correct, meanReward, perCategory, perFamily })}\n`,
      );
      return 0;
    }
    const using = expertPaths.length
      ? ` with expert${expertPaths.length > 1 ? `s ${expertPaths.join(', ')} (alpha ${(alpha ?? expertPaths.map(() => 1 / expertPaths.length)).map((a) => a.toFixed(3)).join(', ')})` : ` ${expertPaths[0]}`}`
      : adapterDirs.length
        ? ` with adapter ${adapterDirs.join(', ')}`
        : '';
    io.stdout(`t2 eval: ${what} on ${source}${using}, reward ${reward.spec}\n`);
    io.stdout(
      `accuracy ${result.accuracy.toFixed(3)} (${result.correct}/${result.total}), mean reward ${result.meanReward.toFixed(3)}\n`,
    );
    printTable(io, 'category', result.perCategory);
    if (Object.keys(result.perFamily).length > 1) printTable(io, 'family', result.perFamily);
    return 0;
  },
};
