/**
 * `npm run experiment:t2`: the Transformer² table at small scale on the bundled model.
 * Rows: base, each expert alone, prompt, classifier, few-shot, oracle; columns: each expert
 * domain and the held-out families; mean and 95% confidence interval over seeds (each seed
 * draws other test problems and, for few-shot, other shots and CEM samples). Then writes
 * experiments/REPORT.md with this table and the Bone and SVF tables.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { flags, meanCi, t2, timed } from '../lib/cli';
import { writeReport } from './report';

const opts = flags({
  model: 'models/t2-tiny',
  seeds: '3',
  n: '50',
  shots: '8',
  'cem-iterations': '5',
  population: '32',
  'report-only': 'no',
});
const families = ['arith', 'string', 'logic', 'count', 'sort'];
const experts = ['arith', 'string', 'logic'];

interface Cell {
  mean: number;
  ci95: number;
  runs: number[];
}
export interface T2Results {
  model: string;
  families: string[];
  seeds: number[];
  n: number;
  shots: number;
  cem: { iterations: number; population: number };
  rows: { name: string; cells: Record<string, Cell>; seconds: number }[];
  date: string;
}

/** Accuracy per family: one `t2 eval` per family so every family gets exactly n problems. */
async function evalRow(args: string[], seed: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const family of families) {
    const text = await t2(['eval', '--model', opts.model, '--task', family, '--n', opts.n, '--seed', String(seed), '--json', ...args]);
    out[family] = (JSON.parse(text.trim().split('\n').pop()!) as { accuracy: number }).accuracy;
  }
  return out;
}

async function main(): Promise<void> {
  const read = async (p: string) => JSON.parse(await readFile(p, 'utf8').catch(() => 'null'));
  if (opts['report-only'] === 'yes') {
    // Rewrites REPORT.md from the committed results without rerunning anything.
    const saved = await read('experiments/transformer2/results.json');
    await writeReport(saved, await read('experiments/bone/results.json'), await read('experiments/svf/results.json'));
    console.log('wrote experiments/REPORT.md');
    return;
  }
  const seeds = Array.from({ length: Number(opts.seeds) }, (_, i) => 1000 + i);
  const expertsDir = `${opts.model}/experts`;
  const configs: [string, (seed: number) => string[]][] = [
    ['base', () => ['--strategy', 'none']],
    ...experts.map((e) => [`expert: ${e}`, () => ['--expert', `${expertsDir}/${e}.safetensors`]] as [string, () => string[]]),
    ['Transformer² prompt', () => ['--strategy', 'prompt']],
    ['Transformer² classifier', () => ['--strategy', 'classifier']],
    [
      'Transformer² few-shot',
      (seed) => [
        '--strategy',
        'few-shot',
        '--shots',
        opts.shots,
        '--cem-iterations',
        opts['cem-iterations'],
        '--population',
        opts.population,
        '--alpha-cache',
        `.t2-cache/experiments/t2/alpha-${seed}.json`,
      ],
    ],
    ['oracle', () => ['--strategy', 'oracle']],
  ];
  const rows: T2Results['rows'] = [];
  for (const [name, args] of configs) {
    const runs: Record<string, number>[] = [];
    const [, seconds] = await timed(async () => {
      for (const seed of seeds) runs.push(await evalRow(args(seed), seed));
    });
    const cells = Object.fromEntries(
      families.map((f) => {
        const xs = runs.map((r) => r[f]!);
        return [f, { ...meanCi(xs), runs: xs }];
      }),
    );
    rows.push({ name, cells, seconds });
    console.log(`${name}: ${families.map((f) => `${f} ${(100 * cells[f]!.mean).toFixed(1)}%`).join('  ')} (${seconds.toFixed(0)} s)`);
  }
  const results: T2Results = {
    model: opts.model,
    families,
    seeds,
    n: Number(opts.n),
    shots: Number(opts.shots),
    cem: { iterations: Number(opts['cem-iterations']), population: Number(opts.population) },
    rows,
    date: new Date().toISOString(),
  };
  await writeFile('experiments/transformer2/results.json', `${JSON.stringify(results, null, 2)}\n`);
  await writeReport(results, await read('experiments/bone/results.json'), await read('experiments/svf/results.json'));
  console.log('wrote experiments/transformer2/results.json and experiments/REPORT.md');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
