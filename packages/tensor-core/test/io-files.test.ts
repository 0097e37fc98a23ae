import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  fromArray,
  loadSafetensorsFolder,
  parseSafetensors,
  Rng,
  readSafetensorsFile,
  SafetensorsError,
  saveSafetensorsFolder,
  serializeSafetensors,
  type Tensor,
  writeFileAtomic,
  writeSafetensorsFile,
} from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const shared = process.env.T2_SHARED
  ? join(process.env.T2_SHARED)
  : fileURLToPath(new URL('../../../../shared/', import.meta.url));
const fixtureDir = join(shared, 'fixtures', 'stories260K');

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 't2-io-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
let dirCount = 0;
async function freshDir(): Promise<string> {
  const dir = join(root, `case-${dirCount++}`);
  await mkdir(dir);
  return dir;
}

function randomTensors(rng: Rng, shapes: Record<string, number[]>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((a, b) => a * b, 1);
    out.set(
      name,
      fromArray(
        Array.from({ length: n }, () => rng.normal()),
        shape,
      ),
    );
  }
  return out;
}

function expectSameTensors(a: Map<string, Tensor>, b: Map<string, Tensor>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, t] of a) {
    const u = b.get(name)!;
    expect(u.shape, name).toEqual(t.shape);
    expect(
      Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      ),
      name,
    ).toBe(true);
  }
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the promise to reject');
}

describe('the stories260K checkpoint', () => {
  const file = join(fixtureDir, 'hf', 'model.safetensors');

  it('has the tensors its config.json implies, with the same values as the llama2.c export', async () => {
    const config = JSON.parse(await readFile(join(fixtureDir, 'hf', 'config.json'), 'utf8'));
    const { hidden_size: d, intermediate_size: ff, vocab_size: vocab } = config;
    const headDim = d / config.num_attention_heads;
    const kv = config.num_key_value_heads * headDim;
    expect([d, ff, vocab, kv]).toEqual([64, 172, 512, 32]);

    const expected = new Map<string, number[]>([
      ['model.embed_tokens.weight', [vocab, d]],
      ['model.norm.weight', [d]],
    ]);
    for (let l = 0; l < config.num_hidden_layers; l++) {
      const p = `model.layers.${l}`;
      expected.set(`${p}.input_layernorm.weight`, [d]);
      expected.set(`${p}.post_attention_layernorm.weight`, [d]);
      expected.set(`${p}.self_attn.q_proj.weight`, [d, d]);
      expected.set(`${p}.self_attn.k_proj.weight`, [kv, d]);
      expected.set(`${p}.self_attn.v_proj.weight`, [kv, d]);
      expected.set(`${p}.self_attn.o_proj.weight`, [d, d]);
      expected.set(`${p}.mlp.gate_proj.weight`, [ff, d]);
      expected.set(`${p}.mlp.up_proj.weight`, [ff, d]);
      expected.set(`${p}.mlp.down_proj.weight`, [d, ff]);
    }

    const st = await readSafetensorsFile(file);
    expect(st.tensors.size).toBe(expected.size);
    for (const [name, shape] of expected) {
      expect(st.tensors.get(name)?.shape, name).toEqual(shape);
      expect(st.dtypes.get(name)).toBe('F32');
      expect(st.tensors.get(name)!.data.every(Number.isFinite), name).toBe(true);
    }
    expect(st.metadata).toEqual({ format: 'pt' });

    // llama2.c's file: 7 int32 config values, then the token embedding table.
    const bin = await readFile(join(fixtureDir, 'stories260K.bin'));
    const embedding = new Float32Array(
      bin.buffer.slice(bin.byteOffset + 28, bin.byteOffset + 28 + vocab * d * 4),
    );
    expect([...st.tensors.get('model.embed_tokens.weight')!.data]).toEqual([...embedding]);

    // The streaming file reader and the in-memory parser agree.
    expectSameTensors(st.tensors, parseSafetensors(await readFile(file), file).tensors);
  });

  it('survives a save and load in every dtype', async () => {
    const st = await readSafetensorsFile(file);
    const dir = await freshDir();
    const out = join(dir, 'copy.safetensors');
    await writeSafetensorsFile(out, st.tensors, { metadata: st.metadata });
    expectSameTensors(st.tensors, (await readSafetensorsFile(out)).tensors);
    await writeSafetensorsFile(out, st.tensors, { dtype: 'BF16' });
    const bf = await readSafetensorsFile(out);
    expect((await stat(out)).size).toBeLessThan((await stat(file)).size * 0.51);
    for (const [name, t] of st.tensors) {
      const u = bf.tensors.get(name)!.data;
      let worst = 0; // error relative to half a bfloat16 ulp bound (2^-8 |x|)
      t.data.forEach((x, i) => {
        if (x !== 0) worst = Math.max(worst, Math.abs(u[i]! - x) / (Math.abs(x) * 2 ** -8));
      });
      expect(worst, name).toBeLessThanOrEqual(1);
      expect(worst, name).toBeGreaterThan(0);
    }
  });
});

