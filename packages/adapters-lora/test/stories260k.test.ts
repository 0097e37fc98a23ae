import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as llamaModule from '@t2/llama';
import { type Module, noGrad, Rng, type Tensor } from '@t2/tensor-core';
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

function perturb(tensors: Tensor[], seed: number, std: number): void {
  const rng = new Rng(seed);
  for (const t of tensors) for (let i = 0; i < t.size; i++) t.data[i]! += std * rng.normal();
}

describe('stories260K (real checkpoint)', () => {
  it('LoRA: save/load, merge, plain Hugging Face folder', async () => {
    const model = await loadFixture();
    const base = logits(model);
    const handle = inject(
      model,
      { r: 4, loraAlpha: 8, targetModules: 'all-linear' },
      { rng: new Rng(1) },
    );
    // r (in + out) per layer: q 64+64, k 64+32, v 64+32, o 64+64, gate 64+172, up 64+172, down 172+64.
    expect(handle.numTrainable()).toBe(5 * 4 * (128 + 96 + 96 + 128 + 236 + 236 + 236));
    expect(logits(model)).toEqual(base);
    perturb(handle.trainableParameters(), 2, 0.02);
    const adapted = logits(model);
    expect(adapted).not.toEqual(base);

    const dir = await mkdtemp(join(tmpdir(), 't2-lora-260k-'));
    await handle.save(dir);
    const reloaded = await loadFixture();
    await load(dir, reloaded);
    expect(logits(reloaded)).toEqual(adapted);

    handle.mergeAndUnload();
    const hfDir = await mkdtemp(join(tmpdir(), 't2-lora-260k-hf-'));
    await llama.saveHfFolder(model, hfDir);
    expectClose(logits((await llama.loadHfFolder(hfDir)).model), adapted, 1e-4);
  });

  it('PiSSA: the same function at start; unload restores the checkpoint', async () => {
    const model = await loadFixture();
    const original = snapshot(model);
    const base = logits(model);
    const handle = inject(model, { r: 4, targetModules: 'all-linear', initLoraWeights: 'pissa' });
    expectClose(logits(model), base, 1e-4);
    perturb(handle.trainableParameters(), 3, 0.01);
    const adapted = logits(model);
    const dir = await mkdtemp(join(tmpdir(), 't2-pissa-260k-'));
    await handle.save(dir, { convertPissaToLora: true });
    const asLora = await loadFixture();
    await load(dir, asLora);
    expectClose(logits(asLora), adapted, 1e-4);
    handle.unload();
    for (const [name, w] of snapshot(model)) expectClose(w, original.get(name)!, 1e-5);
  });
});
