import * as t from '../src/index';

/** A one-block causal transformer over a small vocabulary: the shapes of a real step. */
class TinyModel extends t.Module {
  embed: t.Embedding;
  norm: t.RMSNorm;
  qkv: t.Linear;
  out: t.Linear;
  up: t.Linear;
  down: t.Linear;
  head: t.Linear;

  constructor(
    vocab: number,
    readonly dim: number,
    readonly heads: number,
    rng: t.Rng,
  ) {
    super();
    this.embed = this.registerModule('embed', new t.Embedding(vocab, dim, { rng }));
    this.norm = this.registerModule('norm', new t.RMSNorm(dim, 1e-5));
    this.qkv = this.registerModule('qkv', new t.Linear(dim, 3 * dim, { bias: false, rng }));
    this.out = this.registerModule('out', new t.Linear(dim, dim, { bias: false, rng }));
    this.up = this.registerModule('up', new t.Linear(dim, 4 * dim, { bias: false, rng }));
    this.down = this.registerModule('down', new t.Linear(4 * dim, dim, { bias: false, rng }));
    this.head = this.registerModule('head', new t.Linear(dim, vocab, { rng }));
  }

  forward(ids: number[], batch: number, seq: number): t.Tensor {
    const h = this.embed.forward(ids, [batch, seq]);
    const split = (p: t.Tensor) =>
      t.transpose(t.reshape(p, [batch, seq, this.heads, this.dim / this.heads]), 1, 2);
    const [q, k, v] = t.split(this.qkv.forward(this.norm.forward(h)), 3, -1).map(split);
    const a = t.scaledDotProductAttention(t.rope(q!), t.rope(k!), v!, { causal: true });
    const h2 = t.add(h, this.out.forward(t.reshape(t.transpose(a, 1, 2), [batch, seq, this.dim])));
    const h3 = t.add(h2, this.down.forward(t.silu(this.up.forward(this.norm.forward(h2)))));
    return this.head.forward(h3);
  }
}

export interface PoolStats {
  steps: number;
  acquires: number;
  hits: number;
  hitRate: number;
  msPerStep: number;
}

/**
 * Runs `warmup + steps` training steps (forward, cross-entropy, backward, AdamW, each
 * inside tidy) on the active backend and reports the buffer pool's hits over the
 * measured steps only.
 */
export function poolHitRate(steps = 20, warmup = 5): PoolStats {
  const rng = new t.Rng(1);
  const vocab = 48;
  const batch = 4;
  const seq = 16;
  const model = new TinyModel(vocab, 32, 4, rng);
  const opt = new t.AdamW(model.parameters(), { lr: 1e-3 });
  const ids = Array.from({ length: batch * seq }, () => rng.int(vocab));
  const targets = ids.map((x) => (x + 1) % vocab);
  const step = () =>
    t.tidy(() => {
      opt.zeroGrad();
      t.crossEntropy(model.forward(ids, batch, seq), targets).backward();
      opt.step();
    });
  for (let i = 0; i < warmup; i++) step();
  const hits0 = t.bufferPool.hits;
  const misses0 = t.bufferPool.misses;
  const start = performance.now();
  for (let i = 0; i < steps; i++) step();
  const ms = performance.now() - start;
  const hits = t.bufferPool.hits - hits0;
  const acquires = hits + t.bufferPool.misses - misses0;
  return { steps, acquires, hits, hitRate: acquires ? hits / acquires : 0, msPerStep: ms / steps };
}