describe('writeSafetensorsFile', () => {
  it('streams the same bytes as serializeSafetensors, across encode chunks', async () => {
    const rng = new Rng(3);
    // More than one 2^22-element encode chunk for the 16-bit dtypes.
    const big = fromArray(
      Float32Array.from({ length: (1 << 22) + 5 }, () => rng.normal()),
      [(1 << 22) + 5],
    );
    const tensors = new Map([
      ...randomTensors(rng, { a: [3, 4], 'b.half': [5], c: [] }),
      ['big', big],
    ]);
    const opts = {
      metadata: { format: 'pt' },
      dtype: (n: string) =>
        n === 'b.half' || n === 'big'
          ? ('F16' as const)
          : n === 'c'
            ? ('BF16' as const)
            : ('F32' as const),
    };
    const dir = await freshDir();
    const path = join(dir, 'x.safetensors');
    await writeSafetensorsFile(path, tensors, opts);
    const onDisk = await readFile(path);
    expect(onDisk.equals(serializeSafetensors(tensors, opts))).toBe(true);
    expect(await readdir(dir)).toEqual(['x.safetensors']);
  });

  it('names the file when it cannot be read', async () => {
    const missing = join(root, 'nope.safetensors');
    const err = await rejection(readSafetensorsFile(missing));
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.message).toContain(missing);
  });

  it('names the path when it is a folder, not a file', async () => {
    const dir = await freshDir();
    const err = (await rejection(readSafetensorsFile(dir))) as SafetensorsError;
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.file).toBe(dir);
  });

  it('names the file and tensor for a truncated file on disk', async () => {
    const dir = await freshDir();
    const path = join(dir, 'cut.safetensors');
    const bytes = serializeSafetensors(randomTensors(new Rng(1), { first: [4], second: [8] }));
    await writeFile(path, bytes.subarray(0, bytes.length - 1));
    const err = (await rejection(readSafetensorsFile(path))) as SafetensorsError;
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.file).toBe(path);
    expect(err.tensor).toBe('second');
    expect(err.message).toMatch(/outside the data buffer/);
  });
});

describe('writeFileAtomic', () => {
  it('writes strings and bytes, replacing the old file and leaving no temp files', async () => {
    const dir = await freshDir();
    const path = join(dir, 'note.txt');
    await writeFileAtomic(path, 'first');
    await writeFileAtomic(path, new Uint8Array([104, 105]));
    expect(await readFile(path, 'utf8')).toBe('hi');
    expect(await readdir(dir)).toEqual(['note.txt']);
  });

  it('leaves the old file intact when the write fails midway', async () => {
    const dir = await freshDir();
    const path = join(dir, 'model.safetensors');
    const good = randomTensors(new Rng(5), { a: [1000], b: [1000] });
    await writeSafetensorsFile(path, good);
    const before = await readFile(path);

    // 'b' is written after 'a' (same dtype, name order); reading its values fails partway.
    const failing = randomTensors(new Rng(6), { a: [5000], b: [5000] });
    Object.defineProperty(failing.get('b')!, 'data', {
      get() {
        throw new Error('simulated I/O failure');
      },
    });
    const err = await rejection(writeSafetensorsFile(path, failing));
    expect(err.message).toContain(path);
    expect(err.message).toContain('simulated I/O failure');
    expect((await readFile(path)).equals(before)).toBe(true);
    expect(await readdir(dir)).toEqual(['model.safetensors']);
    expectSameTensors(good, (await readSafetensorsFile(path)).tensors);
  });

  it('names the target when its folder does not exist', async () => {
    const path = join(root, 'no-such-dir', 'f.bin');
    const err = await rejection(writeFileAtomic(path, 'x'));
    expect(err.message).toContain(path);
    expect((err as { code?: string }).code).toBe('ENOENT');
    expect(existsSync(join(root, 'no-such-dir'))).toBe(false);
  });
});

