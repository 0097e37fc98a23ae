import { noGrad } from '@t2/tensor-core';
import { installAdapter } from '../lib/adapters';
import { BACKEND_FLAG, backendUsage, useBackend } from '../lib/backend';
import { type Command, UsageError } from '../lib/command';
import { parseFlags, parseTokenList } from '../lib/flags';
import { loadModelForCli } from '../lib/load-model';

const TOP = 5;

/** Teacher-forced logits of a token sequence: the model's prediction after every prefix. */
export const logits: Command = {
  name: 'logits',
  summary: 'Print the logits a model gives at every position of a token sequence',
  usage:
    't2 logits --model PATH [--adapter DIR] (--tokens 1,2,3 | --prompt TEXT) [--json]\n\n' +
    '  --model PATH     Hugging Face folder or llama2.c .bin\n' +
    backendUsage(19) +
    '  --adapter DIR    PEFT adapter folder to apply (repeatable)\n' +
    '  --tokens LIST    token ids, comma-separated\n' +
    '  --prompt TEXT    text, tokenized with the folder tokenizer (BOS added as it specifies)\n' +
    '  --json           print {"logits": [[...], ...]}, one row per position, and nothing else\n' +
    '                   (default: the 5 likeliest next tokens at each position)',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' },
      adapter: { type: 'string', multiple: true },
      tokens: { type: 'string' },
      prompt: { type: 'string' },
      json: { type: 'boolean', default: false },
      ...BACKEND_FLAG,
    });
    if ((values.tokens === undefined) === (values.prompt === undefined)) {
      throw new UsageError('give exactly one of --tokens LIST or --prompt TEXT');
    }
    await useBackend(values);
    const { model, tokenizer } = await loadModelForCli(values.model, {
      adapters: values.adapter,
      installAdapter,
    });
    let ids: number[];
    if (values.tokens !== undefined) {
      ids = parseTokenList(values.tokens, model.config.vocabSize);
    } else {
      if (!tokenizer) throw new UsageError(`${values.model} has no tokenizer.json; pass --tokens`);
      ids = tokenizer.encode(values.prompt!);
      if (ids.length === 0) throw new UsageError('--prompt: the text encodes to no tokens');
    }
    if (ids.length > model.config.maxPositionEmbeddings) {
      throw new UsageError(
        `${ids.length} tokens exceed the model's ${model.config.maxPositionEmbeddings} positions`,
      );
    }
    const rows = noGrad(() => {
      const out = model.forward([ids]);
      const vocab = out.shape[2]!;
      return ids.map((_, t) => out.data.subarray(t * vocab, (t + 1) * vocab));
    });
    if (values.json) {
      io.stdout(`${JSON.stringify({ logits: rows.map((r) => Array.from(r)) })}\n`);
      return 0;
    }
    const label = (id: number) => {
      const piece = tokenizer?.idToToken(id);
      return piece === undefined ? String(id) : `${id} ${JSON.stringify(piece)}`;
    };
    io.stdout(
      `${ids.length} positions, vocabulary ${model.config.vocabSize}; top ${TOP} logits after each token (--json for all):\n`,
    );
    rows.forEach((row, t) => {
      const top = Array.from(row.keys())
        .sort((a, b) => row[b]! - row[a]! || a - b)
        .slice(0, TOP)
        .map((i) => `${label(i)}: ${row[i]!.toFixed(4)}`);
      io.stdout(`[${t}] ${label(ids[t]!)} → ${top.join(', ')}\n`);
    });
    return 0;
  },
};
