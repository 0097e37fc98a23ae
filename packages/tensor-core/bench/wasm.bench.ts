/**
 * `npx tsx bench/wasm.bench.ts [--skip-js] [--only matmul|train|generate]`:
 * the WebAssembly backend against the js backend and tfjs-backend-wasm (XNNPACK),
 * measured side by side in one run. One JSON line per case:
 *   matmul: GFLOP/s (median and best run) per shape and implementation, with
 *           ratio_vs_tfjs_wasm; every implementation is timed including moving its
 *           operands in and the result out (tfjs: tensor upload + dataSync);
 *   train:  stories260K-shape training steps (batch 8 × seq 256, AdamW), tokens/s;
 *   generate: greedy decoding with a KV cache, tokens/s.
 * With T2_BENCH_JSON_DIR set, also writes the training figures (../../../bench/figures.ts);
 * with T2_BENCH_QUICK=1, fewer training steps. `npm run bench` runs `--only train --skip-js`.
 */
import { benchQuick, type Figure, writeFigures } from '../../../bench/figures';
import * as t from '../src/index';
import { backendMatmul, type MatmulFn, tfjsWasm } from './baselines';
import { generate, STORIES_260K, TinyLlama, trainStep } from './wasm-model';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const skipJs = args.includes('--skip-js');

function emit(line: Record<string, unknown>): void {
  console.log(JSON.stringify(line));
}

interface Timing {
  median: number;
  best: number;
  reps: number;
  /** Process CPU time (all threads) per run, ms. */
  cpu: number;
}

/** Timings of repeated runs after warm-up (which also lets V8 tier the wasm up). */
function time(fn: () => unknown, targetMs: number, maxReps: number): Timing {
  const w0 = performance.now();
  do fn();
  while (performance.now() - w0 < Math.min(200, targetMs / 2));
  const samples: number[] = [];
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (samples.length < maxReps && (samples.length < 3 || performance.now() - start < targetMs)) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  samples.sort((a, b) => a - b);
  return {
    median: samples[samples.length >> 1]!,
    best: samples[0]!,
    reps: samples.length,
    cpu: (cpu.user + cpu.system) / 1000 / samples.length,
  };
}

function randomArray(n: number, rng: t.Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 2 * rng.uniform() - 1;
  return out;
}

const SHAPES: [number, number, number][] = [
  [64, 64, 64],
  [256, 64, 64],
  [256, 64, 172],
  [256, 256, 256],
  [512, 512, 512],
  [512, 768, 768],
  [1024, 1024, 1024],
];

async function benchMatmul(impls: [string, MatmulFn][]): Promise<void> {
  const rng = new t.Rng(1);
  for (const [m, k, n] of SHAPES) {
    const a = randomArray(m * k, rng);
    const b = randomArray(k * n, rng);
    const flops = 2 * m * k * n;
    const rows: Record<string, Timing> = {};
    let reference: Float32Array | null = null;
    for (const [name, fn] of impls) {
      // js runs ~1 GFLOP/s: few repetitions of the big shapes.
      const slow = name === 'js';
      if (slow && flops > 3e8 && skipJs) continue;
      const result = fn(a, b, m, k, n);
      reference ??= result;
      let err = 0;
      for (let i = 0; i < result.length; i++)
        err = Math.max(err, Math.abs(result[i]! - reference[i]!));
      rows[name] = time(() => fn(a, b, m, k, n), slow ? 300 : 600, slow ? 3 : 500);
      const r = rows[name]!;
      emit({
        bench: 'matmul',
        shape: `${m}x${k}x${n}`,
        impl: name,
        gflops: +(flops / r.median / 1e6).toFixed(2),
        gflops_best: +(flops / r.best / 1e6).toFixed(2),
        // Per second of process CPU time: the steadier figure on a shared machine for
        // one thread; for several it measures work done, not speed.
        gflops_cpu: +(flops / r.cpu / 1e6).toFixed(2),
        ms: +r.median.toFixed(4),
        reps: r.reps,
        max_abs_diff_vs_first: +err.toExponential(2),
      });
    }
    const tfjs = rows['tfjs-wasm'];
    if (tfjs) {
      for (const [name, r] of Object.entries(rows)) {
        if (name === 'tfjs-wasm') continue;
        emit({
          bench: 'matmul-ratio',
          shape: `${m}x${k}x${n}`,
          impl: name,
          ratio_vs_tfjs_wasm: +(tfjs.median / r.median).toFixed(2),
          ratio_vs_tfjs_wasm_best: +(tfjs.best / r.best).toFixed(2),
          ratio_vs_tfjs_wasm_cpu: +(tfjs.cpu / r.cpu).toFixed(2),
        });
      }
    }
  }
}

