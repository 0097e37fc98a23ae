/**
 * `npm run experiment:svf`: one SVF expert per domain and a LoRA baseline with the same
 * REINFORCE budget (steps × batch, learning rate, clip), on the bundled base model;
 * test accuracy of base vs adapted model per domain, trainable parameters and wall time.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { flags, t2, t2Eval, timed } from '../lib/cli';

const opts = flags({ model: 'models/t2-tiny', steps: '60', batch: '16', lr: '2e-3', n: '200', seed: '0', r: '4', out: '.t2-cache/experiments/svf' });
const domains = ['arith', 'string', 'logic'];

interface Row {
  domain: string;
  base: number;
  svf: number;
  lora: number;
  svfParams: number;
  loraParams: number;
  svfSeconds: number;
  loraSeconds: number;
}

/** `t2 rl … --json`: the closing summary line. */
async function rl(args: string[]): Promise<{ trainableValues: number }> {
  const lines = (await t2(['rl', ...args, '--json'])).trim().split('\n');
  return JSON.parse(lines.at(-1)!);
}

async function main(): Promise<void> {
  await mkdir(opts.out, { recursive: true });
  const common = ['--model', opts.model, '--steps', opts.steps, '--batch', opts.batch, '--lr', opts.lr, '--seed', opts.seed];
  const evalArgs = (task: string) => ['--model', opts.model, '--task', task, '--n', opts.n, '--seed', String(Number(opts.seed) + 1000)];
  const rows: Row[] = [];
  for (const domain of domains) {
    const base = await t2Eval(evalArgs(domain));
    const svfDir = `${opts.out}/${domain}-svf`;
    const loraDir = `${opts.out}/${domain}-lora`;
    const [svfRun, svfSeconds] = await timed(() => rl([...common, '--task', domain, '--method', 'svf', '--out', svfDir]));
    const [loraRun, loraSeconds] = await timed(() => rl([...common, '--task', domain, '--method', 'lora', '--r', opts.r, '--out', loraDir]));
    const svf = await t2Eval([...evalArgs(domain), '--expert', `${svfDir}/expert.safetensors`]);
    const lora = await t2Eval([...evalArgs(domain), '--adapter', `${loraDir}/lora`]);
    const row = {
      domain,
      base: base.accuracy,
      svf: svf.accuracy,
      lora: lora.accuracy,
      svfParams: svfRun.trainableValues,
      loraParams: loraRun.trainableValues,
      svfSeconds,
      loraSeconds,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  const results = {
    model: opts.model,
    budget: { steps: Number(opts.steps), batch: Number(opts.batch), lr: Number(opts.lr), clip: 1e-3, loraRank: Number(opts.r) },
    testProblemsPerDomain: Number(opts.n),
    seed: Number(opts.seed),
    date: new Date().toISOString(),
    rows,
  };
  await writeFile('experiments/svf/results.json', `${JSON.stringify(results, null, 2)}\n`);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const table = [
    '| domain | base | SVF expert | LoRA (r=' + opts.r + ') | SVF params | LoRA params | SVF time | LoRA time |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.domain} | ${pct(r.base)} | ${pct(r.svf)} | ${pct(r.lora)} | ${r.svfParams.toLocaleString('en-US')} | ${r.loraParams.toLocaleString('en-US')} | ${r.svfSeconds.toFixed(0)} s | ${r.loraSeconds.toFixed(0)} s |`,
    ),
  ].join('\n');
  console.log(`\n${table}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
