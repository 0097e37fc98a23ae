import { basename, extname, join } from 'node:path';
import { answerLine } from '@t2/tasks';
import { getBackend } from '@t2/tensor-core';
import type { StrategyName } from '@t2/transformer2-runtime';
import { BACKEND_FLAG, backendUsage, useBackend } from '../lib/backend';
import { DEFAULT_SVD_CACHE } from '../lib/cache-dirs';
import { type Command, UsageError } from '../lib/command';
import { parseFlags, parseNumber } from '../lib/flags';
import {
  CLASSIFIER_FILE,
  fewShotFlags,
  type OpenedRuntime,
  openRuntime,
  parseStrategy,
  RUNTIME_FLAGS,
  RUNTIME_USAGE,
  readShots,
} from '../lib/runtime';
import { cemProgress, renderTrace } from '../lib/trace-view';

/** Answers of the built-in tasks are short; user prompts get a little more room. */
const RUN_MAX_NEW_TOKENS = 16;

const USAGE =
  't2 run --model PATH --strategy none|prompt|classifier|few-shot --prompt TEXT [options]\n\n' +
  '  --model PATH           Hugging Face folder with tokenizer.json\n' +
  '  --prompt TEXT          the prompt to answer (e.g. "12+35=")\n' +
  '  --strategy NAME        how pass 1 picks the experts:\n' +
  '                           prompt      the base model names the category (classification prompt)\n' +
  `                           classifier  the classification expert (${CLASSIFIER_FILE}) names it\n` +
  '                           few-shot    α searched by CEM on --shots, cached per task\n' +
  '                           none        the base model answers\n' +
  '  --shots FILE           few-shot: JSONL of {"prompt", "answer"} (labelled examples of the task)\n' +
  '  --task ID              few-shot: the task id α is cached under (default the --shots file name);\n' +
  '                         a cached α is reused only for the same shots, model and experts\n' +
  RUNTIME_USAGE +
  `  --cache DIR            SVD factor cache (default ${DEFAULT_SVD_CACHE})\n` +
  '  --seed S               seeds the CEM search (default 0)\n' +
  `  --max-new-tokens N     answer length cap (default ${RUN_MAX_NEW_TOKENS})\n` +
  backendUsage() +
  '  --json                 print {"prompt", "answer", "output", "trace"} only';

const RUN_FLAGS = {
  model: { type: 'string' },
  prompt: { type: 'string' },
  strategy: { type: 'string' },
  shots: { type: 'string' },
  task: { type: 'string' },
  seed: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  json: { type: 'boolean', default: false },
  ...RUNTIME_FLAGS,
  ...BACKEND_FLAG,
} as const;

type RunValues = ReturnType<typeof parseFlags<typeof RUN_FLAGS>>['values'];

/** The few-shot task: `--task`, else the `--shots` file name; its examples when given. */
async function fewShotInput(values: RunValues, strategy: StrategyName) {
  if (strategy !== 'few-shot' && (values.shots !== undefined || values.task !== undefined)) {
    throw new UsageError('--shots and --task belong to --strategy few-shot');
  }
  const shots = values.shots === undefined ? undefined : await readShots(values.shots);
  const task =
    values.task ?? (values.shots ? basename(values.shots, extname(values.shots)) : undefined);
  if (strategy === 'few-shot' && task === undefined) {
    throw new UsageError(
      '--strategy few-shot needs --shots FILE (JSONL of {"prompt", "answer"} examples of the task), or --task ID of a task whose α is cached',
    );
  }
  return { shots, task };
}

/** Refuses a strategy the experts cannot serve: no classifier, or no α cached and no shots. */
function checkServable(
  opened: OpenedRuntime,
  strategy: StrategyName,
  fewShot: { shots: unknown; task: string | undefined; refresh: boolean },
): void {
  const { runtime } = opened;
  if (strategy === 'classifier' && !runtime.registry.classifier()) {
    throw new UsageError(
      `--strategy classifier needs the classification expert ${join(opened.expertsDir, CLASSIFIER_FILE)} (train it with t2 rl on classification data)`,
    );
  }
  if (
    strategy === 'few-shot' &&
    !fewShot.shots &&
    (fewShot.refresh || !runtime.alphaCache.has(fewShot.task!))
  ) {
    throw new UsageError(
      `--strategy few-shot: no α cached for task '${fewShot.task}' in ${opened.alphaCacheFile}; give --shots FILE with labelled examples to search it`,
    );
  }
}

export const run: Command = {
  name: 'run',
  summary: 'Answer a prompt with Transformer² (two passes over SVF experts) and show the trace',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseFlags(argv, RUN_FLAGS);
    const strategy = parseStrategy(values.strategy, ['none', 'prompt', 'classifier', 'few-shot']);
    if (values.prompt === undefined) throw new UsageError('--prompt TEXT is required');
    const fewShot = fewShotFlags(values);
    const maxNewTokens = parseNumber(values['max-new-tokens'], '--max-new-tokens', {
      integer: true,
      min: 1,
      fallback: RUN_MAX_NEW_TOKENS,
    });
    const { shots, task } = await fewShotInput(values, strategy);
    await useBackend(values);
    const opened = await openRuntime({
      model: values.model,
      experts: values.experts,
      svdCacheDir: values.cache,
      alphaCacheFile: values['alpha-cache'],
      mixing: values.mixing,
      maxNewTokens,
    });
    const { runtime, experts } = opened;
    checkServable(opened, strategy, { shots, task, refresh: values.refresh });
    if (!values.json) {
      const taskExperts = experts.filter((e) => e.role === 'task').map((e) => e.name);
      io.stdout(
        `t2 run: ${strategy} on ${values.model} (experts ${taskExperts.join(', ')}${runtime.registry.classifier() ? ' + classifier' : ''}; backend ${getBackend().name})\n`,
      );
    }
    const progress =
      strategy === 'few-shot' ? cemProgress(io, `CEM ${task}`, fewShot.iterations!) : undefined;
    let result: Awaited<ReturnType<typeof runtime.generate>>;
    try {
      result = await runtime.generate(values.prompt, {
        strategy,
        task,
        examples: shots,
        fewShot: { ...fewShot, onIteration: progress?.onIteration },
      });
    } catch (err) {
      // Wrong model/prompt combinations surface here (e.g. a prompt longer than the context).
      throw new UsageError((err as Error).message);
    }
    progress?.finish();
    const answer = answerLine(result.output);
    if (values.json) {
      io.stdout(
        `${JSON.stringify({ prompt: values.prompt, answer, output: result.output, trace: result.trace })}\n`,
      );
      return 0;
    }
    io.stdout(
      `\nprompt  ${values.prompt}\nanswer  ${answer === '' ? '(empty)' : answer}\n\ntrace\n`,
    );
    io.stdout(`${renderTrace(result.trace, experts).join('\n')}\n`);
    if (strategy === 'few-shot') io.stdout(`  ${'α cache'.padEnd(10)} ${opened.alphaCacheFile}\n`);
    return 0;
  },
};
