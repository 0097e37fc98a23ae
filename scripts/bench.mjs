#!/usr/bin/env node
/**
 * `npm run bench`: builds, runs every package's bench one after the other (each writes its
 * figures through bench/figures.ts), then the PyTorch baselines (bench/pytorch_bench.py)
 * when a python3 with torch is installed, and writes one summary: the machine, every
 * figure, and the headline figures with their same-run baselines, ratios and
 * targets. Prints the headline table at the end. See bench/README.md.
 *
 *   node scripts/bench.mjs [--quick] [--only tensor-core,llama,svd,browser,pytorch] [--out FILE] [--no-build]
 *
 * --quick: short timings and the SVD bench's quick mode, to check that everything runs
 * (figures not worth keeping; written to bench/results/quick.json unless --out).
 * Otherwise the summary goes to bench/results/latest.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const TORCH_MISSING = 'skipped: python3-torch not installed (sudo apt-get install python3-torch)';

/** The benches, in the order they run. Each writes <source>.json into T2_BENCH_JSON_DIR. */
const BENCHES = {
  'tensor-core': { command: [npm, 'run', 'bench', '-w', '@t2/tensor-core'] },
  llama: { command: [npm, 'run', 'bench', '-w', '@t2/llama', '--', '--backend', 'wasm'] },
  svd: { command: [npm, 'run', 'bench', '-w', '@t2/svd'] },
  browser: { command: [npm, 'run', 'bench', '-w', '@t2/demo'] },
  pytorch: { python: true },
};

const mm = (shape, impl) => `tensor-core-matmul:matmul/${shape}/${impl}`;
const torchMm = (shape, threads) => `pytorch:matmul/${shape}/pytorch-${threads}`;

/**
 * The (#9) figures. `figure` and `baseline` are `<source>:<figure name>`; a ratio
 * is always oriented so that > 1 means the figure beats its baseline.
 * Targets: atLeast / atMost a value, ratioAtLeast over the baseline, or atLeastBaseline
 * (the baseline measured in this run, else the value the issue quotes).
 */
const HEADLINES = [
  ...[
    ['512x512x512', '512²', 44],
    ['256x64x172', '256×64×172', 30],
  ].flatMap(([shape, label, target]) => [
    {
      label: `matmul ${label} f32, wasm all threads`,
      figure: mm(shape, 'wasm-all-threads'),
      baseline: mm(shape, 'tfjs-wasm'),
      targets: [{ atLeast: target }],
    },
    {
      label: `matmul ${label} f32, wasm 1 thread`,
      figure: mm(shape, 'wasm-1thread'),
      baseline: mm(shape, 'tfjs-wasm'),
    },
    {
      label: `matmul ${label} f32, Chromium wasm all threads`,
      figure: `browser:matmul/${shape}/chromium-wasm-all-threads`,
      baseline: mm(shape, 'tfjs-wasm'),
      targets: [{ atLeast: target }],
    },
    {
      label: `matmul ${label} f32, Chromium wasm 1 thread`,
      figure: `browser:matmul/${shape}/chromium-wasm-1thread`,
    },
    { label: `matmul ${label} f32, tfjs-wasm`, figure: mm(shape, 'tfjs-wasm') },
    { label: `matmul ${label} f32, plain JS`, figure: mm(shape, 'plain-js') },
    { label: `matmul ${label} f32, PyTorch 1 thread`, figure: torchMm(shape, '1thread') },
    { label: `matmul ${label} f32, PyTorch all threads`, figure: torchMm(shape, 'all-threads') },
  ]),
  {
    label: 'train stories260K b8×s256 AdamW, wasm all threads',
    figure: 'tensor-core-wasm:train/stories260K/wasm-all-threads',
    baseline: 'pytorch:train/stories260K/pytorch',
    targets: [{ atLeastBaseline: true, quoted: 8500, quotedAs: 'PyTorch as quoted in the issue' }],
  },
  {
    label: 'train stories260K b8×s256 AdamW, wasm 1 thread',
    figure: 'tensor-core-wasm:train/stories260K/wasm-1thread',
    baseline: 'pytorch:train/stories260K/pytorch',
  },
  {
    label: 'generate stories260K greedy KV cache, wasm',
    figure: 'llama:generate/stories260K/wasm',
    baseline: 'pytorch:generate/stories260K/pytorch',
    targets: [{ atLeast: 4000, note: "llama2.c's speed, quoted" }],
  },
  {
    label: 'generate stories15M shape greedy KV cache, wasm',
    figure: 'llama:generate/stories15M/wasm',
    baseline: 'pytorch:generate/stories15M/pytorch',
    targets: [{ atLeast: 150 }],
  },
  {
    // gpu.js GPU modes keeping every op's result on the GPU across forward and backward;
    // the baseline is the same backend reading each result back (SwiftShader here).
    label: 'train small LLaMA step, Chromium WebGL2, results on the GPU',
    figure: 'browser:train/small-llama/chromium-webgl2-resident',
    baseline: 'browser:train/small-llama/chromium-webgl2-readback',
  },
  {
    label: 'thin SVD 512² f64, @t2/svd',
    figure: 'svd:svd/512x512/t2-svd',
    baseline: 'svd:svd/512x512/ml-matrix',
    targets: [{ atMost: 450 }, { ratioAtLeast: 7 }],
  },
];

