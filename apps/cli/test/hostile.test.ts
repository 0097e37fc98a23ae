import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main';
import { generateHostileCases, type HostileCase } from './hostile/generate';

// Issue #16's hostile-input suite: every case from hostile/generate.ts is refused with one
// line (exit 2) naming the file, or handled correctly (exit 0). Cases marked `measure` run
// as a child process of the built CLI, and their peak memory is compared with loading a
// legitimate model / data set (T2_HOSTILE_REPORT=FILE writes the report as JSON).

const measureScript = fileURLToPath(new URL('./hostile/measure.mjs', import.meta.url));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
  maxRssMiB?: number;
}

async function inProcess(argv: string[]): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  const started = performance.now();
  const code = await main(argv, {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    isTTY: false,
  });
  return {
    code,
    stdout: out.join(''),
    stderr: err.join(''),
    seconds: (performance.now() - started) / 1000,
  };
}

async function measured(argv: string[], dir: string): Promise<Outcome> {
  const report = join(dir, `measure-${Math.random().toString(36).slice(2)}.json`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [measureScript, ...argv], {
      env: { ...process.env, T2_MEASURE_OUT: report },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', async () => {
      try {
        const m = JSON.parse(await readFile(report, 'utf8'));
        resolve({ code: m.code, stdout, stderr, seconds: m.seconds, maxRssMiB: m.maxRssMiB });
      } catch (e) {
        reject(new Error(`measure: no report (${(e as Error).message}); stderr: ${stderr}`));
      }
    });
  });
}

let dir: string;
let cases: HostileCase[] = [];
const results: (HostileCase & Outcome & { ok: boolean })[] = [];
const baseline: Record<string, Outcome> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-hostile-'));
  cases = await generateHostileCases(join(dir, 'corpus'));
  // Legitimate runs of the measured commands, for the memory comparison.
  const base = join(dir, 'corpus', 'base');
  baseline.model = await measured(['logits', '--model', base, '--tokens', '1,5,6', '--json'], dir);
  const data = join(dir, 'legit.jsonl');
  await writeFile(
    data,
    `${Array.from({ length: 8 }, (_, i) => JSON.stringify({ prompt: `${i}+1=`, completion: String(i + 1) })).join('\n')}\n`,
  );
  baseline.data = await measured(
    [
      'train',
      '--model',
      base,
      '--method',
      'lora',
      '--data',
      data,
      '--steps',
      '1',
      '--out',
      join(dir, 'legit-out'),
    ],
    dir,
  );
}, 120_000);

afterAll(async () => {
  const byClass = new Map<string, { n: number; ok: number }>();
  for (const r of results) {
    const c = byClass.get(r.cls) ?? { n: 0, ok: 0 };
    c.n++;
    if (r.ok) c.ok++;
    byClass.set(r.cls, c);
  }
  const lines = [
    `hostile-input suite: ${results.length} cases, ${results.filter((r) => r.ok).length} as expected`,
    ...[...byClass].map(([cls, c]) => `  ${cls.padEnd(20)} ${c.ok}/${c.n}`),
    `  peak memory (MiB): legitimate model ${baseline.model?.maxRssMiB?.toFixed(0)}, legitimate training ${baseline.data?.maxRssMiB?.toFixed(0)}`,
    ...results
      .filter((r) => r.maxRssMiB !== undefined)
      .map((r) => `    ${r.name}: ${r.maxRssMiB!.toFixed(0)} MiB, ${r.seconds.toFixed(2)} s`),
  ];
  console.log(lines.join('\n'));
  if (process.env.T2_HOSTILE_REPORT) {
    await writeFile(
      process.env.T2_HOSTILE_REPORT,
      `${JSON.stringify({ baseline, results }, null, 2)}\n`,
    );
  }
  await rm(dir, { recursive: true, force: true });
});

describe('hostile inputs are refused with one line naming the file, or handled', () => {
  it('the corpus covers every class with several cases', () => {
    const counts = new Map<string, number>();
    for (const c of cases) counts.set(c.cls, (counts.get(c.cls) ?? 0) + 1);
    expect(counts.size).toBeGreaterThanOrEqual(10);
    for (const [, count] of counts) expect(count).toBeGreaterThanOrEqual(3);
  });

  it('every case', async () => {
    const failures: string[] = [];
    for (const c of cases) {
      const r = c.measure ? await measured(c.argv, dir) : await inProcess(c.argv);
      const problems: string[] = [];
      if (c.expect === 'refused') {
        const text = r.stderr.trim();
        if (r.code !== 2) problems.push(`exit ${r.code}, expected 2`);
        if (text.split('\n').length !== 1) problems.push('more than one line');
        if (/internal error|\n\s+at /.test(r.stderr)) problems.push('an internal error');
        if (c.match && !new RegExp(c.match).test(text))
          problems.push(`does not match /${c.match}/`);
        if (c.names && !text.includes(c.names)) problems.push(`does not name ${c.names}`);
      } else {
        if (r.code !== 0) problems.push(`exit ${r.code}, expected 0`);
        if (c.match && !new RegExp(c.match).test(r.stdout))
          problems.push(`stdout does not match /${c.match}/`);
      }
      if (c.measure) {
        const legit = c.cls === 'data' ? baseline.data! : baseline.model!;
        if (r.maxRssMiB! > 2 * legit.maxRssMiB!) {
          problems.push(
            `peak memory ${r.maxRssMiB!.toFixed(0)} MiB > 2 × ${legit.maxRssMiB!.toFixed(0)} MiB`,
          );
        }
      }
      results.push({ ...c, ...r, ok: problems.length === 0 });
      if (problems.length) {
        failures.push(
          `[${c.cls}] ${c.name}: ${problems.join('; ')}\n    stderr: ${r.stderr.trim().slice(0, 400)}`,
        );
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  }, 240_000);
});
