import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../src/lib/output-dir';
import { main } from '../src/main';
import { writeSumData, writeTinyModelFolder } from './tiny-model';

// Issue #16, data loss: a command never writes into its input, refuses a non-empty folder
// it did not create unless --overwrite (or --resume for its own checkpoint), keeps one run
// per folder, and makes --resume without a checkpoint an error. Each refusal leaves the
// earlier files byte-identical.

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), isTTY: false },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

async function run(argv: string[]) {
  const c = capture();
  const code = await main(argv, c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

/** Every file under `root` (recursively) with the SHA-256 of its bytes. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else
        out[relative(root, p)] = createHash('sha256')
          .update(await readFile(p))
          .digest('hex');
    }
  };
  await walk(root);
  return out;
}

let dir: string;
let modelDir: string;
let data: string;
const trainArgs = (out: string, method = 'bone', steps = 2) => [
  'train',
  '--model',
  modelDir,
  '--method',
  method,
  '--data',
  data,
  '--steps',
  String(steps),
  '--r',
  '4',
  '--batch',
  '4',
  '--out',
  out,
  '--json',
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-outsafe-'));
  modelDir = await writeTinyModelFolder(join(dir, 'model'), { dim: 16, layers: 1 });
  data = await writeSumData(join(dir, 'train.jsonl'), { n: 8 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('t2 merge never replaces a model', () => {
  let adapter: string;
  beforeAll(async () => {
    adapter = join(dir, 'merge-adapter');
    expect((await run(trainArgs(adapter))).code).toBe(0);
  });

  it('refuses --out equal to --model, even with --overwrite', async () => {
    const before = await snapshot(modelDir);
    for (const extra of [[], ['--overwrite']]) {
      const r = await run([
        'merge',
        '--model',
        modelDir,
        '--adapter',
        adapter,
        '--out',
        modelDir,
        ...extra,
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is the input --model .*never writes into its input/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    // The same folder by another spelling.
    const r = await run([
      'merge',
      '--model',
      modelDir,
      '--adapter',
      adapter,
      '--out',
      `${modelDir}/./`,
    ]);
    expect(r.code).toBe(2);
    expect(await snapshot(modelDir)).toEqual(before);
  });

  it('refuses --out over an existing model folder (single file and sharded)', async () => {
    const other = await writeTinyModelFolder(join(dir, 'other-model'), {
      dim: 16,
      layers: 1,
      seed: 5,
    });
    const sharded = join(dir, 'sharded-model');
    await mkdir(sharded);
    await writeFile(join(sharded, 'config.json'), '{}');
    await writeFile(join(sharded, 'model-00001-of-00002.safetensors'), 'shard one');
    await writeFile(join(sharded, 'model-00002-of-00002.safetensors'), 'shard two');
    await writeFile(join(sharded, 'model.safetensors.index.json'), '{"weight_map":{}}');
    for (const target of [other, sharded]) {
      const before = await snapshot(target);
      const r = await run(['merge', '--model', modelDir, '--adapter', adapter, '--out', target]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is not empty .*--overwrite/);
      expect(await snapshot(target)).toEqual(before);
    }
    // With --overwrite the user asked for it.
    const r = await run([
      'merge',
      '--model',
      modelDir,
      '--adapter',
      adapter,
      '--out',
      other,
      '--overwrite',
    ]);
    expect(r.code).toBe(0);
  });

  it('refuses --out inside an adapter it reads', async () => {
    const before = await snapshot(adapter);
    const r = await run([
      'merge',
      '--model',
      modelDir,
      '--adapter',
      adapter,
      '--out',
      join(adapter, 'merged'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/inside the input --adapter/);
    expect(await snapshot(adapter)).toEqual(before);
  });
});

describe('t2 train / t2 rl never replace an earlier run', () => {
  it('train into a folder holding another adapter is refused; --overwrite allows it', async () => {
    const out = join(dir, 'train-twice');
    expect((await run(trainArgs(out, 'lora'))).code).toBe(0);
    const before = await snapshot(out);
    for (const method of ['lora', 'bone']) {
      const r = await run(trainArgs(out, method));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is not empty .*--overwrite.*--resume/);
      expect(await snapshot(out)).toEqual(before);
    }
    expect((await run([...trainArgs(out, 'bone'), '--overwrite'])).code).toBe(0);
  });

  it('train --out equal to --model (full fine-tuning) is refused', async () => {
    const before = await snapshot(modelDir);
    const r = await run([...trainArgs(modelDir, 'full'), '--overwrite']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is the input --model/);
    expect(await snapshot(modelDir)).toEqual(before);
  });

  it('quickstart --out inside the model is refused before anything is written', async () => {
    const before = await snapshot(modelDir);
    const r = await run(['quickstart', '--model', modelDir, '--out', join(modelDir, 'tour')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/inside the input --model/);
    expect(await snapshot(modelDir)).toEqual(before);
  });

  it('rl into a non-empty folder is refused', async () => {
    const out = join(dir, 'rl-occupied');
    await mkdir(out);
    await writeFile(join(out, 'expert.safetensors'), 'an earlier expert');
    const before = await snapshot(out);
    const r = await run([
      'rl',
      '--model',
      modelDir,
      '--task',
      'arith',
      '--steps',
      '1',
      '--out',
      out,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not empty/);
    expect(await snapshot(out)).toEqual(before);
  });

  it('a second run into a folder another live run holds is refused; a stale lock is taken over', async () => {
    const out = join(dir, 'locked');
    await mkdir(out);
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await writeFile(
        join(out, LOCK_FILE),
        JSON.stringify({ pid: sleeper.pid, command: 't2 train' }),
      );
      const before = await snapshot(out);
      const r = await run(trainArgs(out));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/another run is writing into this folder \(t2 train, pid \d+/);
      expect(await snapshot(out)).toEqual(before);
    } finally {
      sleeper.kill('SIGKILL');
    }
    await new Promise((resolve) => sleeper.once('exit', resolve));
    // The holder was killed: its lock is stale, and the folder holds nothing else.
    const r = await run(trainArgs(out));
    expect(r.code).toBe(0);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  });

  it('a lock whose pid now belongs to another program (pid reuse) is stale', async () => {
    const out = join(dir, 'reused-pid');
    await mkdir(out);
    const other = spawn('sleep', ['60']);
    try {
      await writeFile(
        join(out, LOCK_FILE),
        JSON.stringify({ pid: other.pid, command: 't2 train' }),
      );
      const r = await run(trainArgs(out));
      expect(r.code, r.stderr).toBe(0);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('removes the temporary files and folders of killed runs', async () => {
    const out = join(dir, 'leftovers');
    expect((await run(trainArgs(out, 'bone', 2))).code).toBe(0);
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max: never a live process
    await mkdir(join(out, `checkpoint.tmp-${deadPid}`));
    await writeFile(join(out, `checkpoint.tmp-${deadPid}`, 'params.safetensors'), 'half');
    await writeFile(join(out, `.adapter_model.safetensors.${deadPid}.k3j4h5.tmp`), 'half');
    await writeFile(join(out, 'checkpoint', `.trainer-state.json.${deadPid}.abcdef.tmp`), 'half');
    const r = await run([...trainArgs(out, 'bone', 3), '--resume']);
    expect(r.code).toBe(0);
    const left = await snapshot(out);
    expect(Object.keys(left).filter((f) => f.includes('tmp'))).toEqual([]);
  });
});

describe('--resume needs a usable checkpoint', () => {
  it('train --resume with no checkpoint is an error and writes nothing', async () => {
    const out = join(dir, 'resume-nothing');
    await mkdir(out);
    await writeFile(join(out, 'adapter_config.json'), '{"peft_type":"BONE"}');
    const before = await snapshot(out);
    const r = await run([...trainArgs(out), '--resume']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--resume: no checkpoint in .*checkpoint/);
    expect(await snapshot(out)).toEqual(before);
    const fresh = join(dir, 'resume-fresh');
    const r2 = await run([...trainArgs(fresh), '--resume']);
    expect(r2.code).toBe(2);
    expect(existsSync(fresh)).toBe(false);
  });

  it('train --resume with a checkpoint missing its state file is an error', async () => {
    const out = join(dir, 'resume-broken');
    expect((await run(trainArgs(out, 'bone', 2))).code).toBe(0);
    await rm(join(out, 'checkpoint', 'trainer-state.json'));
    const before = await snapshot(out);
    const r = await run([...trainArgs(out, 'bone', 4), '--resume']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/checkpoint.*no trainer-state\.json/);
    expect(await snapshot(out)).toEqual(before);
  });

  it("train --resume of another method's checkpoint is an error", async () => {
    const out = join(dir, 'resume-other-method');
    expect((await run(trainArgs(out, 'bone', 2))).code).toBe(0);
    const before = await snapshot(out);
    const r = await run([...trainArgs(out, 'bat', 4), '--resume']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--resume: the checkpoint .*"method":"bone".*"method":"bat"/);
    expect(await snapshot(out)).toEqual(before);
  });

  it('train --resume with an unreadable trainer-state.json names the file', async () => {
    const out = join(dir, 'resume-bad-json');
    expect((await run(trainArgs(out, 'bone', 2))).code).toBe(0);
    await writeFile(join(out, 'checkpoint', 'trainer-state.json'), '{"step": 2,');
    const before = await snapshot(out);
    const r = await run([...trainArgs(out, 'bone', 4), '--resume']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/trainer-state\.json: unreadable/);
    expect(await snapshot(out)).toEqual(before);
  });
});

const cliMain = fileURLToPath(new URL('../dist/main.js', import.meta.url));

describe('t2 pretrain never replaces the bundled model', () => {
  it('without --out (models/t2-tiny) over an existing model: refused before training', async () => {
    const cwd = join(dir, 'pretrain-cwd');
    const bundled = join(cwd, 'models/t2-tiny');
    await mkdir(join(bundled, 'experts'), { recursive: true });
    await writeFile(join(bundled, 'model.safetensors'), 'the bundled weights');
    await writeFile(join(bundled, 'experts', 'arith.safetensors'), 'an expert');
    const before = await snapshot(bundled);
    const started = Date.now();
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [cliMain, 'pretrain', '--steps', '1'], { cwd });
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out models\/t2-tiny is not empty .*--overwrite/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await snapshot(bundled)).toEqual(before);
    expect((await stat(join(cwd, 'models/t2-tiny'))).isDirectory()).toBe(true);
  });
});
