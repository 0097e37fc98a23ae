import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { svd } from '@t2/svd';
import { noGrad, Rng, randn } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { inject, load } from '../src/index';
import { expectClose, OneLinear, snapshot, ToyModel } from './helpers';

const [inF, out, r] = [12, 9, 3];

/** r×r matrix M Mᵀ of the rows of `m` ([r, cols]). */
function gramRows(m: Float32Array, rows: number, cols: number): number[] {
  const g: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += m[i * cols + c]! * m[j * cols + c]!;
      g.push(s);
    }
  }
  return g;
}

/** Bᵀ B for B [rows, r]. */
function gramCols(m: Float32Array, rows: number, cols: number): number[] {
  const g: number[] = [];
  for (let i = 0; i < cols; i++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let o = 0; o < rows; o++) s += m[o * cols + i]! * m[o * cols + j]!;
      g.push(s);
    }
  }
  return g;
}

describe('PiSSA', () => {
  it.each([
    ['scaling 1 (alpha = r)', r],
    ['scaling 2 (S divided by the scaling, as PEFT)', 2 * r],
  ])('A, B come from the top-r triplets and the residual keeps the rest: %s', (_l, alpha) => {
    const model = new OneLinear(inF, out, { bias: false, rng: new Rng(1) });
    const W = (
      model.getSubmodule('proj') as unknown as { weight: { data: Float32Array } }
    ).weight.data.slice();
    const S = svd({ shape: [out, inF], data: W }).S;
    const x = randn([4, inF], { rng: new Rng(2) });
    const before = noGrad(() => model.forward(x)).data.slice();
    const handle = inject(model, {
      r,
      targetModules: ['proj'],
      loraAlpha: alpha,
      initLoraWeights: 'pissa',
    });
    const layer = handle.layer('proj');
    const s = alpha / r;
    const A = layer.loraAWeight('default').data;
    const B = layer.loraBWeight('default').data;
    // A = diag(sqrt(S_r / s)) V_rᵀ and B = U_r diag(sqrt(S_r / s)): A Aᵀ = B ᵀB = diag(S_r / s).
    const diag = Array.from({ length: r * r }, (_, k) =>
      k % (r + 1) === 0 ? S[k / (r + 1)]! / s : 0,
    );
    expectClose(gramRows(A, r, inF), diag, 1e-5);
    expectClose(gramCols(B, out, r), diag, 1e-5);
    // The residual holds the remaining singular values.
    const rest = svd(layer.baseLayer.weight).S;
    expectClose(rest.slice(0, S.length - r), S.slice(r), 1e-5);
    // The model computes the same function as before.
    expectClose(noGrad(() => model.forward(x)).data, before, 1e-5);
    // Only A and B train; the residual is frozen.
    expect(layer.baseLayer.weight.requiresGrad).toBe(false);
    expect(handle.numTrainable()).toBe(r * (inF + out));
  });

  it('unload gives back the original weights', () => {
    const model = new ToyModel();
    const original = snapshot(model);
    const handle = inject(model, { r: 2, targetModules: 'all-linear', initLoraWeights: 'pissa' });
    expect(snapshot(model).get('model.layers.0.self_attn.q_proj.base_layer.weight')).not.toEqual(
      original.get('model.layers.0.self_attn.q_proj.weight'),
    );
    handle.unload();
    for (const [name, w] of snapshot(model)) expectClose(w, original.get(name)!, 1e-5);
  });

  it('rejects r above the rank of W', () => {
    const model = new OneLinear(4, 3, { bias: false });
    expect(() =>
      inject(model, { r: 4, targetModules: ['proj'], initLoraWeights: 'pissa' }),
    ).toThrow(/PiSSA: 'proj' has weight \[3, 4\], so r = 4 exceeds its rank/);
  });

  it('save → load into the original model redoes the SVD and gives identical outputs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 't2-pissa-'));
    const model = new ToyModel();
    const x = randn([2, 3, 8], { rng: new Rng(3) });
    const handle = inject(model, {
      r: 2,
      targetModules: ['q_proj', 'down_proj'],
      initLoraWeights: 'pissa',
    });
    // Pretend training moved A and B.
    const rng = new Rng(4);
    for (const t of handle.trainableParameters())
      for (let i = 0; i < t.size; i++) t.data[i]! += 0.05 * rng.normal();
    const y = noGrad(() => model.forward(x)).data.slice();
    await handle.save(dir);
    const fresh = new ToyModel();
    const loaded = await load(dir, fresh);
    expect(loaded.config().initLoraWeights).toBe('pissa');
    expectClose(noGrad(() => fresh.forward(x)).data, y, 1e-5);
  });

  it('convertPissaToLora writes a rank-2r LoRA for the original model', async () => {
    const dir = await mkdtemp(join(tmpdir(), 't2-pissa-lora-'));
    const model = new ToyModel();
    const x = randn([2, 3, 8], { rng: new Rng(3) });
    const handle = inject(model, {
      r: 2,
      loraAlpha: 4,
      targetModules: ['v_proj', 'up_proj'],
      initLoraWeights: 'pissa',
    });
    const rng = new Rng(5);
    for (const t of handle.trainableParameters())
      for (let i = 0; i < t.size; i++) t.data[i]! += 0.05 * rng.normal();
    const y = noGrad(() => model.forward(x)).data.slice();
    await handle.save(dir, { convertPissaToLora: true });
    const fresh = new ToyModel();
    const loaded = await load(dir, fresh);
    expect(loaded.config()).toMatchObject({ r: 4, loraAlpha: 8, initLoraWeights: true });
    // A plain LoRA leaves the base weights as they were.
    expect(loaded.layer('model.layers.0.mlp.up_proj').baseLayer.weight.data).toEqual(
      new ToyModel().getSubmodule('model.layers.0.mlp.up_proj').getParameter('weight')!.data,
    );
    expectClose(noGrad(() => fresh.forward(x)).data, y, 1e-5);
    await expect(
      inject(new ToyModel(), { r: 2, targetModules: ['q_proj'] }).save(dir, {
        convertPissaToLora: true,
      }),
    ).rejects.toThrow(/convertPissaToLora needs a PiSSA adapter/);
  });
});
