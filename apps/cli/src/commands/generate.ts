import { generate as generateTokens, type LlamaForCausalLM, type TextTokenizer } from '@t2/llama';
import { installAdapter } from '../lib/adapters';
import { BACKEND_FLAG, backendUsage, useBackend } from '../lib/backend';
import { type Command, type CommandIO, UsageError } from '../lib/command';
import { parseFlags, parseNumber, parseTokenList } from '../lib/flags';
import { loadModelForCli } from '../lib/load-model';

/** Text generation with the KV cache, streamed as it is produced. */
export const generate: Command = {
  name: 'generate',
  summary: 'Generate a continuation of a prompt, streaming it as it is produced',
  usage:
    't2 generate --model PATH [--adapter DIR] (--prompt TEXT | --tokens LIST) [options]\n\n' +
    '  --model PATH           Hugging Face folder or llama2.c .bin\n' +
    backendUsage() +
    '  --adapter DIR          PEFT adapter folder to apply (repeatable)\n' +
    '  --prompt TEXT          prompt text (needs the folder tokenizer)\n' +
    '  --tokens LIST          prompt token ids, comma-separated\n' +
    '  --chat                 wrap --prompt in the chat template as a user message\n' +
    '  --max-new-tokens N     at most N new tokens (default 64)\n' +
    '  --temperature T        0 decodes greedily (default 0)\n' +
    '  --top-p P              nucleus sampling (default 1: off)\n' +
    '  --top-k K              sample among the K most likely tokens (default 0: off)\n' +
    '  --seed S               sampling seed (default 0)\n' +
    '  --stop TEXT            stop when TEXT is produced (repeatable; needs a tokenizer)\n' +
    '  --multiline            keep going past the end of the first line (see below)\n' +
    '  --json                 print {"tokens", "text", "finishReason"} at the end instead of streaming\n\n' +
    'Generation ends at EOS, a --stop text or --max-new-tokens. A one-line --prompt (a task-style\n' +
    'prompt such as "12+35=") also ends at the end of its answer line, the newline not printed;\n' +
    '--multiline, --chat or a prompt with a newline in it lets it run on.',
  async run(argv, io) {
    const { values } = parseFlags(argv, GENERATE_FLAGS);
    if ((values.tokens === undefined) === (values.prompt === undefined)) {
      throw new UsageError('give exactly one of --prompt TEXT or --tokens LIST');
    }
    if (values.chat && values.prompt === undefined) throw new UsageError('--chat needs --prompt');
    const options = samplingOptions(values);
    await useBackend(values);
    const { model, tokenizer } = await loadModelForCli(values.model, {
      adapters: values.adapter,
      installAdapter,
    });
    const stopStrings = stopStringsFor(values, tokenizer);
    const prompt = promptTokens(values, model, tokenizer);
    const started = performance.now();
    const result = generateTokens(model, prompt, {
      ...options,
      tokenizer,
      stopStrings,
      onToken: values.json ? undefined : streamer(io, tokenizer),
    });
    const seconds = (performance.now() - started) / 1000;
    if (values.json) {
      io.stdout(
        `${JSON.stringify({ prompt, tokens: result.tokens, text: result.text, finishReason: result.finishReason })}\n`,
      );
    } else {
      io.stdout('\n');
      const rate = seconds > 0 ? (result.tokens.length / seconds).toFixed(1) : '∞';
      io.stderr(
        `[${result.tokens.length} tokens, ${rate} tok/s, finished: ${result.finishReason}]\n`,
      );
    }
    return 0;
  },
};

const GENERATE_FLAGS = {
  model: { type: 'string' },
  adapter: { type: 'string', multiple: true },
  prompt: { type: 'string' },
  tokens: { type: 'string' },
  chat: { type: 'boolean', default: false },
  'max-new-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-p': { type: 'string' },
  'top-k': { type: 'string' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
  multiline: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  ...BACKEND_FLAG,
} as const;

type GenerateValues = ReturnType<typeof parseFlags<typeof GENERATE_FLAGS>>['values'];

function samplingOptions(values: GenerateValues) {
  const options = {
    maxNewTokens: parseNumber(values['max-new-tokens'], '--max-new-tokens', {
      integer: true,
      min: 0,
      fallback: 64,
    }),
    temperature: parseNumber(values.temperature, '--temperature', { min: 0, fallback: 0 }),
    topP: parseNumber(values['top-p'], '--top-p', { min: 0, max: 1, fallback: 1 }),
    topK: parseNumber(values['top-k'], '--top-k', { integer: true, min: 0, fallback: 0 }),
    seed: parseNumber(values.seed, '--seed', { integer: true, min: 0, fallback: 0 }),
  };
  if (options.topP === 0) throw new UsageError('--top-p: expected a number in (0, 1], got 0');
  return options;
}

/** The --stop texts, plus the end of the line for a one-line task prompt ("12+35="). */
function stopStringsFor(values: GenerateValues, tokenizer: TextTokenizer | undefined): string[] {
  const stopStrings = [...(values.stop ?? [])];
  const answerLine =
    values.prompt !== undefined &&
    !values.chat &&
    !values.multiline &&
    !values.prompt.includes('\n') &&
    tokenizer !== undefined;
  if (answerLine && !stopStrings.includes('\n')) stopStrings.push('\n');
  if (stopStrings.length && !tokenizer)
    throw new UsageError('--stop needs a model folder with tokenizer.json');
  return stopStrings;
}

/** The prompt's token ids: --tokens as given, or --prompt encoded (in the chat template with --chat). */
function promptTokens(
  values: GenerateValues,
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer | undefined,
): number[] {
  let prompt: number[];
  if (values.tokens !== undefined) {
    prompt = parseTokenList(values.tokens, model.config.vocabSize);
  } else {
    if (!tokenizer) throw new UsageError(`${values.model} has no tokenizer.json; pass --tokens`);
    if (values.chat) {
      if (!tokenizer.hasChatTemplate) throw new UsageError(`${values.model} has no chat template`);
      // The rendered template already holds its special tokens.
      const text = tokenizer.applyChatTemplate([{ role: 'user', content: values.prompt! }]);
      prompt = tokenizer.encode(text, { addSpecialTokens: false });
    } else {
      prompt = tokenizer.encode(values.prompt!);
    }
    if (prompt.length === 0) throw new UsageError('--prompt: the text encodes to no tokens');
  }
  if (prompt.length >= model.config.maxPositionEmbeddings) {
    throw new UsageError(
      `the prompt's ${prompt.length} tokens leave no room in ${model.config.maxPositionEmbeddings} positions`,
    );
  }
  return prompt;
}

/** Prints each new token as it comes: its text, or its id when there is no tokenizer. */
function streamer(io: CommandIO, tokenizer: TextTokenizer | undefined) {
  let first = true;
  return (e: { token: number; text?: string }) => {
    if (tokenizer) {
      if (e.text) io.stdout(e.text);
    } else {
      io.stdout(`${first ? '' : ' '}${e.token}`);
      first = false;
    }
  };
}
