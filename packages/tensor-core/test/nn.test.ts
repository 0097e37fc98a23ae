import { describe, expect, it } from 'vitest';
import * as t from '../src/index';
import { expectClose } from './gradcheck';

class Block extends t.Module {
  q_proj = this.registerModule('q_proj', new t.Linear(4, 4, { bias: false, rng: new t.Rng(1) }));
  norm = this.registerModule('norm', new t.RMSNorm(4, 1e-5));
  forward(x: t.Tensor): t.Tensor {
    return this.q_proj.forward(this.norm.forward(x));
  }
}

class Toy extends t.Module {
  layers = this.registerModule('layers', new t.ModuleList([new Block(), new Block()]));
  forward(x: t.Tensor): t.Tensor {
    for (const layer of this.layers) x = layer.forward(x);
    return x;
  }
}

describe('nn.Module', () => {
  it('names parameters like Hugging Face checkpoints', () => {
    const m = new Toy();
    expect(m.namedParameters().map(([n]) => n)).toEqual([
      'layers.0.q_proj.weight',
      'layers.0.norm.weight',
      'layers.1.q_proj.weight',
      'layers.1.norm.weight',
    ]);
    expect(m.numParameters()).toBe(2 * (16 + 4));
    expect(m.namedModules().map(([n]) => n)).toContain('layers.1.q_proj');
    expect(m.getSubmodule('layers.1.q_proj')).toBeInstanceOf(t.Linear);
    expect(() => m.getSubmodule('layers.2')).toThrow(/no module 'layers.2'/);
  });

  it('loads a state dict in place and reports missing, unexpected and mis-shaped entries', () => {
    const a = new Toy();
    const b = new Toy();
    const w = b.getSubmodule('layers.0.q_proj') as t.Linear;
    const before = w.weight;
    b.loadStateDict(a.stateDict());
    expect(w.weight).toBe(before);
    expect(Array.from(w.weight.data)).toEqual(
      Array.from((a.getSubmodule('layers.0.q_proj') as t.Linear).weight.data),
    );
    const partial = a.stateDict();
    partial.delete('layers.1.norm.weight');
    partial.set('extra.weight', t.zeros([1]));
    expect(() => b.loadStateDict(partial)).toThrow(
      /missing layers.1.norm.weight; unexpected extra.weight/,
    );
    expect(() =>
      b.loadStateDict({ 'layers.0.norm.weight': t.zeros([5]) }, { strict: false }),
    ).toThrow(/'layers.0.norm.weight' has shape \[5\], the model expects \[4\]/);
  });

  it('replaces a submodule by path and uses the replacement in forward', () => {
    const m = new Toy();
    const x = t.randn([2, 4], { rng: new t.Rng(2) });
    const y0 = m.forward(x);
    class Doubler extends t.Module {
      constructor(readonly inner: t.Linear) {
        super();
        this.registerModule('base_layer', inner);
      }
      forward(v: t.Tensor): t.Tensor {
        return t.mul(this.inner.forward(v), 2);
      }
    }
    m.setSubmodule('layers.1.q_proj', new Doubler(m.getSubmodule('layers.1.q_proj') as t.Linear));
    // Block reads this.q_proj, which is the old field: modules that want replacement must
    // look children up at forward time; ModuleList does so for its items.
    m.setSubmodule('layers.1', new Block());
    expect(m.layers.at(1)).toBe(m.getSubmodule('layers.1'));
    expect(m.forward(x).shape).toEqual(y0.shape);
    expect(m.namedParameters().some(([n]) => n === 'layers.1.q_proj.weight')).toBe(true);
  });

  it('freezes parameters and toggles train/eval', () => {
    const m = new Toy();
    m.requiresGrad(false);
    expect(m.trainableParameters()).toHaveLength(0);
    m.eval();
    expect(m.layers.at(0).training).toBe(false);
  });

  it('Linear computes x Wᵀ + b and checks its input', () => {
    const lin = new t.Linear(3, 2);
    lin.weight.data.set([1, 2, 3, 4, 5, 6]);
    lin.bias!.data.set([0.5, -0.5]);
    const y = lin.forward(t.fromArray([1, 0, -1], [1, 3]));
    expectClose(y.data, [1 - 3 + 0.5, 4 - 6 - 0.5]);
    expect(() => lin.forward(t.zeros([1, 4]))).toThrow(/wrong last axis/);
    expect(new t.Linear(3, 2, { bias: false }).bias).toBeNull();
  });

  it('Embedding looks up rows; Dropout is seeded, inverted and off in eval', () => {
    const emb = new t.Embedding(5, 3, { rng: new t.Rng(3) });
    const rows = emb.forward([4, 0], [1, 2]);
    expect(rows.shape).toEqual([1, 2, 3]);
    expect(Array.from(rows.data.slice(0, 3))).toEqual(Array.from(emb.weight.data.slice(12, 15)));
    const x = t.ones([1000]);
    const d1 = new t.Dropout(0.25, new t.Rng(5)).forward(x);
    const d2 = new t.Dropout(0.25, new t.Rng(5)).forward(x);
    expect(Array.from(d1.data)).toEqual(Array.from(d2.data));
    const kept = d1.data.filter((v) => v !== 0);
    expect(kept.length).toBeGreaterThan(700);
    expect(kept.length).toBeLessThan(800);
    expectClose([kept[0]!], [1 / 0.75]);
    const drop = new t.Dropout(0.5);
    drop.eval();
    expect(drop.forward(x)).toBe(x);
  });
});

