import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expertCategories, parseCategory, sampleTask } from '@t2/tasks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExpertInfo } from '../src/lib/runtime';
import { alphaBars, renderTrace } from '../src/lib/trace-view';
import { makeTinyRuntime, type TinyRuntime, t2 } from './tiny-runtime';

let rt: TinyRuntime;
let shots: string;
const TASK_EXPERTS = ['arith', 'logic', 'string'];
const LABEL_OF: Record<string, string> = { arith: 'math', logic: 'logic', string: 'string' };

beforeAll(async () => {
  rt = await makeTinyRuntime();
  shots = join(rt.dir, 'count-shots.jsonl');
  const examples = sampleTask('count', { n: 3, seed: 0, split: 'validation' });
  await writeFile(
    shots,
    `${examples.map((e) => JSON.stringify({ prompt: e.prompt, answer: e.answer })).join('\n')}\n`,
  );
});
afterAll(async () => {
  await rm(rt.dir, { recursive: true, force: true });
});

const cem = ['--cem-iterations', '1', '--population', '4'];

function runArgs(strategy: string, extra: string[] = []): string[] {
  return [
    'run',
    '--model',
    rt.model,
    '--strategy',
    strategy,
    '--prompt',
    '12+35=',
    '--cache',
    rt.cache,
    '--max-new-tokens',
    '4',
    ...extra,
  ];
}

interface RunJson {
  prompt: string;
  answer: string;
  output: string;
  trace: {
    strategy: string;
    label?: string;
    alpha: Record<string, number> | null;
    pass1Output?: string;
    task?: string;
    alphaSource?: string;
    cacheHit: boolean;
    timings: Record<string, number>;
  };
}

function checkTimings(t: Record<string, number>): void {
  for (const key of ['pass1Ms', 'adaptMs', 'composeMs', 'pass2Ms', 'totalMs']) {
    expect(t[key], key).toBeGreaterThanOrEqual(0);
  }
  expect(t.totalMs).toBeGreaterThanOrEqual(t.pass1Ms! + t.pass2Ms! - 1e-6);
}

