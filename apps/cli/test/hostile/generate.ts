/**
 * Generates the hostile-input corpus of issue #16 into a folder: broken and malicious
 * checkpoints, configs, tokenizers, PEFT folders, SVF experts and JSONL files, each with
 * the `t2` command that reads it and what must happen (refused with a one-line reason that
 * names the file, or handled correctly). Nothing large is committed: a "1.5 GB" tensor is a
 * header over a sparse file.
 *
 *   npx tsx apps/cli/test/hostile/generate.ts OUT_DIR    (writes the files and cases.json)
 *
 * apps/cli/test/hostile.test.ts runs every case (part of `npm test`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as lora from '@t2/adapters-lora';
import * as svf from '@t2/adapters-svf';
import { loadModel } from '@t2/llama';
import { writeTinyModelFolder } from '../tiny-model';

export type HostileClass =
  | 'strict-safetensors'
  | 'header-before-data'
  | 'non-regular-files'
  | 'config'
  | 'tokenizer'
  | 'non-finite'
  | 'adapter'
  | 'svf-expert'
  | 'data'
  | 'messages';

export interface HostileCase {
  cls: HostileClass;
  name: string;
  argv: string[];
  /** `refused`: exit 2, one stderr line naming `names`; `ok`: exit 0. */
  expect: 'refused' | 'ok';
  /** What the stderr line must match (refused) or stdout (ok). */
  match?: string;
  /** A path (or file name) the message must contain. */
  names?: string;
  /** Run as a child process and record its peak memory and time. */
  measure?: boolean;
}

const TOKENS = ['--tokens', '1,5,6'];

interface St {
  header: Record<string, unknown>;
  data: Buffer;
}

async function readSt(file: string): Promise<St> {
  const bytes = await readFile(file);
  const n = Number(bytes.readBigUInt64LE(0));
  return {
    header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')),
    data: bytes.subarray(8 + n),
  };
}

/** Writes header text (as given) and data; `length` overrides the u64 header length. */
async function writeStRaw(
  file: string,
  headerText: string,
  data: Buffer,
  length?: bigint,
): Promise<void> {
  const json = Buffer.from(headerText, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(length ?? BigInt(json.byteLength));
  await writeFile(file, Buffer.concat([len, json, data]));
}

async function writeSt(file: string, st: St): Promise<void> {
  await writeStRaw(file, JSON.stringify(st.header), st.data);
}

type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };

export async function generateHostileCases(root: string): Promise<HostileCase[]> {
  await mkdir(root, { recursive: true });
  const base = await writeTinyModelFolder(join(root, 'base'), { dim: 16, layers: 2 });
  const other = await writeTinyModelFolder(join(root, 'other-base'), {
    dim: 16,
    layers: 2,
    seed: 9,
  });
  const cases: HostileCase[] = [];
  const add = (c: HostileCase) => cases.push(c);
  let n = 0;
  /** A copy of the base model, changed by `mutate`, in a fresh folder. */
  const variant = async (mutate: (dir: string) => Promise<void>): Promise<string> => {
    const dir = join(root, `m${String(n++).padStart(2, '0')}`);
    await cp(base, dir, { recursive: true });
    await mutate(dir);
    return dir;
  };
  const weights = (dir: string) => join(dir, 'model.safetensors');
  const editSt = (fn: (st: St) => void | Promise<void>) => async (dir: string) => {
    const st = await readSt(weights(dir));
    await fn(st);
    await writeSt(weights(dir), st);
  };
  const editJson =
    (file: string, fn: (j: Record<string, unknown>) => void) => async (dir: string) => {
      const j = JSON.parse(await readFile(join(dir, file), 'utf8'));
      fn(j);
      await writeFile(join(dir, file), JSON.stringify(j));
    };
  const logits = (dir: string) => ['logits', '--model', dir, ...TOKENS, '--json'];
  const entries = (st: St) =>
    Object.entries(st.header).filter(([k]) => k !== '__metadata__') as [string, Entry][];
  const last = (st: St) =>
    entries(st).sort((a, b) => b[1].data_offsets[0] - a[1].data_offsets[0])[0]!;
  const Q = 'model.layers.0.self_attn.q_proj.weight';
  const entryOf = (st: St, name: string) => st.header[name] as Entry;

  // ── strict safetensors: what the reference reader refuses ──────────────────────────
  const strict = async (name: string, match: string, mutate: (dir: string) => Promise<void>) => {
    const dir = await variant(mutate);
    add({
      cls: 'strict-safetensors',
      name,
      argv: logits(dir),
      expect: 'refused',
      match,
      names: weights(dir),
    });
  };
  await strict('duplicate tensor name (JSON keeps the last)', 'twice', async (dir) => {
    const st = await readSt(weights(dir));
    const text = JSON.stringify(st.header);
    const dup = `${JSON.stringify(Q)}:${JSON.stringify(st.header[Q])}`;
    await writeStRaw(weights(dir), `${text.slice(0, -1)},${dup}}`, st.data);
  });
  await strict('duplicate __metadata__ key', 'twice', async (dir) => {
    const st = await readSt(weights(dir));
    const text = JSON.stringify(st.header);
    await writeStRaw(weights(dir), `{"__metadata__":{"format":"pt"},${text.slice(1)}`, st.data);
  });
  await strict(
    'hole between two tensors',
    'hole',
    editSt((st) => {
      const [, e] = last(st);
      const [b, end] = e.data_offsets;
      e.data_offsets = [b + 8, end + 8];
      st.data = Buffer.concat([st.data.subarray(0, b), Buffer.alloc(8), st.data.subarray(b)]);
    }),
  );
  await strict(
    'trailing bytes after the last tensor',
    'follow the last tensor',
    editSt((st) => {
      st.data = Buffer.concat([st.data, Buffer.from('appended garbage')]);
    }),
  );
  await strict(
    'hole before the first tensor',
    'hole',
    editSt((st) => {
      for (const [, e] of entries(st))
        e.data_offsets = [e.data_offsets[0] + 4, e.data_offsets[1] + 4];
      st.data = Buffer.concat([Buffer.alloc(4), st.data]);
    }),
  );
  await strict('truncated file', 'truncated|outside the data buffer', async (dir) => {
    const bytes = await readFile(weights(dir));
    await writeFile(weights(dir), bytes.subarray(0, bytes.byteLength - 100));
  });
  await strict('header length past the end of the file', 'runs past the end', async (dir) => {
    const st = await readSt(weights(dir));
    await writeStRaw(weights(dir), JSON.stringify(st.header), st.data, 10n ** 7n);
  });
  await strict('header length of 2^40', 'implausible', async (dir) => {
    const st = await readSt(weights(dir));
    await writeStRaw(weights(dir), JSON.stringify(st.header), st.data, 2n ** 40n);
  });
  await strict('header is not JSON', 'not valid JSON', async (dir) => {
    const st = await readSt(weights(dir));
    await writeStRaw(weights(dir), `{"a": ${'['.repeat(3)}`, st.data);
  });
  await strict('header is a JSON list', 'not a JSON object', async (dir) => {
    await writeStRaw(weights(dir), '[1,2,3]', Buffer.alloc(0));
  });
  await strict(
    'overlapping tensors',
    'overlap',
    editSt((st) => {
      const [a, b] = entries(st).sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0]);
      const span = a![1].data_offsets[1] - a![1].data_offsets[0];
      if (b![1].data_offsets[1] - b![1].data_offsets[0] === span)
        b![1].data_offsets = a![1].data_offsets;
      else
        b![1].data_offsets = [
          a![1].data_offsets[0],
          a![1].data_offsets[0] + (b![1].data_offsets[1] - b![1].data_offsets[0]),
        ];
    }),
  );
  await strict(
    'unknown dtype',
    "unknown dtype 'Q4'",
    editSt((st) => {
      entryOf(st, Q).dtype = 'Q4';
    }),
  );
  await strict(
    'span does not match shape × dtype',
    'needs',
    editSt((st) => {
      entryOf(st, Q).shape = [entryOf(st, Q).shape[0]! + 1, entryOf(st, Q).shape[1]!];
    }),
  );
  await strict(
    'metadata value that is not a string',
    'not a string',
    editSt((st) => {
      st.header.__metadata__ = { format: 'pt', step: 3 };
    }),
  );
  await strict('empty file', 'too short', async (dir) => {
    await writeFile(weights(dir), '');
  });

  // ── header checked against the config before any tensor data is read ──────────────
  const hugeDir = await variant(
    editSt((st) => {
      // A "1.5 GB" tensor t2 does not know; the file is sparse, so nothing is on the disk.
      const end = st.data.byteLength;
      const numel = 393_216_000;
      st.header['model.extra_head.weight'] = {
        dtype: 'F32',
        shape: [numel],
        data_offsets: [end, end + numel * 4],
      };
    }),
  );
  await truncate(weights(hugeDir), (await readFile(weights(hugeDir))).byteLength + 393_216_000 * 4);
  add({
    cls: 'header-before-data',
    name: 'unknown 1.5 GB tensor (sparse file): refused from the header',
    argv: logits(hugeDir),
    expect: 'refused',
    match: "unexpected tensor 'model.extra_head.weight'",
    names: weights(hugeDir),
    measure: true,
  });
  add({
    cls: 'header-before-data',
    name: 'num_hidden_layers 10000000',
    argv: logits(await variant(editJson('config.json', (j) => (j.num_hidden_layers = 10_000_000)))),
    expect: 'refused',
    match: 'num_hidden_layers is 10000000, but .* holds 2 layers',
    names: 'config.json',
    measure: true,
  });
  add({
    cls: 'header-before-data',
    name: 'hidden_size that the weights do not have',
    argv: logits(
      await variant(
        editJson('config.json', (j) => {
          j.hidden_size = 32;
          j.intermediate_size = 64;
        }),
      ),
    ),
    expect: 'refused',
    match: 'has shape .* the config implies',
    names: 'model.safetensors',
  });
  add({
    cls: 'header-before-data',
    name: 'integer dtype for a weight',
    argv: logits(
      await variant(
        editSt((st) => {
          entryOf(st, Q).dtype = 'I32';
        }),
      ),
    ),
    expect: 'refused',
    match: 'dtype I32; weights must be',
    names: 'model.safetensors',
  });
  add({
    cls: 'header-before-data',
    name: 'a missing layer tensor',
    argv: logits(
      await variant(
        editSt((st) => {
          // Rename: the file stays well formed, the model lacks one weight.
          st.header['model.layers.1.mlp.up_proj.weightX'] =
            st.header['model.layers.1.mlp.up_proj.weight'];
          delete st.header['model.layers.1.mlp.up_proj.weight'];
        }),
      ),
    ),
    expect: 'refused',
    match: "missing tensor 'model.layers.1.mlp.up_proj.weight'",
    names: 'model.safetensors',
  });
  add({
    cls: 'header-before-data',
    name: 'sharded index naming a shard that is not there',
    argv: logits(
      await variant(async (dir) => {
        const st = await readSt(weights(dir));
        const map = Object.fromEntries(
          entries(st).map(([k]) => [k, 'model-00001-of-00002.safetensors']),
        );
        await writeFile(
          join(dir, 'model.safetensors.index.json'),
          JSON.stringify({ weight_map: map }),
        );
        execFileSync('rm', [weights(dir)]);
      }),
    ),
    expect: 'refused',
    match: 'shard .* is missing',
    names: 'model.safetensors.index.json',
  });
  add({
    cls: 'header-before-data',
    name: 'llama2.c header claiming a huge model over a small file',
    argv: [
      'logits',
      '--model',
      await (async () => {
        const f = join(root, 'huge.bin');
        const h = Buffer.alloc(28 + 64);
        [4096, 11008, 32, 32, 32, 32000, 2048].forEach((v, i) => {
          h.writeInt32LE(v, i * 4);
        });
        await writeFile(f, h);
        return f;
      })(),
      ...TOKENS,
    ],
    expect: 'refused',
    match: 'truncated: 92 bytes, the header implies',
    names: 'huge.bin',
    measure: true,
  });

  // ── non-regular files and wrong kinds of paths ─────────────────────────────────────
  add({
    cls: 'non-regular-files',
    name: '--model /dev/zero',
    argv: ['logits', '--model', '/dev/zero', ...TOKENS],
    expect: 'refused',
    match: 'not a regular file or folder',
    names: '/dev/zero',
    measure: true,
  });
  const fifoDir = await variant(async (dir) => {
    execFileSync('rm', [weights(dir)]);
    execFileSync('mkfifo', [weights(dir)]);
  });
  add({
    cls: 'non-regular-files',
    name: 'model.safetensors is a named pipe',
    argv: logits(fifoDir),
    expect: 'refused',
    match: 'is not a regular file',
    names: fifoDir,
  });
  add({
    cls: 'non-regular-files',
    name: 'model.safetensors is a folder',
    argv: logits(
      await variant(async (dir) => {
        execFileSync('rm', [weights(dir)]);
        await mkdir(weights(dir));
      }),
    ),
    expect: 'refused',
    match: 'model.safetensors: is a folder, expected a .safetensors file',
  });
  const fifoModel = join(root, 'model.fifo');
  execFileSync('mkfifo', [fifoModel]);
  add({
    cls: 'non-regular-files',
    name: '--model a named pipe',
    argv: ['logits', '--model', fifoModel, ...TOKENS],
    expect: 'refused',
    match: 'not a regular file or folder',
    names: fifoModel,
  });
  const zeroLink = (file: string) => async (dir: string) => {
    execFileSync('rm', ['-f', join(dir, file)]);
    execFileSync('ln', ['-s', '/dev/zero', join(dir, file)]);
  };
  for (const file of ['config.json', 'tokenizer.json', 'generation_config.json']) {
    add({
      cls: 'non-regular-files',
      name: `${file} a symlink to /dev/zero`,
      argv: logits(await variant(zeroLink(file))),
      expect: 'refused',
      match: 'is not a regular file',
      names: file,
    });
  }
  add({
    cls: 'non-regular-files',
    name: 'model.safetensors.index.json a symlink to /dev/zero',
    argv: logits(
      await variant(async (dir) => {
        execFileSync('rm', [weights(dir)]);
        await zeroLink('model.safetensors.index.json')(dir);
      }),
    ),
    expect: 'refused',
    match: 'is not a regular file',
    names: 'model.safetensors.index.json',
  });
  add({
    cls: 'non-regular-files',
    name: '--model a path through a file',
    argv: ['logits', '--model', join(weights(base), 'inner'), ...TOKENS],
    expect: 'refused',
    match: 'not a folder',
    names: 'model.safetensors/inner',
  });
  add({
    cls: 'non-regular-files',
    name: '--model that does not exist',
    argv: ['logits', '--model', join(root, 'no-such-model'), ...TOKENS],
    expect: 'refused',
    match: 'not found',
    names: 'no-such-model',
  });

  // ── config.json ────────────────────────────────────────────────────────────────────
  const config = async (name: string, match: string, fn: (j: Record<string, unknown>) => void) =>
    add({
      cls: 'config',
      name,
      argv: logits(await variant(editJson('config.json', fn))),
      expect: 'refused',
      match,
      names: 'config.json',
    });
  await config('rope_parameters.rope_theta 0', 'rope_parameters.rope_theta', (j) => {
    j.rope_parameters = { rope_type: 'default', rope_theta: 0 };
  });
  await config('rope_parameters.rope_theta −10000', 'rope_parameters.rope_theta', (j) => {
    j.rope_parameters = { rope_type: 'default', rope_theta: -10000 };
  });
  await config('rope_parameters.rope_theta a string', 'rope_parameters.rope_theta', (j) => {
    j.rope_parameters = { rope_type: 'default', rope_theta: '1e4' };
  });
  await config('top-level rope_theta −1', "'rope_theta' must be a positive number", (j) => {
    j.rope_theta = -1;
  });
  await config(
    'bos_token_id outside the vocabulary',
    "'bos_token_id' 5000 is outside the vocabulary",
    (j) => {
      j.bos_token_id = 5000;
    },
  );
  await config('pad_token_id outside the vocabulary', "'pad_token_id' 99999 is outside", (j) => {
    j.pad_token_id = 99999;
  });
  await config('an eos_token_id outside the vocabulary', "'eos_token_id' 4096 is outside", (j) => {
    j.eos_token_id = [2, 4096];
  });
  await config(
    'max_position_embeddings 10^15',
    "'max_position_embeddings' must be an integer",
    (j) => {
      j.max_position_embeddings = 1e15;
    },
  );
  await config(
    'heads that do not divide hidden_size',
    'not a multiple of num_attention_heads',
    (j) => {
      j.num_attention_heads = 5;
      j.num_key_value_heads = 5;
      delete j.head_dim;
    },
  );
  await config('num_attention_heads a string', "'num_attention_heads' must be an integer", (j) => {
    j.num_attention_heads = '4';
  });
  add({
    cls: 'config',
    name: 'config.json is not JSON',
    argv: logits(
      await variant(async (dir) => writeFile(join(dir, 'config.json'), '{"model_type": "llama",')),
    ),
    expect: 'refused',
    match: 'invalid JSON',
    names: 'config.json',
  });
  add({
    cls: 'config',
    name: 'config.json is a list',
    argv: logits(await variant(async (dir) => writeFile(join(dir, 'config.json'), '[]'))),
    expect: 'refused',
    match: 'expected a JSON object',
    names: 'config.json',
  });

  // ── tokenizer.json ─────────────────────────────────────────────────────────────────
  const tokenizer = async (name: string, match: string, fn: (j: Record<string, unknown>) => void) =>
    add({
      cls: 'tokenizer',
      name,
      argv: logits(await variant(editJson('tokenizer.json', fn))),
      expect: 'refused',
      match,
      names: 'tokenizer.json',
    });
  const modelOf = (j: Record<string, unknown>) => j.model as Record<string, unknown>;
  await tokenizer('BPE vocab is a list', 'must be an object \\{token: id\\}', (j) => {
    modelOf(j).vocab = Object.keys(modelOf(j).vocab as object);
  });
  await tokenizer('WordLevel vocab is a list', 'must be an object \\{token: id\\}', (j) => {
    j.model = {
      type: 'WordLevel',
      vocab: Object.keys(modelOf(j).vocab as object),
      unk_token: '<unk>',
    };
  });
  await tokenizer(
    'post-processor special token not in the vocabulary',
    "names the special token '<bos>'",
    (j) => {
      j.post_processor = {
        type: 'TemplateProcessing',
        single: [
          { SpecialToken: { id: '<bos>', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
        ],
        pair: [],
        special_tokens: { '<bos>': { id: '<bos>', ids: [1], tokens: ['<bos>'] } },
      };
    },
  );
  await tokenizer(
    'post-processor special token with another id',
    "gives '<s>' id 7, the vocabulary has 1",
    (j) => {
      (j.post_processor as { special_tokens: Record<string, { ids: number[] }> }).special_tokens[
        '<s>'
      ]!.ids = [7];
    },
  );
  await tokenizer(
    'template using an undefined special token',
    "uses the special token '<cls>'",
    (j) => {
      (j.post_processor as { single: unknown[] }).single.unshift({
        SpecialToken: { id: '<cls>', type_id: 0 },
      });
    },
  );
  await tokenizer('vocab ids that are not integers', 'must be a token id', (j) => {
    (modelOf(j).vocab as Record<string, unknown>).a = 'five';
  });
  add({
    cls: 'tokenizer',
    name: 'tokenizer.json is not JSON',
    argv: logits(
      await variant(async (dir) => writeFile(join(dir, 'tokenizer.json'), '{"model": ')),
    ),
    expect: 'refused',
    match: 'invalid JSON',
    names: 'tokenizer.json',
  });

  // ── non-finite values ──────────────────────────────────────────────────────────────
  const poison = (name: string, value: number, index = 3) =>
    editSt((st) => {
      const e = entryOf(st, name);
      st.data.writeFloatLE(value, e.data_offsets[0] + index * 4);
    });
  const nanModel = await variant(poison(Q, Number.NaN));
  add({
    cls: 'non-finite',
    name: 'NaN in a weight',
    argv: logits(nanModel),
    expect: 'refused',
    match: `tensor '${Q.replace(/\./g, '\\.')}': holds NaN at \\[0, 3\\]`,
    names: 'model.safetensors',
  });
  add({
    cls: 'non-finite',
    name: '+Infinity in the embedding',
    argv: logits(await variant(poison('model.embed_tokens.weight', Number.POSITIVE_INFINITY, 40))),
    expect: 'refused',
    match: 'holds Infinity at \\[2, 8\\]',
    names: 'model.safetensors',
  });
  add({
    cls: 'non-finite',
    name: '−Infinity in a norm weight',
    argv: logits(await variant(poison('model.norm.weight', Number.NEGATIVE_INFINITY, 0))),
    expect: 'refused',
    match: "model\\.norm\\.weight': holds -Infinity",
    names: 'model.safetensors',
  });
  {
    // llama2.c checkpoints are scanned too (stories260K from the shared fixtures).
    const shared =
      process.env.T2_SHARED ?? fileURLToPath(new URL('../../../../../shared', import.meta.url));
    const bin = join(shared, 'fixtures/stories260K/stories260K.bin');
    if (existsSync(bin)) {
      const bytes = await readFile(bin);
      bytes.writeFloatLE(Number.NaN, 28 + 4 * 100);
      const f = join(root, 'nan-stories.bin');
      await writeFile(f, bytes);
      add({
        cls: 'non-finite',
        name: 'NaN in a llama2.c checkpoint',
        argv: ['logits', '--model', f, '--tokens', '1,2'],
        expect: 'refused',
        match: "tensor 'model\\.embed_tokens\\.weight': holds NaN",
        names: 'nan-stories.bin',
      });
    }
  }
  add({
    cls: 'non-finite',
    name: 'NaN in the last element of the last layer',
    argv: logits(
      await variant(
        editSt((st) => {
          const e = entryOf(st, 'model.layers.1.mlp.down_proj.weight');
          st.data.writeFloatLE(Number.NaN, e.data_offsets[1] - 4);
        }),
      ),
    ),
    expect: 'refused',
    match: "down_proj\\.weight': holds NaN at \\[15, 31\\]",
    names: 'model.safetensors',
  });
  add({
    cls: 'non-finite',
    name: 'NaN in a weight with --skip-finite-check: the NaN reaches the logits',
    argv: [...logits(nanModel), '--skip-finite-check'],
    expect: 'ok',
    match: 'null',
  });

  // ── PEFT adapters ──────────────────────────────────────────────────────────────────
  const adapterDir = join(root, 'lora-good');
  {
    const { model } = await loadModel(base);
    const h = lora.inject(model, { r: 2, loraAlpha: 2, targetModules: ['q_proj', 'v_proj'] });
    await h.save(adapterDir);
  }
  const adapterVariant = async (mutate: (dir: string) => Promise<void>) => {
    const dir = join(root, `a${String(n++).padStart(2, '0')}`);
    await cp(adapterDir, dir, { recursive: true });
    await mutate(dir);
    return dir;
  };
  const withAdapter = (dir: string) => [...logits(base), '--adapter', dir];
  const adapter = async (
    name: string,
    match: string,
    mutate: (dir: string) => Promise<void>,
    names = 'adapter_config.json',
  ) =>
    add({
      cls: 'adapter',
      name,
      argv: withAdapter(await adapterVariant(mutate)),
      expect: 'refused',
      match,
      names,
    });
  await adapter(
    'NaN in lora_B',
    'holds NaN',
    async (dir) => {
      const f = join(dir, 'adapter_model.safetensors');
      const st = await readSt(f);
      const [, e] = entries(st).find(([k]) => k.includes('lora_B'))!;
      st.data.writeFloatLE(Number.NaN, e.data_offsets[0]);
      await writeSt(f, st);
    },
    'adapter_model.safetensors',
  );
  await adapter('adapter_config.json is not JSON', 'not valid JSON|invalid JSON', async (dir) => {
    await writeFile(join(dir, 'adapter_config.json'), '{"peft_type": "LORA",');
  });
  await adapter(
    'target_modules is a number',
    'target_modules must be',
    editJson('adapter_config.json', (j) => (j.target_modules = 5)),
  );
  await adapter(
    'r is zero',
    'r must be a positive integer',
    editJson('adapter_config.json', (j) => (j.r = 0)),
  );
  await adapter('adapter_config.json is a list', 'JSON object|peft_type', async (dir) => {
    await writeFile(join(dir, 'adapter_config.json'), '[1]');
  });
  await adapter(
    'adapter weights with trailing bytes',
    'follow the last tensor',
    async (dir) => {
      const f = join(dir, 'adapter_model.safetensors');
      await writeFile(f, Buffer.concat([await readFile(f), Buffer.from('xx')]));
    },
    'adapter_model.safetensors',
  );
  await adapter(
    'adapter_config.json a symlink to /dev/zero',
    'is not a regular file',
    zeroLink('adapter_config.json'),
  );
  add({
    cls: 'adapter',
    name: '--adapter is a file',
    argv: withAdapter(join(adapterDir, 'adapter_config.json')),
    expect: 'refused',
    match: 'adapter',
    names: 'adapter_config.json',
  });
  add({
    cls: 'adapter',
    name: '--adapter that does not exist',
    argv: withAdapter(join(root, 'no-adapter')),
    expect: 'refused',
    match: 'no-adapter',
    names: 'no-adapter',
  });

  // ── SVF experts ────────────────────────────────────────────────────────────────────
  const expertsDir = join(root, 'experts');
  await mkdir(expertsDir, { recursive: true });
  const cacheDir = join(root, 'svd-cache');
  const good = join(expertsDir, 'good.safetensors');
  const unverified = join(expertsDir, 'unverified.safetensors');
  const foreign = join(expertsDir, 'foreign.safetensors');
  {
    const { model } = await loadModel(base);
    const h = await svf.inject(model, { targetModules: ['gate_proj'], seed: 1, cacheDir });
    await svf.saveExpert(good, h.expert({ task: 'math' }), {}, h);
    // An expert written without its base model's fingerprint (an older t2, or another tool).
    await svf.saveExpert(unverified, h.expert({ task: 'math' }));
    const st = await readSt(unverified);
    delete (st.header.__metadata__ as Record<string, string>).base_fingerprint;
    await writeStRaw(unverified, JSON.stringify(st.header), st.data);
    const { model: otherModel } = await loadModel(other);
    const o = await svf.inject(otherModel, { targetModules: ['gate_proj'], seed: 1, cacheDir });
    await svf.saveExpert(foreign, o.expert({ task: 'math' }), {}, o);
  }
  const evalWith = (expert: string) => [
    'eval',
    '--model',
    base,
    '--task',
    'arith',
    '--n',
    '1',
    '--expert',
    expert,
    '--json',
  ];
  const expert = (name: string, file: string, match: string, names = file) =>
    add({ cls: 'svf-expert', name, argv: evalWith(file), expect: 'refused', match, names });
  expert('expert without a base fingerprint', unverified, 'records no base_fingerprint');
  expert('expert made for another base model', foreign, 'made for another base model');
  {
    const st = await readSt(good);
    const [, e] = entries(st)[0]!;
    st.data.writeFloatLE(Number.NaN, e.data_offsets[0] + 4);
    const f = join(root, 'nan-z.safetensors');
    await writeSt(f, st);
    expert('NaN in z', f, 'holds NaN at \\[1\\]; z must be finite');
    const g = join(root, 'trailing-z.safetensors');
    await writeFile(g, Buffer.concat([await readFile(good), Buffer.from('!')]));
    expert('expert file with a trailing byte', g, 'follow the last tensor');
  }
  expert('--expert is a folder', expertsDir, 'is a folder, expected a .safetensors file');
  expert('--expert that does not exist', join(root, 'none.safetensors'), 'no such file');

  // ── JSONL data ─────────────────────────────────────────────────────────────────────
  const goodLine = JSON.stringify({ prompt: '1+2=', completion: '3' });
  const data = async (file: string, text: string | Buffer) => {
    const f = join(root, file);
    await writeFile(f, text);
    return f;
  };
  const train = (dataFile: string, extra: string[] = []) => [
    'train',
    '--model',
    base,
    '--method',
    'lora',
    '--data',
    dataFile,
    '--steps',
    '1',
    '--out',
    join(root, `train-out-${n++}`),
    ...extra,
  ];
  const goodData = await data('good.jsonl', `${goodLine}\n${goodLine}\n`);
  const longLine = await data(
    'long-line.jsonl',
    `${goodLine}\n${JSON.stringify({ prompt: '1+', completion: 'x'.repeat(20_000_000) })}\n${goodLine}\n`,
  );
  add({
    cls: 'data',
    name: 'a 20 MB JSONL line (text cut to 512 tokens anyway)',
    argv: train(longLine),
    expect: 'refused',
    match: 'long-line\\.jsonl:2: a line of 20,000,0\\d\\d bytes, over the limit',
    names: 'long-line.jsonl',
    measure: true,
  });
  add({
    cls: 'data',
    name: '--data /dev/zero',
    argv: train('/dev/zero'),
    expect: 'refused',
    match: 'not a regular file',
    names: '/dev/zero',
  });
  add({
    cls: 'data',
    name: '--data a folder',
    argv: train(adapterDir),
    expect: 'refused',
    match: 'is a folder, expected a JSONL file',
    names: adapterDir,
  });
  add({
    cls: 'data',
    name: 'every completion cut away by --max-length 2',
    argv: train(
      await data('short.jsonl', `${JSON.stringify({ prompt: '12+35=', completion: '47' })}\n`),
      ['--max-length', '2'],
    ),
    expect: 'refused',
    match: 'no example keeps a completion token within --max-length 2',
    names: 'short.jsonl',
  });
  add({
    cls: 'data',
    name: 'rl --data /dev/zero',
    argv: [
      'rl',
      '--model',
      base,
      '--data',
      '/dev/zero',
      '--steps',
      '1',
      '--out',
      join(root, 'rl-out'),
    ],
    expect: 'refused',
    match: 'not a regular file',
    names: '/dev/zero',
  });
  add({
    cls: 'data',
    name: 'rl --data with a 3 MB line',
    argv: [
      'rl',
      '--model',
      base,
      '--data',
      await data(
        'rl-long.jsonl',
        `${JSON.stringify({ prompt: 'x'.repeat(3_000_000), answer: '1' })}\n`,
      ),
      '--steps',
      '1',
      '--out',
      join(root, 'rl-out2'),
    ],
    expect: 'refused',
    match: 'rl-long\\.jsonl:1: a line of',
    names: 'rl-long.jsonl',
  });
  add({
    cls: 'data',
    name: 'JSONL line with a number as prompt',
    argv: train(
      await data('number-prompt.jsonl', `${JSON.stringify({ prompt: 12, completion: '3' })}\n`),
    ),
    expect: 'refused',
    match: 'number-prompt\\.jsonl:1: "prompt" must be a string',
    names: 'number-prompt.jsonl',
  });

  // ── messages: one line, the file, what was expected ────────────────────────────────
  add({
    cls: 'messages',
    name: 'eval --data --split with no samples in the split',
    argv: [
      'eval',
      '--model',
      base,
      '--data',
      await data('one.jsonl', `${JSON.stringify({ prompt: '1+1=', answer: '2' })}\n`),
      '--split',
      'validation',
    ],
    expect: 'refused',
    match: 'none of its 1 samples falls in the validation split',
    names: 'one.jsonl',
  });
  add({
    cls: 'messages',
    name: 'eval --data file with no samples at all',
    argv: ['eval', '--model', base, '--data', await data('empty.jsonl', '\n\n')],
    expect: 'refused',
    match: 'empty\\.jsonl',
    names: 'empty.jsonl',
  });
  add({
    cls: 'messages',
    name: 'run --experts a file',
    argv: ['run', '--model', base, '--experts', good, '--strategy', 'prompt', '--prompt', '1+1='],
    expect: 'refused',
    match: 'not a folder',
    names: 'good.safetensors',
  });
  add({
    cls: 'messages',
    name: 'merge --out an existing file',
    argv: ['merge', '--model', base, '--adapter', adapterDir, '--out', join(base, 'config.json')],
    expect: 'refused',
    match: 'the input --model|is a file, expected a folder',
    names: 'config.json',
  });
  add({
    cls: 'messages',
    name: 'train --out a file',
    argv: train(goodData, ['--out', join(root, 'one.jsonl')]),
    expect: 'refused',
    match: 'is a file, expected a folder',
    names: 'one.jsonl',
  });
  add({
    cls: 'messages',
    name: '--expert a symlink to /dev/zero',
    argv: evalWith(
      await (async () => {
        const f = join(root, 'zero.safetensors');
        execFileSync('ln', ['-s', '/dev/zero', f]);
        return f;
      })(),
    ),
    expect: 'refused',
    match: 'is not a regular file',
    names: 'zero.safetensors',
  });
  return cases;
}

// Standalone: write the corpus and its case list.
if (process.argv[1] && /generate\.ts$/.test(process.argv[1])) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: npx tsx apps/cli/test/hostile/generate.ts OUT_DIR');
    process.exit(2);
  }
  generateHostileCases(out).then(async (cases) => {
    await writeFile(join(out, 'cases.json'), `${JSON.stringify(cases, null, 2)}\n`);
    console.log(`${cases.length} cases in ${out}/cases.json`);
  });
}