describe('autograd engine', () => {
  it('accumulates gradients across backward calls and across shared uses', () => {
    const x = t.fromArray([1, 2, 3]).requireGrad();
    t.sum(t.mul(x, x)).backward();
    t.sum(t.mul(x, 3)).backward();
    expect(Array.from(x.grad!.data)).toEqual([2 + 3, 4 + 3, 6 + 3]);
    const y = t.fromArray([2]).requireGrad();
    t.sum(t.add(y, y)).backward();
    expect(y.grad!.item()).toBe(2);
  });

  it('noGrad and detach stop recording', () => {
    const x = t.fromArray([1, 2]).requireGrad();
    const y = t.noGrad(() => t.mul(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(t.mul(x, 2).detach().requiresGrad).toBe(false);
    expect(() => t.sum(y).backward()).toThrow(/does not require grad/);
    expect(() => t.mul(x, 2).backward()).toThrow(/non-scalar/);
  });

  it('handles a deep graph without recursion limits', () => {
    const x = t.fromArray([1]).requireGrad();
    let y = x;
    for (let i = 0; i < 20000; i++) y = t.add(y, 0.001);
    y.backward();
    expect(x.grad!.item()).toBe(1);
  });
});

describe('memory', () => {
  it('tidy disposes intermediates and keeps results; the pool reuses buffers', () => {
    const a = t.ones([256]);
    let inner: t.Tensor | undefined;
    const out = t.tidy(() => {
      inner = t.mul(a, 2);
      return t.add(inner, 1);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(out.isDisposed).toBe(false);
    expect(a.isDisposed).toBe(false);
    expect(() => inner!.data).toThrow(/disposed/);
    const hits = t.bufferPool.hits;
    t.tidy(() => t.mul(a, 3));
    t.tidy(() => t.mul(a, 3));
    expect(t.bufferPool.hits).toBeGreaterThan(hits);
  });

  it('views share storage until the last one is disposed', () => {
    const x = t.arange(6);
    const v = t.reshape(x, [2, 3]);
    x.dispose();
    expect(v.data[5]).toBe(5);
    x.dispose();
    expect(v.data[5]).toBe(5);
    v.dispose();
    expect(v.isDisposed).toBe(true);
  });

  it('a training step inside tidy keeps parameter gradients', () => {
    const w = t.randn([4, 4], { rng: new t.Rng(1) }).requireGrad();
    w.isParameter = true;
    t.tidy(() => {
      t.sum(t.square(t.matmul(t.ones([2, 4]), w))).backward();
    });
    expect(w.grad && !w.grad.isDisposed).toBe(true);
  });
});