describe('t2 run', () => {
  it('answers with each routing strategy and traces how pass 1 chose the experts', async () => {
    for (const strategy of ['none', 'prompt', 'classifier']) {
      const r = await t2(runArgs(strategy, ['--json']));
      expect(r.code, r.stderr).toBe(0);
      // --json: one JSON document and nothing else on stdout.
      const out = JSON.parse(r.stdout) as RunJson;
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
      expect(out.prompt).toBe('12+35=');
      expect(out.output.startsWith(out.answer) || out.output.trim().startsWith(out.answer)).toBe(
        true,
      );
      expect(out.trace.strategy).toBe(strategy);
      checkTimings(out.trace.timings);
      if (strategy === 'none') {
        expect(out.trace.alpha).toBeNull();
        expect(out.trace.pass1Output).toBeUndefined();
        expect(out.trace.timings.pass1Ms).toBe(0);
        continue;
      }
      // Pass 1's output decides the label; the label picks the expert (or the base model).
      expect(typeof out.trace.pass1Output).toBe('string');
      expect(out.trace.label).toBe(parseCategory(out.trace.pass1Output!, expertCategories));
      const expert = TASK_EXPERTS.find((e) => LABEL_OF[e] === out.trace.label);
      if (expert === undefined) expect(out.trace.alpha).toBeNull();
      else
        expect(out.trace.alpha).toEqual(
          Object.fromEntries(TASK_EXPERTS.map((e) => [e, e === expert ? 1 : 0])),
        );
    }
  });

  it('prints the answer and the trace with α bars on the terminal', async () => {
    const cacheFile = join(rt.dir, 'alpha-text.json');
    const r = await t2(runArgs('few-shot', ['--shots', shots, ...cem, '--alpha-cache', cacheFile]));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^t2 run: few-shot on /);
    expect(r.stdout).toMatch(/\nprompt {2}12\+35=\nanswer {2}.*\n/);
    expect(r.stdout).toMatch(/ {2}strategy {3}few-shot\n/);
    expect(r.stdout).toMatch(/ {2}task {7}count-shots: α searched now \(\d+ ms\)\n/);
    // One bar per task expert, in α order, values summing to 1.
    const bars = [...r.stdout.matchAll(/(arith \(math\)|logic|string) +([█░]{10}) (\d\.\d\d)\n/g)];
    expect(bars.map((m) => m[1])).toEqual(['arith (math)', 'logic', 'string']);
    for (const m of bars)
      expect(m[2]!.indexOf('░') < 0 ? 10 : m[2]!.indexOf('░')).toBe(Math.round(Number(m[3]) * 10));
    expect(bars.reduce((s, m) => s + Number(m[3]), 0)).toBeCloseTo(1, 1);
    expect(r.stdout).toMatch(
      /timings +pass 1 \d+ ms · adapt \d+ ms · compose \d+ ms.* · pass 2 \d+ ms · total \d+ ms\n/,
    );
    expect(r.stderr).toMatch(/CEM count-shots/);
  });

  it('searches few-shot α once, caches it in a file and reuses it', async () => {
    const cacheFile = join(rt.dir, 'alpha.json');
    const first = await t2(
      runArgs('few-shot', ['--shots', shots, ...cem, '--alpha-cache', cacheFile, '--json']),
    );
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(first.stdout) as RunJson;
    expect(a.trace.task).toBe('count-shots');
    expect(a.trace.alphaSource).toBe('search');
    expect(a.trace.timings.adaptMs).toBeGreaterThan(0);
    expect(Object.keys(a.trace.alpha!)).toEqual(TASK_EXPERTS);
    expect(Object.values(a.trace.alpha!).reduce((s, x) => s + x, 0)).toBeCloseTo(1, 6);
    const file = JSON.parse(await readFile(cacheFile, 'utf8'));
    expect(file.format).toBe('t2-alpha-cache');
    expect(file.tasks['count-shots'].experts).toEqual(TASK_EXPERTS);
    expect(file.tasks['count-shots'].examples).toBe(3);
    expect(file.tasks['count-shots'].alpha).toEqual(Object.values(a.trace.alpha!));

    // The second run finds α by task id, without the examples, and answers the same.
    const second = await t2(
      runArgs('few-shot', ['--task', 'count-shots', '--alpha-cache', cacheFile, '--json']),
    );
    expect(second.code, second.stderr).toBe(0);
    const b = JSON.parse(second.stdout) as RunJson;
    expect(b.trace.alphaSource).toBe('cache');
    expect(b.trace.timings.adaptMs).toBe(0);
    expect(b.trace.alpha).toEqual(a.trace.alpha);
    expect(b.output).toBe(a.output);
    expect(second.stderr).not.toMatch(/CEM/);

    // With the shots again: still the cache, unless --refresh asks for a new search.
    const third = await t2(
      runArgs('few-shot', ['--shots', shots, '--alpha-cache', cacheFile, '--json']),
    );
    expect((JSON.parse(third.stdout) as RunJson).trace.alphaSource).toBe('cache');
    const fresh = await t2(
      runArgs('few-shot', [
        '--shots',
        shots,
        ...cem,
        '--alpha-cache',
        cacheFile,
        '--refresh',
        '--json',
      ]),
    );
    expect((JSON.parse(fresh.stdout) as RunJson).trace.alphaSource).toBe('search');
  });

  it('keys cached α by the shots file content: another shots file of the same name is searched', async () => {
    const cacheFile = join(rt.dir, 'alpha-content.json');
    const first = await t2(
      runArgs('few-shot', ['--shots', shots, ...cem, '--alpha-cache', cacheFile, '--json']),
    );
    expect((JSON.parse(first.stdout) as RunJson).trace.alphaSource).toBe('search');
    // Same file name (so the same task id), other examples: the cached α says nothing about them.
    const otherDir = join(rt.dir, 'other');
    await mkdir(otherDir, { recursive: true });
    const other = join(otherDir, 'count-shots.jsonl');
    const examples = sampleTask('sort', { n: 3, seed: 1, split: 'validation' });
    await writeFile(
      other,
      `${examples.map((e) => JSON.stringify({ prompt: e.prompt, answer: e.answer })).join('\n')}\n`,
    );
    const second = await t2(
      runArgs('few-shot', ['--shots', other, ...cem, '--alpha-cache', cacheFile, '--json']),
    );
    expect(second.code, second.stderr).toBe(0);
    expect((JSON.parse(second.stdout) as RunJson).trace.alphaSource).toBe('search');
    // The terminal says where α came from.
    const third = await t2(runArgs('few-shot', ['--shots', other, '--alpha-cache', cacheFile]));
    expect(third.stdout).toMatch(/task {7}count-shots: α from the cache/);
  });

  it('keeps the default α cache apart for each set of experts', async () => {
    // Without --alpha-cache the file is named by a fingerprint of the expert files.
    const cwd = process.cwd();
    process.chdir(rt.dir);
    try {
      const r = await t2(runArgs('few-shot', ['--shots', shots, ...cem]));
      expect(r.code, r.stderr).toBe(0);
      const m = /α cache {4}(\.t2-cache\/alpha\/[0-9a-f]{16}\.json)\n/.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      const other = await t2(
        runArgs('few-shot', ['--shots', shots, ...cem, '--experts', rt.expertsWithoutClassifier]),
      );
      expect(other.code, other.stderr).toBe(0);
      // Same task experts, but another folder of files: another fingerprint.
      expect(other.stdout).not.toContain(m![1]!);
      expect(
        JSON.parse(await readFile(join(rt.dir, m![1]!), 'utf8')).tasks['count-shots'],
      ).toBeDefined();
    } finally {
      process.chdir(cwd);
    }
  });

  it('reports bad input as usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [
        runArgs('magic'),
        /--strategy: unknown strategy 'magic' \(known: none, prompt, classifier, few-shot\)/,
      ],
      [runArgs('oracle'), /--strategy oracle needs the true category .* t2 eval --strategy oracle/],
      [runArgs('few-shot'), /--strategy few-shot needs --shots FILE/],
      [
        runArgs('few-shot', ['--task', 'never-seen', '--alpha-cache', join(rt.dir, 'empty.json')]),
        /no α cached for task 'never-seen' in .*empty\.json; give --shots FILE/,
      ],
      [
        runArgs('few-shot', ['--shots', join(rt.dir, 'nope.jsonl')]),
        /--shots .*nope\.jsonl: no such file/,
      ],
      [runArgs('prompt', ['--shots', shots]), /--shots and --task belong to --strategy few-shot/],
      [
        runArgs('prompt', ['--experts', join(rt.dir, 'missing')]),
        /--experts .*missing: no such folder\. It should hold one SVF expert per category/,
      ],
      [
        runArgs('classifier', ['--experts', rt.expertsWithoutClassifier]),
        /--strategy classifier needs the classification expert .*classifier\.safetensors/,
      ],
      [
        [
          'run',
          '--model',
          rt.otherModel,
          '--experts',
          rt.experts,
          '--strategy',
          'none',
          '--prompt',
          '1+1=',
          '--cache',
          rt.cache,
        ],
        /arith\.safetensors: this expert was made for another base model/,
      ],
      [['run', '--strategy', 'none', '--prompt', '1+1='], /--model PATH is required/],
      [runArgs('none', ['--population', '1']), /--population: expected an integer ≥ 2/],
    ];
    for (const [argv, message] of cases) {
      const r = await t2(argv);
      expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    // The model's own experts folder is the default, named as such when missing.
    const noExperts = await t2([
      'run',
      '--model',
      rt.otherModel,
      '--strategy',
      'none',
      '--prompt',
      '1+1=',
    ]);
    expect(noExperts.code).toBe(2);
    expect(noExperts.stderr).toMatch(
      /--experts .*other\/experts: no such folder \(the default: MODEL\/experts/,
    );
  });
});

