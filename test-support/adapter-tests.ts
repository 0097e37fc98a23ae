/**
 * What the Bone and LoRA test suites share: the shared/ folder, a tolerance check, and
 * toy models with Hugging Face module names for adapters to target. Imported by each
 * package's test/helpers.ts (tests only; nothing here is published).
 */
import { fileURLToPath } from 'node:url';
import {
  add,
  Linear,
  Module,
  ModuleList,
  mul,
  RMSNorm,
  Rng,
  sigmoid,
  silu,
  type Tensor,
} from '@t2/tensor-core';
import { expect } from 'vitest';

/** /work/shared (or $T2_SHARED), located from this file. */
export function sharedDir(): string {
  return process.env.T2_SHARED ?? fileURLToPath(new URL('../../shared/', import.meta.url));
}

/** Elementwise |a − e| ≤ tol · max(1, |e|). */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol = 1e-5,
): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  expect(
    worst,
    `worst relative error at [${at}]: ${actual[at]} vs ${expected[at]}`,
  ).toBeLessThanOrEqual(tol);
}

/** A module holding one Linear named `proj`, the smallest thing an adapter can target. */
export class OneLinear extends Module {
  constructor(inF: number, outF: number, opts: { bias?: boolean; rng?: Rng } = {}) {
    super();
    this.registerModule('proj', new Linear(inF, outF, opts));
  }

  forward(x: Tensor): Tensor {
    return (this.getSubmodule('proj') as Linear).forward(x);
  }
}

/** Looks children up by name at call time, so wrappers set by `setSubmodule` are used. */
function call(m: Module, name: string, x: Tensor): Tensor {
  return (m.getSubmodule(name) as unknown as { forward(x: Tensor): Tensor }).forward(x);
}

class ToyAttention extends Module {
  constructor(hidden: number, rng: Rng) {
    super();
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'o_proj'])
      this.registerModule(n, new Linear(hidden, hidden, { bias: false, rng }));
  }

  forward(h: Tensor): Tensor {
    const mixed = add(
      call(this, 'q_proj', h),
      mul(sigmoid(call(this, 'k_proj', h)), call(this, 'v_proj', h)),
    );
    return call(this, 'o_proj', mixed);
  }
}

class ToyMlp extends Module {
  constructor(hidden: number, inter: number, rng: Rng) {
    super();
    this.registerModule('gate_proj', new Linear(hidden, inter, { bias: false, rng }));
    this.registerModule('up_proj', new Linear(hidden, inter, { bias: false, rng }));
    this.registerModule('down_proj', new Linear(inter, hidden, { bias: false, rng }));
  }

  forward(h: Tensor): Tensor {
    return call(this, 'down_proj', mul(silu(call(this, 'gate_proj', h)), call(this, 'up_proj', h)));
  }
}

class ToyLayer extends Module {
  constructor(hidden: number, inter: number, rng: Rng) {
    super();
    this.registerModule('self_attn', new ToyAttention(hidden, rng));
    this.registerModule('mlp', new ToyMlp(hidden, inter, rng));
  }

  forward(h: Tensor): Tensor {
    h = add(h, call(this, 'self_attn', h));
    return add(h, call(this, 'mlp', h));
  }
}

class ToyInner extends Module {
  constructor(hidden: number, inter: number, layers: number, rng: Rng) {
    super();
    this.registerModule(
      'layers',
      new ModuleList(Array.from({ length: layers }, () => new ToyLayer(hidden, inter, rng))),
    );
    this.registerModule('norm', new RMSNorm(hidden));
  }

  forward(h: Tensor): Tensor {
    for (const layer of this.getSubmodule('layers') as ModuleList)
      h = (layer as ToyLayer).forward(h);
    return call(this, 'norm', h);
  }
}

/**
 * A LLaMA-shaped toy with Hugging Face names (`model.layers.0.self_attn.q_proj`,
 * `model.layers.1.mlp.down_proj`, `lm_head`) that maps hidden states to logits.
 */
export class ToyModel extends Module {
  constructor(
    readonly opts: {
      hidden?: number;
      inter?: number;
      layers?: number;
      vocab?: number;
      seed?: number;
    } = {},
  ) {
    super();
    const { hidden = 8, inter = 12, layers = 2, vocab = 10, seed = 1 } = opts;
    const rng = new Rng(seed);
    this.registerModule('model', new ToyInner(hidden, inter, layers, rng));
    this.registerModule('lm_head', new Linear(hidden, vocab, { bias: false, rng }));
  }

  forward(h: Tensor): Tensor {
    return call(this, 'lm_head', call(this, 'model', h));
  }
}

export function snapshot(m: Module): Map<string, Float32Array> {
  return new Map(m.namedParameters().map(([n, t]) => [n, Float32Array.from(t.data)]));
}
