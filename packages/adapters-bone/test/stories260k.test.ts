import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as llamaModule from '@t2/llama';
import { AdamW, crossEntropy, type Module, noGrad, Rng, type Tensor, tidy } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { inject, load } from '../src/index';
import { expectClose, sharedDir, snapshot } from './helpers';

// The slice of @t2/llama this test uses, typed here so that the typecheck does not
// depend on llama's build output (this package does not depend on llama).
type Llama = Module & { forward(ids: number[][]): Tensor };
const llama = llamaModule as unknown as {
  loadHfFolder(dir: string): Promise<{ model: Llama }>;
  saveHfFolder(model: Llama, dir: string): Promise<void>;
};

const fixture = join(sharedDir(), 'fixtures/stories260K/hf');
const ids = [[1, 403, 407, 261, 378, 1, 30, 256]];
const logits = (m: Llama) => noGrad(() => m.forward(ids)).data.slice();
const loadFixture = async () => (await llama.loadHfFolder(fixture)).model;

function randomise(tensors: Tensor[], seed: number, std: number): void {
  const rng = new Rng(seed);
  for (const t of tensors) for (let i = 0; i < t.size; i++) t.data[i] = std * rng.normal();
}

describe('stories260K (real checkpoint)', () => {
  it('Bone on all linear layers: no-op at start, save/load, merge, plain Hugging Face folder', async () => {
    const model = await loadFixture();
    const base = logits(model);
    const handle = inject(model, {
      r: 8,
      targetModules: 'all-linear',
      baseModelNameOrPath: 'stories260K',
    });
    expect(handle.targets()).toHaveLength(35); // 7 projections × 5 layers; tied head
    // r × out per layer: q 64, k 32, v 32, o 64, gate 172, up 172, down 64.
    expect(handle.numTrainable()).toBe(5 * 8 * (64 + 32 + 32 + 64 + 172 + 172 + 64));
    expect(logits(model)).toEqual(base);

    randomise(handle.trainableParameters(), 1, 0.02);
    const adapted = logits(model);
    expect(adapted).not.toEqual(base);

    const adapterDir = await mkdtemp(join(tmpdir(), 't2-bone-260k-'));
    await handle.save(adapterDir);
    const reloaded = await loadFixture();
    await load(adapterDir, reloaded);
    expect(logits(reloaded)).toEqual(adapted);

    handle.merge();
    expectClose(logits(model), adapted, 1e-4);
    handle.mergeAndUnload();
    const hfDir = await mkdtemp(join(tmpdir(), 't2-bone-260k-hf-'));
    await llama.saveHfFolder(model, hfDir);
    const merged = (await llama.loadHfFolder(hfDir)).model;
    expectClose(logits(merged), adapted, 1e-4);
  });

  it('BAT: merge → unmerge restores the checkpoint; a few steps lower the loss', async () => {
    const model = await loadFixture();
    const original = snapshot(model);
    const handle = inject(model, {
      r: 4,
      targetModules: ['q_proj', 'v_proj', 'up_proj', 'down_proj'],
      initWeights: 'bat',
    });
    const targets = ids[0]!.slice(1).concat([2]);
    const opt = new AdamW(handle.trainableParameters(), { lr: 1e-2, weightDecay: 0 });
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      losses.push(
        tidy(() => {
          opt.zeroGrad();
          const loss = crossEntropy(model.forward(ids), targets);
          loss.backward();
          opt.step();
          return loss.item();
        }),
      );
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    const adapted = logits(model);
    handle.merge();
    expectClose(logits(model), adapted, 1e-4);
    handle.unmerge();
    const now = snapshot(model);
    for (const [name, w] of original) {
      const wrapped = name.replace(/(proj)\.weight$/, '$1.base_layer.weight');
      expectClose(now.get(now.has(name) ? name : wrapped)!, w, 1e-5);
    }
  });
});