describe('trace rendering', () => {
  const experts: ExpertInfo[] = [
    { name: 'arith', label: 'math', role: 'task', file: 'a', targets: 1, values: 1 },
    { name: 'logic', label: 'logic', role: 'task', file: 'b', targets: 1, values: 1 },
  ];

  it('draws one bar per expert, a tenth of the bar per 0.1 of α', () => {
    expect(alphaBars({ arith: 0.75, logic: 0.25 }, experts)).toEqual([
      'arith (math)  ████████░░ 0.75',
      'logic         ███░░░░░░░ 0.25',
    ]);
    expect(alphaBars({ arith: 1, logic: 0 }, experts, 4)).toEqual([
      'arith (math)  ████ 1.00',
      'logic         ░░░░ 0.00',
    ]);
  });

  it('says when pass 1 named no expert, and when α is per layer', () => {
    const timings = { pass1Ms: 12, adaptMs: 0, composeMs: 0, pass2Ms: 3, totalMs: 15 };
    const other = renderTrace(
      {
        strategy: 'prompt',
        label: 'other',
        pass1Output: 'weather',
        alpha: null,
        cacheHit: true,
        timings,
      },
      experts,
    );
    expect(other).toEqual([
      '  strategy   prompt',
      '  pass 1     "weather" → other (12 ms)',
      "  α          no expert serves 'other': base model",
      '  timings    pass 1 12 ms · adapt 0 ms · compose 0 ms · pass 2 3 ms · total 15 ms',
    ]);
    const perLayer = renderTrace(
      {
        strategy: 'few-shot',
        task: 'sort',
        alphaSource: 'cache',
        alpha: { arith: 0.5, logic: 0.5 },
        alphaPerLayer: [
          [0.2, 0.8],
          [0.8, 0.2],
        ],
        cacheHit: true,
        timings,
      },
      experts,
    );
    expect(perLayer).toContain('  task       sort: α from the cache');
    expect(perLayer).toContain('             (mean over 2 adapted weights; --json has each)');
    expect(perLayer.at(-1)).toMatch(/compose 0 ms \(cached\)/);
  });
});
