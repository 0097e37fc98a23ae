import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConfig, LlamaForCausalLM, saveHfFolder } from '@t2/llama';
import { Rng } from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main';
import { wordLevelTokenizerJson } from './tiny-model';

const shared =
  process.env.T2_SHARED ?? fileURLToPath(new URL('../../../../shared/', import.meta.url));
const fixture = join(shared, 'fixtures/stories260K');
const greedy = (
  JSON.parse(readFileSync(join(fixture, 'reference.json'), 'utf8')) as { greedy_from_bos: number[] }
).greedy_from_bos;

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const chunks: string[] = [];
  const code = await main(argv, {
    stdout: (t) => {
      stdout += t;
      chunks.push(t);
    },
    stderr: (t) => (stderr += t),
    isTTY: false,
  });
  return { code, stdout, stderr, chunks };
}

/** A word-level tokenizer over a few words, with BOS added and a chat template. */
function writeTokenizer(dir: string) {
  const words = [
    '<unk>',
    '<s>',
    '</s>',
    'once',
    'upon',
    'a',
    'time',
    'there',
    'was',
    'cat',
    'dog',
    '.',
  ];
  const tokenizer = wordLevelTokenizerJson(words);
  const config = {
    bos_token: '<s>',
    eos_token: '</s>',
    chat_template: '{{ bos_token }}{% for m in messages %}{{ m.content }} .{% endfor %}',
  };
  return Promise.all([
    writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer)),
    writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config)),
  ]);
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-cli-generate-'));
  const config = createConfig({
    hiddenSize: 16,
    intermediateSize: 32,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    vocabSize: 12,
    maxPositionEmbeddings: 64,
    eosTokenIds: [2],
  });
  const model = new LlamaForCausalLM(config, { rng: new Rng(3) });
  for (const [name, t] of model.namedParameters()) {
    if (name === 'model.embed_tokens.weight')
      for (let i = 0; i < t.size; i++) t.data[i] = ((i * 7919) % 13) / 6 - 1;
  }
  await saveHfFolder(model, dir);
  await writeTokenizer(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('t2 generate', () => {
  it.each([
    ['llama2.c .bin', join(fixture, 'stories260K.bin')],
    ['Hugging Face folder', join(fixture, 'hf')],
  ])('streams the greedy llama2.c sequence as token ids (%s)', async (_name, model) => {
    const out = await run([
      'generate',
      '--model',
      model,
      '--tokens',
      '1',
      '--max-new-tokens',
      '32',
    ]);
    expect(out.code).toBe(0);
    expect(out.stdout.trim().split(' ').map(Number)).toEqual(greedy.slice(1));
    expect(out.chunks.length).toBeGreaterThan(30);
    expect(out.stderr).toMatch(/32 tokens, .* tok\/s, finished: length/);
  });

  it('--json prints only the result', async () => {
    const out = await run([
      'generate',
      '--model',
      join(fixture, 'stories260K.bin'),
      '--tokens',
      '1',
      '--max-new-tokens',
      '5',
      '--json',
    ]);
    expect(JSON.parse(out.stdout)).toEqual({
      prompt: [1],
      tokens: greedy.slice(1, 6),
      text: null,
      finishReason: 'length',
    });
  });

  it('streams text from a --prompt through the folder tokenizer, as --json reports it', async () => {
    const args = [
      'generate',
      '--model',
      dir,
      '--prompt',
      'once upon a time',
      '--max-new-tokens',
      '12',
      '--temperature',
      '0.9',
      '--seed',
      '4',
    ];
    const streamed = await run(args);
    expect(streamed.code).toBe(0);
    const json = await run([...args, '--json']);
    const result = JSON.parse(json.stdout);
    expect(result.prompt).toEqual([1, 3, 4, 5, 6]);
    expect(streamed.stdout).toBe(`${result.text}\n`);
    const again = await run([...args, '--json']);
    expect(again.stdout).toBe(json.stdout);
    const other = await run([...args.slice(0, -1), '5', '--json']);
    expect(other.stdout).not.toBe(json.stdout);
  });

  it('applies the chat template and stop strings', async () => {
    const base = [
      'generate',
      '--model',
      dir,
      '--max-new-tokens',
      '16',
      '--temperature',
      '1.2',
      '--seed',
      '1',
      '--json',
    ];
    const chat = JSON.parse((await run([...base, '--prompt', 'cat', '--chat'])).stdout);
    expect(chat.prompt).toEqual([1, 9, 11]);
    const free = JSON.parse((await run([...base, '--prompt', 'dog'])).stdout);
    const words = (free.text as string).split(' ');
    expect(words.length).toBeGreaterThan(3);
    const stop = words[2]!;
    const stopped = JSON.parse((await run([...base, '--prompt', 'dog', '--stop', stop])).stdout);
    expect(stopped.finishReason).toBe('stop');
    expect(stopped.text).toBe((free.text as string).slice(0, (free.text as string).indexOf(stop)));
  });

  it('rejects bad options', async () => {
    const bin = join(fixture, 'stories260K.bin');
    const cases: [string[], RegExp][] = [
      [['--model', bin], /exactly one of --prompt TEXT or --tokens LIST/],
      [['--model', bin, '--prompt', 'hi'], /no tokenizer\.json/],
      [
        ['--model', bin, '--tokens', '1', '--temperature=-1'],
        /--temperature: expected a number ≥ 0/,
      ],
      [['--model', bin, '--tokens', '1', '--top-p', '0'], /--top-p/],
      [
        ['--model', bin, '--tokens', '1', '--max-new-tokens', '2.5'],
        /--max-new-tokens: expected an integer/,
      ],
      [
        ['--model', bin, '--tokens', '1', '--stop', 'x'],
        /--stop needs a model folder with tokenizer\.json/,
      ],
      [['--model', bin, '--tokens', '1', '--chat'], /--chat needs --prompt/],
    ];
    for (const [args, message] of cases) {
      const out = await run(['generate', ...args]);
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stderr).toMatch(message);
    }
  });
});
