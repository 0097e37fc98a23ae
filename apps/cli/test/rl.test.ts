import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensorsFile } from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRl } from '../src/commands/rl';
import { main } from '../src/main';
import { wordLevelTokenizerJson, writeTinyModelFolder } from './tiny-model';

function capture(onStdout?: (t: string) => void) {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    stdout: (t: string) => {
      out.push(t);
      onStdout?.(t);
    },
    stderr: (t: string) => err.push(t),
    isTTY: false,
  };
  return { io, out, err, stdout: () => out.join(''), stderr: () => err.join('') };
}

async function run(argv: string[]) {
  const c = capture();
  const code = await main(argv, c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

const shared =
  process.env.T2_SHARED ?? fileURLToPath(new URL('../../../../shared/', import.meta.url));

/** stories260K's HF folder plus a word-level tokenizer.json: token id i is the word `w<i>`. */
async function storiesWithWordTokenizer(target: string): Promise<string> {
  await cp(join(shared, 'fixtures/stories260K/hf'), target, { recursive: true });
  await chmod(target, 0o755);
  const words = ['<unk>', '<s>', '</s>', ...Array.from({ length: 509 }, (_, i) => `w${i + 3}`)];
  const tokenizer = wordLevelTokenizerJson(words);
  await writeFile(join(target, 'tokenizer.json'), JSON.stringify(tokenizer));
  return target;
}

let dir: string;
let modelDir: string;
let cache: string;
/** A short SVF run on arith: 4 steps of 4 prompts, validation every 2 steps. */
const rlArgs = (out: string, steps = 4) => [
  'rl',
  '--model',
  modelDir,
  '--task',
  'arith',
  '--steps',
  String(steps),
  '--batch',
  '4',
  '--validate-every',
  '2',
  '--val-size',
  '8',
  '--seed',
  '3',
  '--cache',
  cache,
  '--out',
  out,
  '--json',
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-rl-'));
  modelDir = await writeTinyModelFolder(join(dir, 'model'), { seed: 0 });
  cache = join(dir, 'svd-cache');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('t2 rl', () => {
  it('trains an SVF expert on a task and writes expert, checkpoint and step log', async () => {
    const out = join(dir, 'a');
    const r = await run(rlArgs(out));
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const steps = events.filter((e) => e.event === 'step');
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
    for (const s of steps) {
      for (const k of ['meanReward', 'minReward', 'maxReward', 'loss', 'kl', 'trainAccuracy'])
        expect(Number.isFinite(s[k])).toBe(true);
      expect(s.minReward).toBeLessThanOrEqual(s.meanReward);
      expect(s.maxReward).toBeGreaterThanOrEqual(s.meanReward);
    }
    // Step 0 (the untrained expert, i.e. the base model) is a validation candidate too.
    expect(events.filter((e) => e.event === 'validation').map((v) => v.step)).toEqual([0, 2, 4]);
    const done = events.at(-1);
    expect(done.event).toBe('done');
    expect(done.best.step).toBeOneOf([0, 2, 4]);
    // log.jsonl holds the same step and validation lines.
    const log = (await readFile(join(out, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log).toEqual(events.slice(0, -1));
    const expert = await readSafetensorsFile(join(out, 'expert.safetensors'));
    expect(expert.metadata.format).toBe('t2-svf-expert');
    expect(expert.metadata.task).toBe('math');
    expect(expert.metadata.base_fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const targets = JSON.parse(expert.metadata.targets!);
    expect(targets).toHaveLength(6); // 2 layers × gate/up/down
    expect([...expert.tensors.keys()].sort()).toEqual(
      targets.map((t: string) => `${t}.svf_z`).sort(),
    );
    const ckpt = await readSafetensorsFile(join(out, 'checkpoint.safetensors'));
    expect(JSON.parse(ckpt.metadata.state!).step).toBe(4);
    // The SVD factors were cached by the first run and reused by the next.
    const again = await run([...rlArgs(join(dir, 'a-again'), 1), '--validate-every', '0']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/SVD factors: 6 from .*, 0 computed/);
  });

  it('is deterministic with a seed, and resuming (stopped or split) gives the uninterrupted result', async () => {
    const expertOf = (out: string) => readFile(join(out, 'expert.safetensors'));
    const reference = await expertOf(join(dir, 'a'));

    expect((await run(rlArgs(join(dir, 'b')))).code).toBe(0);
    expect(Buffer.compare(await expertOf(join(dir, 'b')), reference)).toBe(0);

    const split = join(dir, 'split');
    expect((await run(rlArgs(split, 2))).code).toBe(0);
    const resumed = await run([...rlArgs(split, 4), '--resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain('resuming at step 2');
    expect(Buffer.compare(await expertOf(split), reference)).toBe(0);

    // A stop request (Ctrl-C) after the first step checkpoints and exits 130 with a hint.
    const stopped = join(dir, 'stopped');
    const controller = new AbortController();
    const c = capture((t) => {
      if (t.includes('"event":"step"')) controller.abort();
    });
    expect(await runRl(rlArgs(stopped).slice(1), c.io, controller.signal)).toBe(130);
    expect(c.stderr()).toMatch(/stopped at step 1\/4.*--resume/);
    const cont = await run([...rlArgs(stopped), '--resume']);
    expect(cont.code).toBe(0);
    expect(Buffer.compare(await expertOf(stopped), reference)).toBe(0);
    const log = (await readFile(join(stopped, 'log.jsonl'), 'utf8')).trim().split('\n');
    const reflog = (await readFile(join(dir, 'a', 'log.jsonl'), 'utf8')).trim().split('\n');
    const strip = (l: string) => JSON.stringify({ ...JSON.parse(l), seconds: undefined });
    expect(log.map(strip)).toEqual(reflog.map(strip));
  });

  it('refuses to resume a run with other settings', async () => {
    const r = await run([...rlArgs(join(dir, 'split'), 4), '--resume', '--task', 'logic']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--resume: the run in .* was started with task "arith", this one has "logic"/,
    );
    const lr = await run([...rlArgs(join(dir, 'split'), 6), '--resume', '--lr', '1e-2']);
    expect(lr.code).toBe(2);
    expect(lr.stderr).toMatch(/lr = 0\.002, this run uses 0\.01/);
    const none = await run([...rlArgs(join(dir, 'nothing-here'), 4), '--resume']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--resume: no checkpoint at/);
  });

  it('trains the LoRA baseline into a PEFT folder that t2 eval applies', async () => {
    const out = join(dir, 'lora');
    const r = await run([...rlArgs(out, 2), '--method', 'lora', '--r', '2', '--kl', '0.1']);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    // The KL term runs the base model with the adapter switched off.
    const steps = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === 'step');
    for (const s of steps) expect(s.kl).toBeGreaterThanOrEqual(0);
    expect(steps[1].kl).toBeGreaterThan(0);
    const cfg = JSON.parse(await readFile(join(out, 'lora', 'adapter_config.json'), 'utf8'));
    expect(cfg.peft_type).toBe('LORA');
    expect(cfg.r).toBe(2);
    expect([...cfg.target_modules].sort()).toEqual(['down_proj', 'gate_proj', 'up_proj']);
    const e = await run([
      'eval',
      '--model',
      modelDir,
      '--adapter',
      join(out, 'lora'),
      '--task',
      'arith',
      '--n',
      '8',
      '--json',
    ]);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout).n).toBe(8);
  });

  it('trains on JSONL data with a user reward module, and the reward goes up (stories260K)', async () => {
    // The toy task of @t2/rl-reinforce's evidence, through the CLI: the answer should start
    // with token 461. stories260K has no tokenizer, so a word-level one names its ids w3…w511.
    const stories = await storiesWithWordTokenizer(join(dir, 'stories'));
    const data = join(dir, 'w461.jsonl');
    const lines = [300, 301, 302, 303, 350, 400, 401, 402, 403, 404].flatMap((k) => [
      JSON.stringify({ prompt: `w${k}`, answer: 'w461' }),
      JSON.stringify({ prompt: `w300 w${k}`, answer: 'w461' }),
    ]);
    await writeFile(data, `${lines.join('\n')}\n`);
    const mod = join(dir, 'first-is-461.mjs');
    await writeFile(
      mod,
      "export function reward(prompt, output) { return output.split(' ')[0] === 'w461'; }\n",
    );
    const out = join(dir, 'w461');
    const args = [
      '--model',
      stories,
      '--data',
      data,
      '--reward',
      `module:${mod}`,
      '--cache',
      cache,
    ];
    const r = await run([
      'rl',
      ...args,
      '--steps',
      '20',
      '--lr',
      '2e-2',
      '--max-new-tokens',
      '1',
      '--validate-every',
      '0',
      '--seed',
      '2',
      '--out',
      out,
      '--json',
    ]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/14 train \/ 5 validation samples/);
    expect(r.stderr).toMatch(/no validation: the saved adapter is the last one/);
    const steps = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === 'step');
    const mean = (xs: { meanReward: number }[]) =>
      xs.reduce((s, x) => s + x.meanReward, 0) / xs.length;
    expect(mean(steps.slice(0, 5))).toBeLessThan(-0.7);
    expect(mean(steps.slice(-5))).toBeGreaterThan(mean(steps.slice(0, 5)) + 0.3);
    // Greedy answers on the training prompts follow: the expert says w461 where the base does not.
    const evalArgs = ['eval', ...args, '--split', 'train', '--max-new-tokens', '1', '--json'];
    const base = JSON.parse((await run(evalArgs)).stdout);
    const tuned = JSON.parse(
      (await run([...evalArgs, '--expert', join(out, 'expert.safetensors')])).stdout,
    );
    expect(base.n).toBe(14);
    expect(tuned.accuracy).toBeGreaterThan(base.accuracy + 0.2);
  });

  it('reports bad input as usage errors', async () => {
    const base = [
      'rl',
      '--model',
      modelDir,
      '--steps',
      '1',
      '--cache',
      cache,
      '--out',
      join(dir, 'bad'),
    ];
    const unknown = await run([...base, '--task', 'algebra']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /--task: unknown task family 'algebra' \(known: arith, string, logic, count, sort, shout, big, end\)/,
    );
    const badReward = await run([...base, '--task', 'arith', '--reward', 'fuzzy']);
    expect(badReward.code).toBe(2);
    expect(badReward.stderr).toMatch(/--reward: unknown reward 'fuzzy'/);
    const badRegex = await run([...base, '--task', 'arith', '--reward', 'regex:(']);
    expect(badRegex.code).toBe(2);
    expect(badRegex.stderr).toMatch(/--reward regex:\(: Invalid regular expression/);
    const badTol = await run([...base, '--task', 'arith', '--reward', 'numeric:-1']);
    expect(badTol.code).toBe(2);
    const noModule = await run([
      ...base,
      '--task',
      'arith',
      '--reward',
      `module:${join(dir, 'nope.mjs')}`,
    ]);
    expect(noModule.code).toBe(2);
    expect(noModule.stderr).toMatch(/nope\.mjs: no such file/);
    const both = await run([...base, '--task', 'arith', '--data', 'x.jsonl']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/exactly one of --task NAME or --data FILE/);
    const method = await run([...base, '--task', 'arith', '--method', 'dora']);
    expect(method.code).toBe(2);
    expect(method.stderr).toMatch(/--method must be one of svf, lora/);

    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"prompt": "1+1=", "answer": 2}\n{"prompt": "2+2="}\n');
    const jsonl = await run([...base, '--data', bad]);
    expect(jsonl.code).toBe(2);
    expect(jsonl.stderr).toContain(`${bad}:2: missing "answer"`);
    const words = join(dir, 'words.jsonl');
    await writeFile(
      words,
      `${Array.from({ length: 20 }, (_, i) => JSON.stringify({ prompt: `w${i}=`, answer: 'ten' })).join('\n')}\n`,
    );
    const numericTask = await run([...base, '--task', 'arith,string', '--reward', 'numeric:0.5']);
    expect(numericTask.code).toBe(2);
    expect(numericTask.stderr).toMatch(
      /--reward numeric: the answer of sample \d+ of --task arith,string .* is not a number/,
    );
    // Characters the model's tokenizer lacks would train on <unk>: refused, naming them.
    const accents = join(dir, 'accents.jsonl');
    await writeFile(
      accents,
      `${Array.from({ length: 40 }, (_, i) => JSON.stringify({ prompt: `café ${i}=`, answer: 'é' })).join('\n')}\n`,
    );
    const bundled = fileURLToPath(new URL('../../../models/t2-tiny', import.meta.url));
    const unreadable = await run([
      'rl',
      '--model',
      bundled,
      '--data',
      accents,
      '--steps',
      '1',
      '--cache',
      cache,
      '--out',
      join(dir, 'bad-accents'),
    ]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(
      /the tokenizer has no token for 1 character the samples use: "é"/,
    );
    const numeric = await run([...base, '--data', words, '--reward', 'numeric']);
    expect(numeric.code).toBe(2);
    expect(numeric.stderr).toMatch(
      /--reward numeric: the answer of sample 1 .* is not a number: "ten"/,
    );

    const bare = join(dir, 'no-tokenizer');
    await cp(modelDir, bare, { recursive: true });
    await rm(join(bare, 'tokenizer.json'));
    const noTok = await run([
      'rl',
      '--model',
      bare,
      '--task',
      'arith',
      '--steps',
      '1',
      '--cache',
      cache,
      '--out',
      join(dir, 'bad'),
    ]);
    expect(noTok.code).toBe(2);
    expect(noTok.stderr).toMatch(/has no tokenizer\.json: t2 rl needs one/);
  });
});
