import { describe, expect, it } from 'vitest';
import { createFakeDeviceBackend } from '../../../test-support/device-backend';
import * as t from '../src/index';
import { GpuJsDeviceData } from '../src/kernels/gpujs/device-data';

/**
 * Tensors computed by a device backend stay where they were computed: ops and autograd
 * hand each kernel the device data of its inputs, and values come to the host only when
 * the host reads them. The fake device backend counts those reads.
 */

/** A causal transformer block using every kind of op a training step meets. */
class Block extends t.Module {
  embed: t.Embedding;
  norm: t.RMSNorm;
  qkv: t.Linear;
  up: t.Linear;
  down: t.Linear;
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
    this.up = this.registerModule('up', new t.Linear(dim, 2 * dim, { rng }));
    this.down = this.registerModule('down', new t.Linear(2 * dim, dim, { bias: false, rng }));
    this.head = this.registerModule('head', new t.Linear(dim, vocab, { rng }));
  }
  forward(ids: number[], batch: number, seq: number): t.Tensor {
    const h = this.embed.forward(ids, [batch, seq]);
    const heads = (p: t.Tensor) => t.transpose(t.reshape(p, [batch, seq, 2, this.dim / 2]), 1, 2);
    const [q, k, v] = t.split(this.qkv.forward(this.norm.forward(h)), 3, -1).map(heads);
    const a = t.scaledDotProductAttention(t.rope(q!), t.rope(k!), v!, { causal: true });
    const h2 = t.add(h, t.reshape(t.transpose(a, 1, 2), [batch, seq, this.dim]));
    const [g, u] = t.split(this.up.forward(h2), 2, -1);
    const ff = this.down.forward(t.concat([t.mul(t.silu(g!), u!), t.clamp(u!, -1, 1)], -1));
    const h3 = t.add(
      h2,
      t.slice(
        t.pad(ff, [
          [0, 0],
          [1, 0],
          [0, 0],
        ]),
        [0, 0, 0],
        [batch, seq, this.dim],
      ),
    );
    return this.head.forward(h3);
  }
}

const vocab = 11;
const batch = 2;
const seq = 5;
const ids = Array.from({ length: batch * seq }, (_, i) => (i * 7 + 3) % vocab);
const targets = Array.from({ length: batch * seq }, (_, i) => (i * 5 + 1) % vocab);

function lossOf(model: Block): t.Tensor {
  const logits = model.forward(ids, batch, seq);
  const ce = t.crossEntropy(t.reshape(logits, [batch * seq, vocab]), targets);
  // A second term through softmax, a reduction with ties (max) and where.
  const p = t.softmax(logits, -1);
  const peak = t.mean(t.max(p, -1));
  const picked = t.sum(t.where(t.greater(p, 0.1), p, t.scalar(0)));
  return t.add(ce, t.mul(t.add(peak, picked), 0.01));
}

/** Loss and every parameter's gradient, computed on `backend`. */
function step(backend: t.Backend, model: Block): { loss: number; grads: Float32Array[] } {
  model.zeroGrad();
  return t.withBackend(backend, () =>
    t.tidy(() => {
      const loss = lossOf(model);
      loss.backward();
      return {
        loss: loss.item(),
        grads: model.parameters().map((p) => Float32Array.from(p.grad!.data)),
      };
    }),
  );
}