describe('browser safety', () => {
  it('imports no Node built-in at module load in src/io', async () => {
    const dir = fileURLToPath(new URL('../src/io/', import.meta.url));
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) {
      const text = await readFile(join(dir, f), 'utf8');
      expect(text, f).not.toMatch(/^import[^;]*from ['"]node:/m);
      expect(text, f).not.toMatch(/require\(/);
    }
  });
});

describe('safetensors folders', () => {
  const rng = new Rng(21);
  const shapes = {
    'model.embed.weight': [16, 8],
    'model.a.weight': [8, 8],
    'model.b.weight': [8],
    'model.c.weight': [40, 8],
    'lm_head.weight': [16, 8],
  };

  it('saves one model.safetensors when no shard limit is given', async () => {
    const dir = join(await freshDir(), 'nested', 'out');
    const tensors = randomTensors(rng, shapes);
    await saveSafetensorsFolder(dir, tensors, { metadata: { source: 't2' } });
    expect(await readdir(dir)).toEqual(['model.safetensors']);
    const back = await loadSafetensorsFolder(dir);
    expectSameTensors(tensors, back.tensors);
    expect(back.metadata).toEqual({ format: 'pt', source: 't2' });
  });

  it('shards with HF names and an index, and loads them back', async () => {
    const dir = await freshDir();
    const tensors = randomTensors(rng, shapes);
    const maxShardBytes = 600; // F32: 512, 256, 32, 1280, 512 bytes
    await saveSafetensorsFolder(dir, tensors, { maxShardBytes });
    const files = (await readdir(dir)).sort();
    expect(files).toEqual([
      'model-00001-of-00004.safetensors',
      'model-00002-of-00004.safetensors',
      'model-00003-of-00004.safetensors',
      'model-00004-of-00004.safetensors',
      'model.safetensors.index.json',
    ]);
    const indexText = await readFile(join(dir, 'model.safetensors.index.json'), 'utf8');
    const index = JSON.parse(indexText);
    // Python's json.dumps(index, indent=2, sort_keys=True) gives the same text.
    const sortedMap = Object.fromEntries(
      Object.entries(index.weight_map).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    expect(indexText).toBe(
      `${JSON.stringify({ metadata: index.metadata, weight_map: sortedMap }, null, 2)}\n`,
    );
    expect(Object.keys(index.weight_map)).toEqual(Object.keys(sortedMap));
    expect(index.metadata.total_size).toBe((128 + 64 + 8 + 320 + 128) * 4);
    expect(index.weight_map).toEqual({
      'model.embed.weight': 'model-00001-of-00004.safetensors',
      'model.a.weight': 'model-00002-of-00004.safetensors',
      'model.b.weight': 'model-00002-of-00004.safetensors',
      'model.c.weight': 'model-00003-of-00004.safetensors',
      'lm_head.weight': 'model-00004-of-00004.safetensors',
    });
    // Each shard's data stays within the limit unless one tensor alone exceeds it.
    for (const f of files.filter((x) => x.startsWith('model-'))) {
      const shard = await readSafetensorsFile(join(dir, f));
      const bytes = [...shard.tensors.values()].reduce((n, t) => n + t.size * 4, 0);
      expect(bytes <= maxShardBytes || shard.tensors.size === 1).toBe(true);
      expect(shard.metadata).toEqual({ format: 'pt' });
    }
    const back = await loadSafetensorsFolder(dir);
    expectSameTensors(tensors, back.tensors);
    expect([...back.tensors.keys()]).toEqual(Object.keys(index.weight_map));
  });

  it('counts stored bytes for 16-bit dtypes and round-trips them', async () => {
    const dir = await freshDir();
    const tensors = randomTensors(rng, shapes);
    await saveSafetensorsFolder(dir, tensors, { maxShardBytes: 300, dtype: 'BF16' });
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
    expect(index.metadata.total_size).toBe((128 + 64 + 8 + 320 + 128) * 2);
    const back = await loadSafetensorsFolder(dir);
    for (const name of Object.keys(shapes)) expect(back.dtypes.get(name)).toBe('BF16');
    const direct = parseSafetensors(serializeSafetensors(tensors, { dtype: 'BF16' }));
    expectSameTensors(direct.tensors, back.tensors);
  });

  it('removes weight files of an earlier layout so they cannot shadow the new save', async () => {
    const dir = await freshDir();
    const first = randomTensors(rng, shapes);
    await saveSafetensorsFolder(dir, first, { maxShardBytes: 600 });
    await writeFile(join(dir, 'config.json'), '{}');
    const second = randomTensors(rng, shapes);
    await saveSafetensorsFolder(dir, second);
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors']);
    expectSameTensors(second, (await loadSafetensorsFolder(dir)).tensors);
    const third = randomTensors(rng, shapes);
    await saveSafetensorsFolder(dir, third, { maxShardBytes: 1000 });
    expect(await readdir(dir)).not.toContain('model.safetensors');
    expectSameTensors(third, (await loadSafetensorsFolder(dir)).tensors);
  });

  describe('broken folders give errors naming the file and tensor', () => {
    async function sharded(): Promise<{
      dir: string;
      index: { weight_map: Record<string, string> };
    }> {
      const dir = await freshDir();
      await saveSafetensorsFolder(dir, randomTensors(rng, shapes), { maxShardBytes: 600 });
      const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
      return { dir, index };
    }

    it('a missing shard', async () => {
      const { dir } = await sharded();
      await rm(join(dir, 'model-00003-of-00004.safetensors'));
      const err = (await rejection(loadSafetensorsFolder(dir))) as SafetensorsError;
      expect(err).toBeInstanceOf(SafetensorsError);
      expect(err.file).toBe(join(dir, 'model.safetensors.index.json'));
      expect(err.tensor).toBe('model.c.weight');
      expect(err.message).toMatch(/shard 'model-00003-of-00004.safetensors' is missing/);
    });

    it('a tensor missing from its shard', async () => {
      const { dir } = await sharded();
      const shard = join(dir, 'model-00002-of-00004.safetensors');
      const part = await readSafetensorsFile(shard);
      part.tensors.delete('model.b.weight');
      await writeSafetensorsFile(shard, part.tensors);
      const err = (await rejection(loadSafetensorsFolder(dir))) as SafetensorsError;
      expect(err.file).toBe(shard);
      expect(err.tensor).toBe('model.b.weight');
      expect(err.message).toMatch(/listed in model.safetensors.index.json but not in this shard/);
    });

    it('a shard tensor the index does not list, or puts elsewhere', async () => {
      const { dir, index } = await sharded();
      // Shard 2 still holds model.a.weight, so it is read, and model.b.weight turns up unlisted.
      delete index.weight_map['model.b.weight'];
      await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
      let err = (await rejection(loadSafetensorsFolder(dir))) as SafetensorsError;
      expect(err.file).toBe(join(dir, 'model-00002-of-00004.safetensors'));
      expect(err.tensor).toBe('model.b.weight');
      expect(err.message).toMatch(/not in model.safetensors.index.json/);

      const moved = await sharded();
      moved.index.weight_map['model.b.weight'] = 'model-00001-of-00004.safetensors';
      await writeFile(join(moved.dir, 'model.safetensors.index.json'), JSON.stringify(moved.index));
      err = (await rejection(loadSafetensorsFolder(moved.dir))) as SafetensorsError;
      expect(err.tensor).toBe('model.b.weight');
      expect(err.message).toMatch(/index.json puts it in 'model-00001-of-00004.safetensors'/);
      expect(err.message).toContain(moved.dir);
    });

    it('an unreadable index, a shard outside the folder, an empty folder', async () => {
      const { dir, index } = await sharded();
      const indexPath = join(dir, 'model.safetensors.index.json');
      await writeFile(indexPath, '{"weight_map": ');
      expect((await rejection(loadSafetensorsFolder(dir))).message).toMatch(
        new RegExp(`${indexPath.replace(/[.]/g, '\\.')}: is not valid JSON`),
      );
      index.weight_map['model.a.weight'] = '../model-00002-of-00004.safetensors';
      await writeFile(indexPath, JSON.stringify(index));
      const err = (await rejection(loadSafetensorsFolder(dir))) as SafetensorsError;
      expect(err.tensor).toBe('model.a.weight');
      expect(err.message).toMatch(/not a file in this folder/);
      const empty = await freshDir();
      expect((await rejection(loadSafetensorsFolder(empty))).message).toContain(empty);
    });

    it('a corrupt single file', async () => {
      const dir = await freshDir();
      await writeFile(
        join(dir, 'model.safetensors'),
        new Uint8Array([200, 0, 0, 0, 0, 0, 0, 0, 123]),
      );
      const err = (await rejection(loadSafetensorsFolder(dir))) as SafetensorsError;
      expect(err.file).toBe(join(dir, 'model.safetensors'));
      expect(err.message).toMatch(/runs past the end/);
    });
  });
});
