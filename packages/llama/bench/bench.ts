/**
 * Throughput of @t2/llama on the CPU (JSON lines): greedy decoding with the KV cache and
 * one full-sequence forward pass, for the real stories260K checkpoint and a randomly
 * initialised model of the stories15M shape. Run: npm run bench -w @t2/llama
 * (add `-- --backend js,wasm` to compare tensor-core backends; js by default).
 * With T2_BENCH_JSON_DIR set, also writes its figures (../../../bench/figures.ts); with
 * T2_BENCH_QUICK=1, times each case for 0.5 s instead of 2 s.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getBackend, noGrad, Rng, setBackend, tidy } from '@t2/tensor-core';
import { benchQuick, type Figure, writeFigures } from '../../../bench/figures';
import {
  createConfig,
  generate,
  type LlamaForCausalLM,
  loadLlama2cFile,
  LlamaForCausalLM as Model,
} from '../src/index';

// Reference figures quoted by the issue, not measured in this run.
const REFERENCE = {
  stories260K: { 'llama2.c (C, -O3)': 4100, 'PyTorch 1.13 + OpenBLAS': 395 },
  stories15M: { 'PyTorch 1.13 + OpenBLAS': 95 },
} as const;

const shared =
  process.env.T2_SHARED ?? fileURLToPath(new URL('../../../../shared/', import.meta.url));

/**
 * Mean wall time per run, and CPU time of this process per run: on a shared machine the
 * CPU time is the steadier figure (wall time also counts waiting for a core).
 */
function time(
  fn: () => void,
  minSeconds = benchQuick ? 0.5 : 2,
): { seconds: number; cpuSeconds: number; runs: number } {
  fn(); // warm-up (JIT, buffer pool)
  let runs = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let elapsed = 0;
  do {
    fn();
    runs++;
    elapsed = (performance.now() - start) / 1000;
  } while (elapsed < minSeconds);
  const cpu = process.cpuUsage(cpuStart);
  return { seconds: elapsed / runs, cpuSeconds: (cpu.user + cpu.system) / 1e6 / runs, runs };
}

const figures: Figure[] = [];

function report(
  model: keyof typeof REFERENCE,
  bench: string,
  tokens: number,
  t: { seconds: number; cpuSeconds: number; runs: number },
) {
  const tokensPerSecond = tokens / t.seconds;
  const backend = getBackend();
  // The wasm backend's worker threads (all the host's cores, up to 8, unless configured).
  const threads = (backend as { threads?: number }).threads ?? 1;
  figures.push({
    name: `${bench === 'greedy-generate-kv-cache' ? 'generate' : 'forward'}/${model}/${backend.name}`,
    value: Number(tokensPerSecond.toFixed(1)),
    unit: 'tokens/s',
    better: 'higher',
    threads,
    tokens,
    runs: t.runs,
    tokens_per_cpu_s: Number((tokens / t.cpuSeconds).toFixed(1)),
  });
  const ratios = Object.fromEntries(
    Object.entries(REFERENCE[model]).map(([name, tps]) => [
      name,
      Number((tokensPerSecond / tps).toFixed(3)),
    ]),
  );
  console.log(
    JSON.stringify({
      bench,
      model,
      backend: getBackend().name,
      tokens,
      runs: t.runs,
      seconds: Number(t.seconds.toFixed(4)),
      tokensPerSecond: Number(tokensPerSecond.toFixed(1)),
      tokensPerCpuSecond: Number((tokens / t.cpuSeconds).toFixed(1)),
      referenceTokensPerSecond: REFERENCE[model],
      ratioToReference: ratios,
      note: 'reference figures are quoted from the issue, not measured in this run',
    }),
  );
}

function benchModel(
  name: keyof typeof REFERENCE,
  model: LlamaForCausalLM,
  genTokens: number,
  seqLen: number,
) {
  const gen = time(() => {
    const out = generate(model, [1], { maxNewTokens: genTokens, eosTokenIds: [] });
    if (out.tokens.length !== genTokens) throw new Error('generation stopped early');
  });
  report(name, 'greedy-generate-kv-cache', genTokens, gen);
  const rng = new Rng(0);
  const ids = [
    1,
    ...Array.from({ length: seqLen - 1 }, () => 3 + rng.int(model.config.vocabSize - 3)),
  ];
  const full = time(() => noGrad(() => tidy(() => void model.forward([ids]))));
  report(name, 'full-sequence-forward', seqLen, full);
}

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'js' } } });
const backends = values.backend.split(',').filter(Boolean);

const { model: stories260K } = await loadLlama2cFile(
  join(shared, 'fixtures/stories260K/stories260K.bin'),
);
const config15M = createConfig({
  hiddenSize: 288,
  intermediateSize: 768,
  numHiddenLayers: 6,
  numAttentionHeads: 6,
  vocabSize: 32000,
  maxPositionEmbeddings: 256,
  rmsNormEps: 1e-5,
  tieWordEmbeddings: true,
});
const stories15M = new Model(config15M, { rng: new Rng(1) });

for (const backend of backends) {
  try {
    await setBackend(backend);
  } catch (err) {
    console.log(JSON.stringify({ backend, error: (err as Error).message }));
    continue;
  }
  benchModel('stories260K', stories260K, 256, 256);
  benchModel('stories15M', stories15M, 128, 256);
}
writeFigures('llama', figures, { node: process.version, backends });
