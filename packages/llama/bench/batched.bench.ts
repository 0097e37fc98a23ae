/**
 * Batched decoding (JSON lines): 8 rows decoding greedily on the wasm backend, with the
 * rows advanced one at a time (what generateBatch did before: `FusedDecoder.feed` per row
 * and token, each streaming the weights) against one pass over the weights per token for
 * all rows (`FusedDecoder.step`, what generateBatch does now), in the same run; and
 * generateBatch end to end against generating each prompt alone. Run:
 *   npx tsx bench/batched.bench.ts [--model stories260K|smollm2] [--rows 8] [--tokens 32]
 * smollm2 is a randomly initialised model of SmolLM2-135M's exact shape (~540 MB of f32).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng, setBackend } from '@t2/tensor-core';
import {
  createConfig,
  FusedDecoder,
  generate,
  generateBatch,
  type LlamaForCausalLM,
  loadLlama2cFile,
  LlamaForCausalLM as Model,
} from '../src/index';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'stories260K' },
    rows: { type: 'string', default: '8' },
    tokens: { type: 'string', default: '32' },
    threads: { type: 'string' },
  },
});
const rows = Number(values.rows);
const newTokens = Number(values.tokens);
await setBackend('wasm');

const shared =
  process.env.T2_SHARED ?? fileURLToPath(new URL('../../../../shared/', import.meta.url));

async function load(name: string): Promise<LlamaForCausalLM> {
  if (name === 'stories260K') {
    return (await loadLlama2cFile(`${shared}fixtures/stories260K/stories260K.bin`)).model;
  }
  if (name === 'smollm2') {
    // SmolLM2-135M's config.json.
    const config = createConfig({
      hiddenSize: 576,
      intermediateSize: 1536,
      numHiddenLayers: 30,
      numAttentionHeads: 9,
      numKeyValueHeads: 3,
      vocabSize: 49152,
      maxPositionEmbeddings: 8192,
      rmsNormEps: 1e-5,
      ropeTheta: 100000,
      tieWordEmbeddings: true,
      bosTokenId: 0,
      eosTokenIds: [0],
    });
    const model = new Model(config, { rng: new Rng(1) });
    // Scale the weights so that activations stay finite over 30 layers.
    for (const [, t] of model.namedParameters())
      if (t.shape.length === 2)
        t.data.forEach((v, i, a) => {
          a[i] = v * 0.5;
        });
    return model;
  }
  throw new Error(`unknown --model ${name}`);
}

const model = await load(values.model!);
const vocab = model.config.vocabSize;
const prompts = Array.from({ length: rows }, (_, b) =>
  Array.from({ length: 4 + (b % 3) }, (_, i) => 1 + ((b * 37 + i * 11) % (vocab - 1))),
);
const argmax = (l: Float32Array) => {
  let best = 0;
  for (let i = 1; i < l.length; i++) if (l[i]! > l[best]!) best = i;
  return best;
};

/** Seconds for `newTokens` decode steps of every row (prompts fed first, not timed). */
function decodeSeconds(batched: boolean): { seconds: number; tokens: number[][] } {
  const capacity = Math.max(...prompts.map((p) => p.length)) + newTokens + 1;
  const dec = FusedDecoder.create(model, rows, capacity)!;
  try {
    const last = prompts.map((p, b) => argmax(dec.feed(b, p)));
    const out = prompts.map((_, b) => [last[b]!]);
    const ids = prompts.map((_, b) => b);
    const start = performance.now();
    for (let t = 0; t < newTokens; t++) {
      const logits = batched ? dec.step(ids, last) : ids.map((b) => dec.feed(b, [last[b]!]));
      logits.forEach((l, b) => {
        last[b] = argmax(l);
        out[b]!.push(last[b]!);
      });
    }
    return { seconds: (performance.now() - start) / 1000, tokens: out };
  } finally {
    dec.dispose();
  }
}

function best<T extends { seconds: number }>(n: number, fn: () => T): T {
  let b: T | null = null;
  for (let i = 0; i < n; i++) {
    const r = fn();
    if (!b || r.seconds < b.seconds) b = r;
  }
  return b!;
}

const repeats = values.model === 'smollm2' ? 2 : 5;
decodeSeconds(true); // warm-up
const perRow = best(repeats, () => decodeSeconds(false));
const batched = best(repeats, () => decodeSeconds(true));
const same = JSON.stringify(perRow.tokens) === JSON.stringify(batched.tokens);
const decoded = rows * newTokens;
console.log(
  JSON.stringify({
    bench: 'decode steps, rows one at a time vs one pass for all rows',
    model: values.model,
    rows,
    newTokens,
    perRowTokPerS: Math.round(decoded / perRow.seconds),
    batchedTokPerS: Math.round(decoded / batched.seconds),
    ratio: +(perRow.seconds / batched.seconds).toFixed(2),
    identicalTokens: same,
  }),
);

// End to end, prompts included: generateBatch against each prompt generated alone.
const opts = { maxNewTokens: newTokens, eosTokenIds: [] as number[] };
const timed = (fn: () => unknown) => {
  const s = performance.now();
  fn();
  return { seconds: (performance.now() - s) / 1000 };
};
const alone = best(repeats, () => timed(() => prompts.map((p) => generate(model, p, opts))));
const together = best(repeats, () => timed(() => generateBatch(model, prompts, opts)));
console.log(
  JSON.stringify({
    bench: 'generateBatch vs generate per prompt (prompts included)',
    model: values.model,
    rows,
    newTokens,
    alonePerPromptTokPerS: Math.round(decoded / alone.seconds),
    generateBatchTokPerS: Math.round(decoded / together.seconds),
    ratio: +(alone.seconds / together.seconds).toFixed(2),
  }),
);
process.exit(0);
