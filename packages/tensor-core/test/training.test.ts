import { describe, expect, it } from 'vitest';
import * as t from '../src/index';

/** Points in two concentric rings: not linearly separable. */
function rings(n: number, rng: t.Rng): { x: t.Tensor; y: number[] } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const r = (label ? 2 : 0.8) + 0.25 * rng.normal();
    const a = 2 * Math.PI * rng.uniform();
    xs.push(r * Math.cos(a), r * Math.sin(a));
    ys.push(label);
  }
  return { x: t.fromArray(xs, [n, 2]), y: ys };
}

class Mlp extends t.Module {
  fc1: t.Linear;
  fc2: t.Linear;
  constructor(rng: t.Rng) {
    super();
    this.fc1 = this.registerModule('fc1', new t.Linear(2, 32, { rng }));
    this.fc2 = this.registerModule('fc2', new t.Linear(32, 2, { rng }));
  }
  forward(x: t.Tensor): t.Tensor {
    return this.fc2.forward(t.tanh(this.fc1.forward(x)));
  }
}

function accuracy(logits: t.Tensor, labels: number[]): number {
  const pred = t.argmax(logits, -1).data;
  return labels.filter((l, i) => pred[i] === l).length / labels.length;
}

/** A one-block causal transformer over characters. */
class CharModel extends t.Module {
  embed: t.Embedding;
  norm: t.RMSNorm;
  qkv: t.Linear;
  out: t.Linear;
  head: t.Linear;
  constructor(
    vocab: number,
    readonly dim: number,
    rng: t.Rng,
  ) {
    super();
    this.embed = this.registerModule('embed', new t.Embedding(vocab, dim, { rng, std: 0.5 }));
    this.norm = this.registerModule('norm', new t.RMSNorm(dim, 1e-5));
    this.qkv = this.registerModule('qkv', new t.Linear(dim, 3 * dim, { bias: false, rng }));
    this.out = this.registerModule('out', new t.Linear(dim, dim, { bias: false, rng }));
    this.head = this.registerModule('head', new t.Linear(dim, vocab, { rng }));
  }
  forward(ids: number[], batch: number, seq: number): t.Tensor {
    const h = this.embed.forward(ids, [batch, seq]);
    const heads = (p: t.Tensor) => t.transpose(t.reshape(p, [batch, seq, 2, this.dim / 2]), 1, 2);
    const [q, k, v] = t.split(this.qkv.forward(this.norm.forward(h)), 3, -1).map(heads);
    const a = t.scaledDotProductAttention(t.rope(q!), t.rope(k!), v!, { causal: true });
    const h2 = t.add(h, this.out.forward(t.reshape(t.transpose(a, 1, 2), [batch, seq, this.dim])));
    return this.head.forward(h2);
  }
}

describe('training end to end', () => {
  it('a two-layer MLP reaches ≥ 95% accuracy on rings', () => {
    const rng = new t.Rng(42);
    const train = rings(400, rng);
    const test = rings(400, rng);
    const model = new Mlp(rng);
    const opt = new t.Adam(model.parameters(), { lr: 0.03 });
    for (let step = 0; step < 300; step++) {
      t.tidy(() => {
        opt.zeroGrad();
        t.crossEntropy(model.forward(train.x), train.y).backward();
        opt.step();
      });
    }
    const acc = t.noGrad(() => accuracy(model.forward(test.x), test.y));
    expect(acc).toBeGreaterThanOrEqual(0.95);
  });

  it('a tiny character-level transformer drives its loss below 0.5 nats in 150 steps', () => {
    const text = 'the cat sat on the mat. the dog sat on the log. ';
    const chars = [...new Set(text)].sort();
    const ids = [...text].map((c) => chars.indexOf(c));
    const rng = new t.Rng(7);
    const model = new CharModel(chars.length, 32, rng);
    const opt = new t.AdamW(model.parameters(), { lr: 0.01, weightDecay: 0 });
    const seq = 24;
    const batch = 8;
    const losses: number[] = [];
    for (let step = 0; step < 150; step++) {
      const inputs: number[] = [];
      const targets: number[] = [];
      for (let b = 0; b < batch; b++) {
        const start = rng.int(ids.length - seq - 1);
        inputs.push(...ids.slice(start, start + seq));
        targets.push(...ids.slice(start + 1, start + seq + 1));
      }
      t.tidy(() => {
        opt.zeroGrad();
        const loss = t.crossEntropy(model.forward(inputs, batch, seq), targets);
        loss.backward();
        t.clipGradNorm(model.parameters(), 1);
        opt.step();
        losses.push(loss.item());
      });
    }
    expect(losses[0]).toBeGreaterThan(2);
    const tail = losses.slice(-10).reduce((a, b) => a + b, 0) / 10;
    expect(tail).toBeLessThan(0.5);
  });
});
