import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExpert, serializeExpert } from '@t2/adapters-svf';
import { Rng } from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main';
import { writeTinyModelFolder } from './tiny-model';
import { makeTinyRuntime, type TinyRuntime } from './tiny-runtime';

/** `t2 eval` flags for a small few-shot run on `tasks` (4 problems, 2 shots, a tiny CEM). */
function fewShotArgs(tasks: string, alphaCache: string): string[] {
  return [
    ...['--task', tasks, '--n', '4', '--strategy', 'few-shot', '--shots', '2'],
    ...['--cem-iterations', '1', '--population', '4', '--alpha-cache', alphaCache],
  ];
}

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
  });
  return { code, stdout, stderr };
}

let dir: string;
let modelA: string;
let modelB: string;
let cache: string;
let expert: string;
/** An expert far from the base model: its masks vary a lot, so W' ≠ W. */
let strong: string;
/** A reward that fingerprints the outputs: equal mean rewards ⇔ (almost surely) equal answers. */
let fingerprint: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-eval-'));
  modelA = await writeTinyModelFolder(join(dir, 'a'), { seed: 0 });
  modelB = await writeTinyModelFolder(join(dir, 'b'), { seed: 1 });
  cache = join(dir, 'svd');
  const out = join(dir, 'rl');
  const r = await run([
    'rl',
    '--model',
    modelA,
    '--task',
    'arith',
    '--steps',
    '2',
    '--batch',
    '4',
    '--validate-every',
    '0',
    '--cache',
    cache,
    '--out',
    out,
  ]);
  expect(r.code, r.stderr).toBe(0);
  expert = join(out, 'expert.safetensors');
  const e = parseExpert(await readFile(expert), expert);
  const rng = new Rng(5);
  for (const z of e.z.values()) for (let i = 0; i < z.length; i++) z[i] = 3 * rng.normal();
  strong = join(dir, 'strong.safetensors');
  await writeFile(strong, serializeExpert(e));
  fingerprint = join(dir, 'fingerprint.mjs');
  await writeFile(
    fingerprint,
    'export function reward(prompt, output) { let h = 7; for (const c of prompt + output) h = (h * 31 + c.charCodeAt(0)) % 1000003; return h / 1000003; }\n',
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('t2 eval', () => {
  it('applies an expert from t2 rl and prints only JSON accuracy with --json', async () => {
    const r = await run([
      'eval',
      '--model',
      modelA,
      '--expert',
      expert,
      '--task',
      'arith',
      '--n',
      '16',
      '--cache',
      cache,
      '--json',
    ]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const result = JSON.parse(r.stdout);
    expect(result.n).toBe(16);
    expect(result.accuracy).toBeGreaterThanOrEqual(0);
    expect(result.accuracy).toBeLessThanOrEqual(1);
    expect(result.correct).toBe(Math.round(result.accuracy * 16));
    expect(result.perCategory.math.total).toBe(16);
    expect(result.perFamily.arith.total).toBe(16);
    // Same seed, same problems, greedy: the same result.
    const again = await run([
      'eval',
      '--model',
      modelA,
      '--expert',
      expert,
      '--task',
      'arith',
      '--n',
      '16',
      '--cache',
      cache,
      '--json',
    ]);
    expect(again.stdout).toBe(r.stdout);
  });

  it('changes the answers with an expert, and mixes experts in mask space', async () => {
    const args = [
      'eval',
      '--model',
      modelA,
      '--task',
      'arith,string',
      '--n',
      '24',
      '--reward',
      `module:${fingerprint}`,
      '--cache',
      cache,
      '--json',
    ];
    const score = async (extra: string[]) => {
      const r = await run([...args, ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).meanReward as number;
    };
    const base = await score([]);
    const alone = await score(['--expert', strong]);
    expect(alone).not.toBe(base);
    // ½m + ½m = m exactly: mixing an expert with itself is the expert.
    expect(await score(['--expert', strong, '--expert', strong])).toBe(alone);
    expect(await score(['--expert', strong, '--expert', strong, '--alpha', '0.5,0.5'])).toBe(alone);
  });

  it('prints a table with per-category and per-family accuracy', async () => {
    const r = await run(['eval', '--model', modelA, '--task', 'arith,string', '--n', '12']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^t2 eval: arith\+string \(test split, 12 problems, seed 0\) on .*, reward task\n/,
    );
    expect(r.stdout).toMatch(/accuracy \d\.\d{3} \(\d+\/12\)/);
    expect(r.stdout).toMatch(/category\s+correct\s+total\s+accuracy\n/);
    expect(r.stdout).toMatch(/\nmath\s+\d+\s+\d+\s+\d\.\d{3}\n/);
    expect(r.stdout).toMatch(/\nstring\s+\d+\s+\d+\s+\d\.\d{3}\n/);
    expect(r.stdout).toMatch(/family\s+correct/);
  });

  it('evaluates JSONL data by its categories', async () => {
    const data = join(dir, 'eval.jsonl');
    const lines = [
      { prompt: '1+1=', answer: 2, category: 'math' },
      { prompt: 'up ab=', answer: 'AB', category: 'string' },
      { prompt: '2+2=', answer: '4', category: 'math' },
    ];
    await writeFile(data, lines.map((l) => JSON.stringify(l)).join('\n'));
    const r = await run(['eval', '--model', modelA, '--data', data, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.n).toBe(3);
    expect(result.perCategory.math.total).toBe(2);
    expect(result.perCategory.string.total).toBe(1);
  });

  it('refuses an expert made for another base model', async () => {
    const r = await run([
      'eval',
      '--model',
      modelB,
      '--expert',
      expert,
      '--task',
      'arith',
      '--n',
      '4',
      '--cache',
      cache,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${expert}: this expert was made for another base model`);
  });

  it('reports bad input clearly', async () => {
    const base = ['eval', '--model', modelA, '--cache', cache];
    const cases: [string[], RegExp][] = [
      [['--task', 'algebra'], /--task: unknown task family 'algebra'/],
      [['--task', 'arith', '--reward', 'regex:['], /--reward regex:\[: Invalid regular expression/],
      [
        ['--task', 'arith', '--expert', join(dir, 'none.safetensors')],
        /--expert .*none\.safetensors: no such file/,
      ],
      [
        ['--task', 'arith', '--expert', expert, '--alpha', '1,2'],
        /--alpha: 2 weights for 1 expert$/m,
      ],
      [
        ['--task', 'arith', '--expert', expert, '--adapter', dir],
        /--expert and --adapter cannot be combined/,
      ],
      [['--task', 'arith', '--split', 'dev'], /--split must be one of train, validation, test/],
      [['--task', 'arith', '--n', '0'], /--n: expected an integer ≥ 1, got '0'/],
      [[], /give exactly one of --task NAME or --data FILE/],
    ];
    for (const [extra, message] of cases) {
      const r = await run([...base, ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"prompt": "1+1=", "answer": "2"}\n{"prompt": 3, "answer": "4"}\n');
    const jsonl = await run([...base, '--data', bad]);
    expect(jsonl.code).toBe(2);
    expect(jsonl.stderr).toContain(`${bad}:2: "prompt" must be a string`);
    const bare = join(dir, 'bare');
    await cp(modelA, bare, { recursive: true });
    await rm(join(bare, 'tokenizer.json'));
    const noTok = await run(['eval', '--model', bare, '--task', 'arith']);
    expect(noTok.code).toBe(2);
    expect(noTok.stderr).toMatch(/has no tokenizer\.json: t2 eval needs one/);
  });
});

describe('t2 eval --strategy', () => {
  let rt: TinyRuntime;
  beforeAll(async () => {
    rt = await makeTinyRuntime();
  });
  afterAll(async () => {
    await rm(rt.dir, { recursive: true, force: true });
  });
  const evalArgs = (extra: string[]) => [
    'eval',
    '--model',
    rt.model,
    '--cache',
    rt.cache,
    '--reward',
    `module:${fingerprint}`,
    '--json',
    ...extra,
  ];
  const json = async (extra: string[]) => {
    const r = await run(evalArgs(extra));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    return JSON.parse(r.stdout);
  };

  it('none is the base model, oracle the expert of each sample’s category', async () => {
    // The fingerprint reward makes equal mean rewards mean (almost surely) equal answers.
    const base = await json(['--task', 'arith', '--n', '8']);
    const none = await json(['--task', 'arith', '--n', '8', '--strategy', 'none']);
    expect(none.strategy).toBe('none');
    expect(none.meanReward).toBe(base.meanReward);
    for (const family of ['arith', 'string']) {
      const expert = await json([
        '--task',
        family,
        '--n',
        '8',
        '--expert',
        join(rt.experts, `${family}.safetensors`),
      ]);
      const oracle = await json(['--task', family, '--n', '8', '--strategy', 'oracle']);
      expect(oracle.meanReward, family).toBe(expert.meanReward);
      expect(oracle.meanReward, family).not.toBe(
        (await json(['--task', family, '--n', '8'])).meanReward,
      );
    }
  });

  it('reports routing for prompt and classifier, per family', async () => {
    for (const strategy of ['prompt', 'classifier']) {
      const r = await json(['--task', 'arith,logic', '--n', '6', '--strategy', strategy]);
      expect(r.n).toBe(6);
      expect(r.routing.total).toBe(6);
      expect(r.routing.perTask.arith.total + r.routing.perTask.logic.total).toBe(6);
      expect(r.routing.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.timings.pass1Ms).toBeGreaterThan(0);
      expect(r.timings.totalMs).toBeGreaterThanOrEqual(r.timings.pass2Ms);
    }
  });

  it('adapts few-shot α once per family on validation shots, then reuses the cache', async () => {
    const alphaCache = join(rt.dir, 'eval-alpha.json');
    const args = fewShotArgs('arith,count', alphaCache);
    const first = await json(args);
    expect(Object.keys(first.fewShot).sort()).toEqual(['arith', 'count']);
    for (const f of Object.values(first.fewShot) as {
      source: string;
      examples: number;
      alpha: Record<string, number>;
    }[]) {
      expect(f.source).toBe('search');
      expect(f.examples).toBe(2);
      expect(Object.values(f.alpha).reduce((s, a) => s + a, 0)).toBeCloseTo(1, 6);
    }
    expect(first.alphaCache).toBe(alphaCache);
    const cached = JSON.parse(await readFile(alphaCache, 'utf8'));
    expect(Object.keys(cached.tasks).sort()).toEqual(['arith', 'count']);
    const second = await json(args);
    for (const [task, f] of Object.entries(second.fewShot) as [
      string,
      { source: string; alpha: unknown },
    ][]) {
      expect(f.source).toBe('cache');
      expect(f.alpha).toEqual(first.fewShot[task].alpha);
    }
    expect(second.meanReward).toBe(first.meanReward);
    // The text report shows each family's α as bars.
    const text = await run(['eval', '--model', rt.model, '--cache', rt.cache, ...args]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /few-shot α per task \(cache .*eval-alpha\.json\):\n {2}arith: from the cache/,
    );
    expect(text.stdout).toMatch(/ {4}arith \(math\) +[█░]{10} \d\.\d\d\n/);
    expect(text.stdout).toMatch(/\nfamily +correct +total +accuracy\n/);
  });

  it('--mixing additive searches α unnormalised and keeps it apart from convex α', async () => {
    const alphaCache = join(rt.dir, 'eval-alpha-mixing.json');
    const args = (mixing: string) => [...fewShotArgs('arith', alphaCache), '--mixing', mixing];
    const convex = await json(args('convex'));
    expect(
      Object.values(convex.fewShot.arith.alpha as Record<string, number>).reduce(
        (s, a) => s + a,
        0,
      ),
    ).toBeCloseTo(1, 6);
    // the convex α cached for the same shots is not reused: additive searches its own
    const additive = await json(args('additive'));
    expect(additive.fewShot.arith.source).toBe('search');
    const raw = Object.values(additive.fewShot.arith.alpha as Record<string, number>);
    expect(raw.every((a) => a >= 0 && a <= 1)).toBe(true);
    expect(raw.reduce((s, a) => s + a, 0)).not.toBeCloseTo(1, 3);
    const cached = JSON.parse(await readFile(alphaCache, 'utf8'));
    expect(cached.tasks.arith.mixing).toBe('additive');
    expect((await json(args('additive'))).fewShot.arith.source).toBe('cache');
  });

  it('routes JSONL data by its categories', async () => {
    const data = join(rt.dir, 'routed.jsonl');
    const lines = [
      { prompt: '1+1=', answer: '2', category: 'math' },
      { prompt: 'up ab=', answer: 'AB', category: 'string' },
      { prompt: 'max 3 4=', answer: '4', category: 'logic' },
    ];
    await writeFile(data, lines.map((l) => JSON.stringify(l)).join('\n'));
    const oracle = await json(['--data', data, '--strategy', 'oracle']);
    expect(oracle.n).toBe(3);
    expect(Object.keys(oracle.perCategory).sort()).toEqual(['logic', 'math', 'string']);
    const routed = await json(['--data', data, '--strategy', 'classifier']);
    expect(Object.keys(routed.routing.perTask).sort()).toEqual(['logic', 'math', 'string']);
    await writeFile(data, '{"prompt": "1+1=", "answer": "2"}\n');
    const r = await run(['eval', '--model', rt.model, '--data', data, '--strategy', 'oracle']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--strategy oracle needs each sample's category: sample 1 of .*routed\.jsonl has none/,
    );
  });

  it('reports bad strategy input clearly', async () => {
    const cases: [string[], RegExp][] = [
      [['--task', 'arith', '--strategy', 'magic'], /--strategy: unknown strategy 'magic'/],
      [
        [
          '--task',
          'arith',
          '--strategy',
          'oracle',
          '--expert',
          join(rt.experts, 'arith.safetensors'),
        ],
        /--expert cannot be combined with --strategy/,
      ],
      [['--task', 'arith', '--shots', '4'], /--shots applies to --strategy/],
      [
        ['--task', 'arith', '--strategy', 'none', '--shots', '4'],
        /--shots applies to --strategy few-shot/,
      ],
      [['--data', fingerprint, '--strategy', 'few-shot'], /--strategy few-shot needs --task/],
      [
        ['--task', 'arith', '--strategy', 'oracle', '--mixing', 'additive'],
        /--mixing applies to --strategy few-shot/,
      ],
      [
        ['--task', 'arith', '--strategy', 'few-shot', '--mixing', 'sum'],
        /--mixing: expected convex or additive, got 'sum'/,
      ],
      [
        ['--task', 'arith', '--strategy', 'none', '--experts', join(rt.dir, 'missing')],
        /--experts .*missing: no such folder/,
      ],
    ];
    for (const [extra, message] of cases) {
      const r = await run(['eval', '--model', rt.model, '--cache', rt.cache, ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const foreign = await run([
      'eval',
      '--model',
      rt.otherModel,
      '--experts',
      rt.experts,
      '--task',
      'arith',
      '--strategy',
      'none',
      '--cache',
      rt.cache,
    ]);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/this expert was made for another base model/);
  });
});
