// Thin float64 SVD against ml-matrix and svd-js, measured in the same run. Prints one JSON object
// per line: ratio = baseline ms / @t2/svd ms (higher is better for @t2/svd), from median wall
// times; cpu_ratio is the same from CPU times.
//
//   npm run bench -w @t2/svd                      # everything (the 4864×896 baselines take minutes)
//   SVD_BENCH_QUICK=1 npm run bench -w @t2/svd    # skip ml-matrix/svd-js on the two largest shapes
//
// Baseline `previous` is this package with its previous blocking (32-wide WY blocks, every
// product written back through JavaScript): it runs in the same process on every shape.
//
// With T2_BENCH_JSON_DIR set, also writes its figures (../../../bench/figures.ts): median wall ms
// per case of @t2/svd and of each baseline.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { type Figure, writeFigures } from '../../../bench/figures';
import { reconstruct, svd } from '../src/index';
import { setKernelArraysEnabled } from '../src/kernels/gemm';
import { setBlocking } from '../src/lapack/blocked';

const require = createRequire(import.meta.url);
// svd-js ships an ES build with extension-less imports that Node cannot load; use its CJS build.
const { SVD: svdJs } = require('svd-js') as {
  SVD: (a: number[][]) => { q: number[]; u: number[][]; v: number[][] };
};

const quick = process.env.SVD_BENCH_QUICK === '1';
const here = dirname(fileURLToPath(import.meta.url));
const fixture =
  process.env.STORIES260K_SAFETENSORS ??
  join(
    here,
    '..',
    '..',
    '..',
    '..',
    'shared',
    'fixtures',
    'stories260K',
    'hf',
    'model.safetensors',
  );

interface Case {
  name: string;
  /** The case's part of the figure names. */
  key: string;
  matrices: Array<{ rows: number; cols: number; data: Float64Array | Float32Array }>;
}

function gaussianMatrix(rows: number, cols: number, seed: number): Float64Array {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return Float64Array.from(
    { length: rows * cols },
    () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()),
  );
}