describe('device-resident tensors', () => {
  it('a forward and backward pass reads nothing back until the loss and gradients are read', () => {
    const model = new Block(vocab, 8, new t.Rng(3));
    const want = step(t.createJsBackend(), model);
    const dev = createFakeDeviceBackend();
    model.zeroGrad();
    const { loss, grads } = t.withBackend(dev, () =>
      t.tidy(() => {
        const l = lossOf(model);
        l.backward();
        expect(l.onDevice).toBe(true);
        // Nothing came back to the host during the whole forward and backward pass.
        expect(dev.readbacks).toBe(0);
        for (const p of model.parameters()) expect(p.grad!.onDevice).toBe(true);
        const lossValue = l.item();
        expect(dev.readbacks).toBe(1);
        const g = model.parameters().map((p) => Float32Array.from(p.grad!.data));
        expect(dev.readbacks).toBe(1 + model.parameters().length);
        return { loss: lossValue, grads: g };
      }),
    );
    // The fake device computes with the js kernels: identical numbers.
    expect(loss).toBe(want.loss);
    grads.forEach((g, i) => {
      expect(Array.from(g)).toEqual(Array.from(want.grads[i]!));
    });
    // Parameters stayed on the host: uploaded, never read back.
    expect(dev.uploads).toBeGreaterThan(0);
    for (const p of model.parameters()) expect(p.onDevice).toBe(false);
  });

  it('tidy and dispose free the device data; gradients live until zeroGrad', () => {
    const model = new Block(vocab, 8, new t.Rng(4));
    const dev = createFakeDeviceBackend();
    t.withBackend(dev, () =>
      t.tidy(() => {
        lossOf(model).backward();
      }),
    );
    // Only the parameters' gradients (kept by the parameters) are still on the device.
    const onDevice = model.parameters().filter((p) => p.grad?.onDevice).length;
    expect(onDevice).toBe(model.parameters().length);
    expect(dev.live).toBeGreaterThanOrEqual(onDevice);
    model.zeroGrad();
    // Attention's saved state is freed when its output is garbage-collected, not by tidy.
    expect(dev.live).toBeLessThanOrEqual(2);
  });

  it('an optimizer step on device gradients updates the host parameters like the js backend', () => {
    const a = new Block(vocab, 8, new t.Rng(5));
    const b = new Block(vocab, 8, new t.Rng(5));
    const optA = new t.AdamW(a.parameters(), { lr: 0.01 });
    const optB = new t.AdamW(b.parameters(), { lr: 0.01 });
    const dev = createFakeDeviceBackend();
    for (let i = 0; i < 3; i++) {
      step(t.createJsBackend(), a);
      optA.step();
      step(dev, b);
      optB.step();
    }
    a.parameters().forEach((p, i) => {
      expect(Array.from(b.parameters()[i]!.data)).toEqual(Array.from(p.data));
    });
  });

  it('reading on the host frees the device copy; another backend gets host values', () => {
    const dev = createFakeDeviceBackend();
    const x = t.withBackend(dev, () => t.exp(t.fromArray([0, 1, 2], [3])));
    expect(x.onDevice).toBe(true);
    expect(dev.live).toBe(1);
    // The js backend cannot read device data: the op reads it back first.
    const y = t.withBackend(t.createJsBackend(), () => t.mul(x, 2));
    expect(dev.readbacks).toBe(1);
    expect(x.onDevice).toBe(false);
    expect(dev.live).toBe(0);
    expect(Array.from(y.data)).toEqual([2, 2 * Math.fround(Math.E), 2 * Math.fround(Math.exp(2))]);
    // Host writes (as optimizers do) are what the next kernel reads.
    x.data[0] = 5;
    const z = t.withBackend(dev, () => t.add(x, 1));
    expect(z.data[0]).toBe(6);
    // A view shares the device data and keeps it alive until the last view is disposed.
    const w = t.withBackend(dev, () => t.neg(z));
    const v = w.view([1, 3]);
    w.dispose();
    expect(v.onDevice).toBe(true);
    expect(Array.from(v.data)).toEqual(Array.from(z.data).map((e) => -e));
    v.dispose();
    expect(dev.live).toBe(0);
  });
});

describe('gpu.js device data', () => {
  const handle = () => {
    const h = { output: [3], deleted: 0, toArray: () => new Float32Array([1, 2, 3]) };
    return Object.assign(h, {
      delete() {
        h.deleted++;
      },
    });
  };
  const stats = () => ({ readbacks: 0, uploads: 0, reshapes: 0 });

  it('reads back once per read, counts it, and frees the texture once', () => {
    const h = handle();
    const s = stats();
    const d = new GpuJsDeviceData({ destroyed: false, stats: s }, h, 3);
    expect(Array.from(d.read())).toEqual([1, 2, 3]);
    expect(s.readbacks).toBe(1);
    d.release();
    d.release();
    expect(h.deleted).toBe(1);
    expect(() => d.read()).toThrow(/released/);
  });

  it('says so when its backend was disposed before it was read', () => {
    const d = new GpuJsDeviceData({ destroyed: true, stats: stats() }, handle(), 3);
    expect(() => d.read()).toThrow(/backend that computed this tensor was disposed/);
  });
});