async function benchTrain(
  name: string,
  backend: t.Backend,
  steps: number,
  figureImpl: string,
  threads: number,
): Promise<Figure> {
  const { batch, seq } = { batch: 8, seq: 256 };
  const rng = new t.Rng(2);
  const model = new TinyLlama(STORIES_260K, rng);
  const opt = new t.AdamW(model.parameters(), { lr: 1e-3 });
  const ids = Array.from({ length: batch * seq }, () => rng.int(STORIES_260K.vocab));
  const targets = ids.map((_, i) => (i % seq === seq - 1 ? -100 : ids[i + 1]!));
  return t.withBackend(backend, () => {
    const first = trainStep(model, opt, ids, targets, batch, seq);
    const times: number[] = [];
    let last = first;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      last = trainStep(model, opt, ids, targets, batch, seq);
      times.push(performance.now() - t0);
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000 / steps;
    times.sort((a, b) => a - b);
    const median = times[times.length >> 1]!;
    const line = {
      bench: 'train',
      config: 'stories260K shapes, batch 8 x seq 256, AdamW',
      impl: name,
      tokens_per_s: Math.round((batch * seq) / (median / 1000)),
      tokens_per_s_best: Math.round((batch * seq) / (times[0]! / 1000)),
      ms_per_step: +median.toFixed(1),
      // CPU time of the whole process (all threads) per step: on a shared machine the
      // steadier figure for one thread, an upper bound on work for several.
      cpu_ms_per_step: +cpuMs.toFixed(1),
      tokens_per_cpu_s: Math.round((batch * seq) / (cpuMs / 1000)),
      steps,
      loss_first: +first.toFixed(4),
      loss_last: +last.toFixed(4),
      reference_pytorch_tokens_per_s: 8500,
    };
    emit(line);
    return {
      name: `train/stories260K/${figureImpl}`,
      value: line.tokens_per_s,
      unit: 'tokens/s',
      better: 'higher',
      threads,
      tokens_per_s_best: line.tokens_per_s_best,
      ms_per_step: line.ms_per_step,
      cpu_ms_per_step: line.cpu_ms_per_step,
      steps,
      loss_first: line.loss_first,
      loss_last: line.loss_last,
    };
  });
}

function benchGenerate(name: string, backend: t.Backend, tokens: number, runs: number): void {
  const model = new TinyLlama(STORIES_260K, new t.Rng(3));
  t.withBackend(backend, () => {
    // Warm-up long enough for V8 to tier the kernels up.
    for (let i = 0; i < 2; i++) generate(model, [1], tokens);
    const rates: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const out = generate(model, [1], tokens);
      rates.push(out.length / ((performance.now() - t0) / 1000));
    }
    const cpu = process.cpuUsage(cpu0);
    rates.sort((a, b) => a - b);
    emit({
      bench: 'generate',
      config: 'stories260K shapes, batch 1, greedy, KV cache (concat)',
      impl: name,
      tokens,
      tokens_per_s: Math.round(rates[rates.length >> 1]!),
      tokens_per_s_best: Math.round(rates[rates.length - 1]!),
      tokens_per_cpu_s: Math.round((runs * tokens) / ((cpu.user + cpu.system) / 1e6)),
      reference_llama2c_tokens_per_s: 4000,
    });
  });
}

async function main(): Promise<void> {
  const js = t.createJsBackend();
  const wasm1 = await t.createWasmBackend({ threads: 1 });
  const wasmN = await t.createWasmBackend();
  const backends: [string, t.HostBackend][] = [
    ['js', js],
    ['wasm-1thread', wasm1],
    [`wasm-${wasmN.threads}threads`, wasmN],
  ];
  // Names and thread counts in the written figures (stable whatever the host's cores).
  const figureImpl = new Map([
    [js, { impl: 'js', threads: 1 }],
    [wasm1, { impl: 'wasm-1thread', threads: 1 }],
    [wasmN, { impl: 'wasm-all-threads', threads: wasmN.threads }],
  ]);
  const figures: Figure[] = [];
  emit({ bench: 'env', node: process.version, threads_available: wasmN.threads });
  if (!only || only === 'matmul') {
    const tfjs = await tfjsWasm();
    emit({ bench: 'env', tfjs_wasm: { simd: tfjs.simd, threads: tfjs.threads } });
    await benchMatmul([
      ...backends.map(([n, b]) => [n, backendMatmul(b)] as [string, MatmulFn]),
      ['tfjs-wasm', tfjs.matmul],
    ]);
  }
  if (!only || only === 'train') {
    for (const [name, b] of backends) {
      if (name === 'js' && skipJs) continue;
      const { impl, threads } = figureImpl.get(b)!;
      const steps = name === 'js' || benchQuick ? 2 : 8;
      figures.push(await benchTrain(name, b, steps, impl, threads));
    }
  }
  if (!only || only === 'generate') {
    for (const [name, b] of backends) benchGenerate(name, b, 255, 5);
  }
  writeFigures('tensor-core-wasm', figures, {
    node: process.version,
    threads_available: wasmN.threads,
  });
  t.disposeWasmBackend();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
