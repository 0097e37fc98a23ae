/**
 * `npm run bench -w @t2/tensor-core`: float32 matmul throughput of each tensor-core
 * backend against three baselines, then the buffer pool's hit rate in a training loop.
 * Prints one JSON line per case. Timings include moving operands in and results out.
 * With T2_BENCH_JSON_DIR set, also writes the matmul figures (../../../bench/figures.ts);
 * with T2_BENCH_QUICK=1, shapes up to 512³, briefly.
 */
import { cpus } from 'node:os';
import { benchQuick, type Figure, writeFigures } from '../../../bench/figures';
import * as t from '../src/index';
import { backendMatmul, gpuJsNaiveWebasm, type MatmulFn, plainJsIkj, tfjsWasm } from './baselines';
import { poolHitRate } from './training-loop';

/** m × k × n, smallest work first so each estimate comes from a smaller measured case. */
const ALL_SHAPES: [number, number, number][] = [
  [64, 64, 64],
  [256, 64, 64],
  [256, 64, 172],
  [256, 256, 256],
  [512, 512, 512],
  [512, 768, 768],
  [1024, 1024, 1024],
];
/**
 * Quick: up to 512³, the largest shape with a target in the issue (#9). The smaller shapes
 * stay: they also warm the implementations up (tfjs-wasm measured first, cold, reads 3× low).
 */
const SHAPES = benchQuick ? ALL_SHAPES.filter(([m, k, n]) => m * k * n <= 512 ** 3) : ALL_SHAPES;

/** A case whose warm-up plus one timed run is expected to exceed this is skipped. */
const CASE_LIMIT_MS = 20_000;
/** Timed runs repeat until this much time has passed (at least one, at most MAX_REPS). */
// About a second of runs per case: the median of a few short runs swung by 1.5× between
// runs on a shared 2-core machine, most for the threaded backend.
const TARGET_MS = benchQuick ? 100 : 1000;
const MAX_REPS = 200;

function emit(line: Record<string, unknown>): void {
  console.log(JSON.stringify(line));
}

function randomMatrix(n: number, seed: number): Float32Array {
  const rng = new t.Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 2 * rng.uniform() - 1;
  return out;
}

/** Median milliseconds of repeated runs after one warm-up (which compiles kernels). */
function time(fn: () => Float32Array): { ms: number; result: Float32Array; reps: number } {
  const result = fn();
  const samples: number[] = [];
  const start = performance.now();
  while (
    samples.length < MAX_REPS &&
    (samples.length === 0 || performance.now() - start < TARGET_MS)
  ) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)]!, result, reps: samples.length };
}

/** Largest |got − want| relative to the largest |want|. */
function relError(got: Float32Array, want: Float32Array): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / (scale || 1);
}

async function main(): Promise<void> {
  const tfw = await tfjsWasm();
  const available = await t.availableBackends();
  emit({
    case: 'env',
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    backends: available,
    tfjs_wasm_simd: tfw.simd,
    tfjs_wasm_threads: tfw.threads,
  });

  const impls: { name: string; fn: MatmulFn; threads?: number }[] = [
    { name: 'tfjs_wasm', fn: tfw.matmul },
    { name: 'plain_js', fn: plainJsIkj },
    { name: 'gpujs_webasm_naive', fn: gpuJsNaiveWebasm() },
  ];
  // The brief's three backends always get a line; any other registered backend that works here too.
  const backends = [...new Set(['js', 'gpujs-cpu', 'gpujs-webasm', ...available])];
  for (const name of backends) {
    if (!available.includes(name))
      emit({ case: 'matmul', impl: name, skipped: `backend '${name}' is not available here` });
    else if (name !== 'wasm') impls.push({ name, fn: backendMatmul(await t.loadBackend(name)) });
    else {
      // wasm twice: on the calling thread alone, and on every thread it starts by default.
      const one = await t.createWasmBackend({ threads: 1 });
      const all = await t.createWasmBackend();
      impls.push({ name: 'wasm_1thread', fn: backendMatmul(one), threads: 1 });
      impls.push({ name: 'wasm_all_threads', fn: backendMatmul(all), threads: all.threads });
    }
  }
  const figures: Figure[] = [];

  /** Last measured GFLOP/s per implementation, to predict the next (larger) case. */
  const lastRate = new Map<string, number>();
  for (const [m, k, n] of SHAPES) {
    const a = randomMatrix(m * k, m + k);
    const b = randomMatrix(k * n, k + n);
    const flops = 2 * m * k * n;
    const rates = new Map<string, number>();
    let want: Float32Array | null = null;
    for (const { name, fn, threads } of impls) {
      const rate = lastRate.get(name);
      if (rate !== undefined) {
        // Warm-up plus one timed run, with a 1.5× margin: throughput drops as operands outgrow the caches.
        const estimateMs = (1.5 * 2 * flops) / (rate * 1e6);
        if (estimateMs > CASE_LIMIT_MS) {
          emit({
            case: 'matmul',
            impl: name,
            m,
            k,
            n,
            skipped: `estimated ${(estimateMs / 1000).toFixed(0)} s > 20 s`,
          });
          continue;
        }
      }
      let timing: ReturnType<typeof time>;
      try {
        timing = time(() => fn(a, b, m, k, n));
      } catch (e) {
        emit({ case: 'matmul', impl: name, m, k, n, error: (e as Error).message });
        continue;
      }
      const { ms, result, reps } = timing;
      const gflops = flops / (ms * 1e6);
      lastRate.set(name, gflops);
      rates.set(name, gflops);
      want ??= result;
      const line: Record<string, unknown> = {
        case: 'matmul',
        impl: name,
        m,
        k,
        n,
        ...(threads === undefined ? {} : { threads }),
        ms: +ms.toFixed(3),
        reps,
      };
      line.gflops = +gflops.toFixed(3);
      for (const base of ['tfjs_wasm', 'plain_js', 'gpujs_webasm_naive']) {
        const r = rates.get(base);
        if (r !== undefined && base !== name) line[`vs_${base}`] = +(gflops / r).toFixed(3);
      }
      line.rel_err_vs_tfjs = +relError(result, want).toExponential(2);
      emit(line);
      figures.push({
        name: `matmul/${m}x${k}x${n}/${name.replaceAll('_', '-')}`,
        value: line.gflops as number,
        unit: 'GFLOP/s',
        better: 'higher',
        ...(threads === undefined ? {} : { threads }),
        ms: line.ms,
        reps,
        rel_err_vs_tfjs: line.rel_err_vs_tfjs,
      });
    }
  }
  writeFigures('tensor-core-matmul', figures, {
    node: process.version,
    cpu: cpus()[0]?.model,
    backends: available,
    tfjs_wasm_simd: tfw.simd,
    tfjs_wasm_threads: tfw.threads,
  });

  for (const name of backends.filter((x) => available.includes(x))) {
    await t.setBackend(name);
    const s = poolHitRate();
    emit({
      case: 'buffer_pool',
      backend: name,
      steps: s.steps,
      acquires: s.acquires,
      hits: s.hits,
      hit_rate: +s.hitRate.toFixed(4),
      ms_per_step: +s.msPerStep.toFixed(2),
    });
  }
  await t.setBackend('js');
  t.disposeWasmBackend();
}

await main();