function parseOptions() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
    },
  });
  const only = values.only ? values.only.split(',').filter(Boolean) : Object.keys(BENCHES);
  const unknown = only.filter((name) => !(name in BENCHES));
  if (unknown.length) {
    throw new Error(`--only: unknown ${unknown.join(', ')}; known: ${Object.keys(BENCHES)}`);
  }
  const out = resolve(
    values.out ?? join(repo, 'bench', 'results', values.quick ? 'quick.json' : 'latest.json'),
  );
  return { quick: values.quick, only, out, build: !values['no-build'] };
}

function machine() {
  let cpu = cpus()[0]?.model;
  try {
    // In containers os.cpus() can say less than /proc/cpuinfo.
    cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {}
  return {
    cpu,
    cores: cpus().length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`,
    node: process.version,
  };
}

const loads = () => loadavg().map((x) => Number(x.toFixed(2)));

/**
 * A python3 that can import torch: $T2_PYTHON if set, else python3 on the PATH, else Debian's
 * own (where python3-torch installs, when a pyenv or venv python3 comes first on the PATH).
 * bench/real-size.ts looks the same way.
 */
function pythonWithTorch() {
  const candidates = process.env.T2_PYTHON
    ? [process.env.T2_PYTHON]
    : ['python3', '/usr/bin/python3'];
  return candidates.find(
    (py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
  );
}

/** Runs one bench; returns what the summary records of the run. */
function runBench(name, jsonDir, quick) {
  const started = Date.now();
  const env = { ...process.env, T2_BENCH_JSON_DIR: jsonDir };
  if (quick) Object.assign(env, { T2_BENCH_QUICK: '1', SVD_BENCH_QUICK: '1' });
  let command = BENCHES[name].command;
  let result;
  if (BENCHES[name].python) {
    const python = pythonWithTorch();
    if (!python) {
      console.log(`\n== ${name}: ${TORCH_MISSING}`);
      return { bench: name, skipped: TORCH_MISSING };
    }
    command = [python, 'bench/pytorch_bench.py', '--json', ...(quick ? ['--quick'] : [])];
    console.log(`\n== ${name}: ${command.join(' ')}`);
    result = spawnSync(command[0], command.slice(1), {
      cwd: repo,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 64 * 2 ** 20,
    });
    if (result.status === 0) writeFileSync(join(jsonDir, 'pytorch.json'), result.stdout);
  } else {
    console.log(`\n== ${name}: ${command.join(' ')}`);
    result = spawnSync(command[0], command.slice(1), { cwd: repo, env, stdio: 'inherit' });
  }
  const run = {
    bench: name,
    command: command.join(' '),
    exit_code: result.status,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  if (result.error) run.error = result.error.message;
  else if (result.status !== 0) run.error = `exited with ${result.status ?? result.signal}`;
  return run;
}

/** Every figure written, by `<source>:<name>`, and each source's env. */
function readFigures(jsonDir) {
  const sources = {};
  const byKey = new Map();
  for (const file of readdirSync(jsonDir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const { source, env, figures } = JSON.parse(readFileSync(join(jsonDir, file), 'utf8'));
    sources[source] = { env, figures };
    for (const f of figures) byKey.set(`${source}:${f.name}`, f);
  }
  return { sources, byKey };
}

function fmt(x) {
  if (x === null || x === undefined) return '—';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(3)).toString();
}

/** A target's text and whether it is met (null when a figure it needs is missing). */
function checkTarget(target, value, unit, baseline, ratio) {
  if (target.atLeast !== undefined) {
    const met = value === null ? null : value >= target.atLeast;
    return { target: `≥ ${fmt(target.atLeast)} ${unit}`, met, note: target.note };
  }
  if (target.atMost !== undefined) {
    const met = value === null ? null : value <= target.atMost;
    return { target: `≤ ${fmt(target.atMost)} ${unit}`, met };
  }
  if (target.ratioAtLeast !== undefined) {
    const met = ratio === null ? null : ratio >= target.ratioAtLeast;
    return { target: `≥ ${target.ratioAtLeast}× ${baseline?.impl ?? 'baseline'}`, met };
  }
  // atLeastBaseline: the baseline from this run if there is one, else the quoted figure.
  const measured = baseline?.value ?? null;
  const threshold = measured ?? target.quoted;
  return {
    target: `≥ ${fmt(threshold)} ${unit}`,
    met: value === null ? null : value >= threshold,
    note:
      measured === null
        ? `${target.quotedAs} (baseline not measured in this run)`
        : 'the baseline measured in this run',
  };
}

function headline(spec, byKey) {
  const fig = byKey.get(spec.figure) ?? null;
  const base = spec.baseline ? (byKey.get(spec.baseline) ?? null) : null;
  const value = fig?.value ?? null;
  let ratio = null;
  if (fig && base) {
    ratio = fig.better === 'lower' ? base.value / fig.value : fig.value / base.value;
    ratio = Number(ratio.toFixed(3));
  }
  const baseline = spec.baseline && {
    figure: spec.baseline,
    impl: spec.baseline.split('/').at(-1),
    value: base?.value ?? null,
    ...(base?.threads === undefined ? {} : { threads: base.threads }),
  };
  const unit = fig?.unit ?? base?.unit ?? '';
  return {
    label: spec.label,
    figure: spec.figure,
    value,
    unit,
    ...(fig?.threads === undefined ? {} : { threads: fig.threads }),
    ...(baseline ? { baseline, ratio } : {}),
    targets: (spec.targets ?? []).map((t) => checkTarget(t, value, unit, baseline, ratio)),
  };
}

function printTable(rows, runs) {
  const skipped = new Set(runs.filter((r) => r.skipped).map((r) => r.bench));
  const lines = rows.map((r) => {
    const label =
      r.threads > 1 ? r.label.replace('all threads', `all threads (${r.threads})`) : r.label;
    return [
      label,
      r.value !== null
        ? `${fmt(r.value)} ${r.unit}`
        : skipped.has(benchOf(r.figure))
          ? 'skipped'
          : 'missing',
      r.baseline ? `${r.baseline.impl} ${fmt(r.baseline.value)}` : '',
      r.ratio === null || r.ratio === undefined ? '' : `${fmt(r.ratio)}×`,
      r.targets.map((t) => t.target).join(', '),
      r.targets.map((t) => (t.met === null ? '?' : t.met ? 'yes' : 'NO')).join(', '),
    ];
  });
  const head = ['figure', 'value', 'baseline (same run)', 'ratio', 'target', 'met'];
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const show = (cells) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  console.log(show(head));
  console.log(show(widths.map((w) => '-'.repeat(w))));
  for (const l of lines) console.log(show(l));
}

function main() {
  const opts = parseOptions();
  const started = new Date();
  const loadStart = loads();
  if (opts.build) {
    const build = spawnSync(npx, ['turbo', 'run', 'build', '--output-logs=errors-only'], {
      cwd: repo,
      stdio: 'inherit',
    });
    if (build.status !== 0) throw new Error('build failed');
  }
  const jsonDir = mkdtempSync(join(tmpdir(), 't2-bench-'));
  const runs = [];
  try {
    for (const name of opts.only) runs.push(runBench(name, jsonDir, opts.quick));
    const { sources, byKey } = readFigures(jsonDir);
    const wanted = HEADLINES.filter((h) => opts.only.includes(benchOf(h.figure)));
    const summary = wanted.map((h) => headline(h, byKey));
    const result = {
      date: started.toISOString(),
      quick: opts.quick,
      only: opts.only,
      machine: { ...machine(), load_average_start: loadStart, load_average_end: loads() },
      note: 'ratio > 1: the figure beats its baseline, both measured in this run',
      runs,
      summary,
      sources,
    };
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(
      `\nMachine: ${result.machine.cpu}, ${result.machine.cores} cores, Node ${process.version}; ` +
        `load average ${loadStart.join(' ')} at start, ${result.machine.load_average_end.join(' ')} at end` +
        (opts.quick ? '. QUICK RUN: timings too short to quote.' : '.'),
    );
    for (const r of runs.filter((r) => r.skipped || r.error)) {
      console.log(`${r.bench}: ${r.skipped ?? r.error}`);
    }
    console.log();
    printTable(summary, runs);
    const shown = relative(process.cwd(), opts.out);
    console.log(`\nWrote ${shown.startsWith('..') ? opts.out : shown}`);
  } finally {
    rmSync(jsonDir, { recursive: true, force: true });
  }
  if (runs.some((r) => r.error)) process.exitCode = 1;
}

/** Which bench (of BENCHES) writes the source a figure key names. */
function benchOf(key) {
  const source = key.split(':')[0];
  return source.startsWith('tensor-core') ? 'tensor-core' : source;
}

try {
  main();
} catch (err) {
  console.error(`bench: ${err.message}`);
  process.exitCode = 2;
}
