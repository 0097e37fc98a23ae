import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Linear, Module, mul, Rng, silu, type Tensor } from '@t2/tensor-core';

/** /work/shared, or $T2_SHARED. */
export function sharedDir(): string {
  return process.env.T2_SHARED ?? fileURLToPath(new URL('../../../../shared/', import.meta.url));
}

export interface SvfGoldenCase {
  W: number[][];
  singular_values: number[];
  z: number[];
  max_mult: number;
  x: number[][];
  composed_W: number[][];
  y: number[][];
  upstream_dy: number[][];
  grad_z_of_sum_dy_times_y: number[];
}

export function goldenCase(name: 'svf_wide' | 'svf_tall'): SvfGoldenCase {
  const file = `${sharedDir()}golden/adapters.json`;
  return JSON.parse(readFileSync(file, 'utf8')).cases[name];
}

/** A container with one Linear named `proj`, looked up by name so replacement takes effect. */
export class OneLinear extends Module {
  constructor(inF: number, out: number, weight?: ArrayLike<number>, bias = false) {
    super();
    const lin = new Linear(inF, out, { bias });
    if (weight) lin.weight.data.set(weight);
    this.registerModule('proj', lin);
  }

  forward(x: Tensor): Tensor {
    return (this.getSubmodule('proj') as Linear).forward(x);
  }
}

/** A two-block MLP-like model with HF-style names, to exercise target matching. */
export class TinyMlp extends Module {
  constructor(dim: number, hidden: number) {
    super();
    for (const name of ['gate_proj', 'up_proj', 'down_proj', 'o_proj']) {
      const [i, o] =
        name === 'down_proj' ? [hidden, dim] : name === 'o_proj' ? [dim, dim] : [dim, hidden];
      this.registerModule(name, new Linear(i, o, { bias: false }));
    }
  }

  private lin(name: string): Linear {
    return this.getSubmodule(name) as Linear;
  }

  forward(x: Tensor): Tensor {
    const g = this.lin('gate_proj').forward(x);
    const u = this.lin('up_proj').forward(x);
    const h = this.lin('down_proj').forward(mulSilu(g, u));
    return this.lin('o_proj').forward(h);
  }
}

/** A TinyMlp(6, 10) with N(0, 0.3²) weights drawn from `seed`. */
export function seededMlp(seed: number): TinyMlp {
  const m = new TinyMlp(6, 10);
  const rng = new Rng(seed);
  for (const p of m.parameters()) for (let i = 0; i < p.size; i++) p.data[i] = rng.normal() * 0.3;
  return m;
}

function mulSilu(g: Tensor, u: Tensor): Tensor {
  return mul(silu(g), u);
}

export function flat(a: number[][]): number[] {
  return a.flat();
}

/** max |a−b| / max |b|: the relative error the golden tolerance is stated in. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths ${a.length} and ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / (den || 1);
}