/** The MLP weights of a float32 safetensors file (header parsed here, no dependency). */
function mlpWeights(path: string): Case['matrices'] {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out: Case['matrices'] = [];
  for (const [key, info] of Object.entries(header)) {
    if (!/^model\.layers\.\d+\.mlp\.\w+_proj\.weight$/.test(key)) continue;
    if (info.dtype !== 'F32' || info.shape.length !== 2) throw new Error(`unexpected ${key}`);
    const [begin, end] = info.data_offsets;
    // Copy: the tensor's offset in the file need not be 4-byte aligned.
    const raw = bytes.subarray(8 + headerLength + begin, 8 + headerLength + end);
    const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    out.push({ rows: info.shape[0]!, cols: info.shape[1]!, data });
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/**
 * Median wall and CPU time (ms) of `reps` runs of `run`. CPU time is reported too because on a
 * shared machine it is far less noisy than wall time. Unless `warm` is false (for runs of many
 * seconds), it first runs once and for at least half a second so that V8 has optimised the hot
 * code.
 */
function time(run: () => void, reps: number, warm: boolean): { wall: number; cpu: number } {
  if (warm) {
    const start = performance.now();
    for (let i = 0; i < 1 || performance.now() - start < 500; i++) run();
  }
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < reps; r++) {
    const c = process.cpuUsage();
    const t = performance.now();
    run();
    walls.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpus.push((d.user + d.system) / 1000);
  }
  return { wall: median(walls), cpu: median(cpus) };
}

const baselines: Record<string, (m: Case['matrices'][number]) => () => void> = {
  previous: (m) => () => {
    setBlocking({ nb: 32, panel: 32 });
    setKernelArraysEnabled(false);
    try {
      svd(m);
    } finally {
      setBlocking();
      setKernelArraysEnabled(true);
    }
  },
  'ml-matrix': ({ rows, cols, data }) => {
    const a = Matrix.from1DArray(rows, cols, Array.from(data));
    return () => {
      new SingularValueDecomposition(a, { autoTranspose: true });
    };
  },
  // svd-js needs rows ≥ cols, so wide matrices are given transposed (the factors swap roles).
  'svd-js': ({ rows, cols, data }) => {
    const tall = rows >= cols;
    const a: number[][] = [];
    for (let i = 0; i < (tall ? rows : cols); i++) {
      a.push(
        Array.from({ length: tall ? cols : rows }, (_, j) =>
          tall ? data[i * cols + j]! : data[j * cols + i]!,
        ),
      );
    }
    return () => {
      svdJs(a);
    };
  },
};

const figures: Figure[] = [];

function figure(c: Case, impl: string, t: { wall: number; cpu: number }, reps: number): Figure {
  return {
    name: `svd/${c.key}/${impl}`,
    value: round(t.wall),
    unit: 'ms',
    better: 'lower',
    cpu_ms: round(t.cpu),
    reps,
  };
}

function runCase(c: Case, reps: number, baselineReps: number, withBaselines: boolean): void {
  const ours = time(
    () => {
      for (const m of c.matrices) svd(m);
    },
    reps,
    reps > 1,
  );
  let relErr = 0;
  for (const m of c.matrices) {
    const f = svd(m);
    const r = reconstruct(f);
    let num = 0;
    let den = 0;
    for (let i = 0; i < r.length; i++) {
      num += (r[i]! - m.data[i]!) ** 2;
      den += m.data[i]! ** 2;
    }
    relErr = Math.max(relErr, Math.sqrt(num / den));
  }
  figures.push({ ...figure(c, 't2-svd', ours, reps), rel_err: Number(relErr.toExponential(2)) });
  for (const [name, prepare] of Object.entries(baselines)) {
    const line: Record<string, unknown> = {
      bench: 'svd-thin-f64',
      case: c.name,
      impl: '@t2/svd',
      ms: round(ours.wall),
      cpu_ms: round(ours.cpu),
      rel_err: Number(relErr.toExponential(2)),
      baseline: name,
    };
    if (withBaselines || name === 'previous') {
      const runs = c.matrices.map(prepare);
      const n = name === 'previous' ? reps : baselineReps;
      const theirs = time(
        () => {
          for (const run of runs) run();
        },
        n,
        n > 1,
      );
      line.baseline_ms = round(theirs.wall);
      line.baseline_cpu_ms = round(theirs.cpu);
      line.ratio = round(theirs.wall / ours.wall);
      line.cpu_ratio = round(theirs.cpu / ours.cpu);
      figures.push(figure(c, name, theirs, n));
    } else {
      line.baseline_ms = null;
      line.ratio = null;
      line.note = 'baseline skipped (SVD_BENCH_QUICK=1)';
    }
    line.reps = reps;
    console.log(JSON.stringify(line));
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

const shapes: Array<[number, number, number, number]> = [
  // rows, cols, reps (ours), reps (baselines)
  [64, 64, 20, 10],
  [256, 256, 5, 3],
  [512, 512, 5, 3],
  [768, 256, 5, 3],
  [256, 768, 5, 3],
  // Qwen2.5-0.5B's MLP weights (up/gate and down projections).
  [4864, 896, 3, 1],
  [896, 4864, 3, 1],
];
for (const [rows, cols, reps, baselineReps] of shapes) {
  const data = gaussianMatrix(rows, cols, rows * 7919 + cols);
  const big = rows * cols > 1e6;
  runCase(
    { name: `${rows}x${cols}`, key: `${rows}x${cols}`, matrices: [{ rows, cols, data }] },
    reps,
    baselineReps,
    !(quick && big),
  );
}

let weights: Case['matrices'] | null = null;
try {
  weights = mlpWeights(fixture);
} catch (err) {
  console.log(
    JSON.stringify({ bench: 'svd-thin-f64', case: 'stories260K-mlp', skipped: String(err) }),
  );
}
if (weights) {
  runCase(
    {
      name: `stories260K-mlp (${weights.length} matrices)`,
      key: 'stories260K-mlp',
      matrices: weights,
    },
    5,
    3,
    true,
  );
}
writeFigures('svd', figures, { node: process.version, quick });
