import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Linear,
  Module,
  matmul,
  mul,
  noGrad,
  readSafetensorsFile,
  type Tensor,
} from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject, loadExpert, saveExpert } from '../src/index';
import { relErr, sharedDir } from './helpers';

/** A bare module tree with the checkpoint's Linear layers under their Hugging Face paths. */
class Tree extends Module {
  forward(): never {
    throw new Error('Tree has no forward');
  }
}

async function storiesTree(): Promise<Module> {
  const { tensors } = await readSafetensorsFile(
    `${sharedDir()}fixtures/stories260K/hf/model.safetensors`,
  );
  const root = new Tree();
  for (const [name, t] of tensors) {
    if (!name.endsWith('_proj.weight')) continue;
    const parts = name.split('.').slice(0, -1);
    let node: Module = root;
    for (const part of parts.slice(0, -1)) {
      const next = node.namedChildren().find(([n]) => n === part)?.[1];
      node = next ?? node.registerModule(part, new Tree());
    }
    const [out, inF] = t.shape as [number, number];
    const lin = new Linear(inF, out, { bias: false });
    lin.weight.data.set(t.data);
    node.registerModule(parts[parts.length - 1]!, lin);
  }
  return root;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-svf-stories-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SVF on the stories260K checkpoint', () => {
  it('adapts the 15 MLP projections with 960 trainable values and reconstructs W', async () => {
    const svf = await inject(await storiesTree(), { cacheDir: join(dir, 'svd') });
    expect(svf.targets).toHaveLength(15);
    expect([...svf.targets].sort().slice(0, 3)).toEqual([
      'model.layers.0.mlp.down_proj',
      'model.layers.0.mlp.gate_proj',
      'model.layers.0.mlp.up_proj',
    ]);
    expect(svf.numTrainable()).toBe(15 * 64);
    expect(svf.stats).toEqual({ cached: 0, decomposed: 15 });
    for (const layer of svf.layers.values()) {
      const { U, singularValues: s, V } = layer.factors;
      const usv = noGrad(() => matmul(mul(U, s), V, { transB: true }));
      expect(relErr(usv.data, layer.weight.data)).toBeLessThan(1e-5);
      layer.setMask(new Float32Array(layer.rank).fill(0.6));
      expect(relErr(layer.adaptedWeight().data, layer.weight.data)).toBeLessThan(1e-5);
    }
    const again = await inject(await storiesTree(), { cacheDir: join(dir, 'svd') });
    expect(again.stats).toEqual({ cached: 15, decomposed: 0 });
    expect(await again.fingerprint()).toBe(await svf.fingerprint());
  });

  it('saves an expert with full module paths and refuses it on modified weights', async () => {
    const svf = await inject(await storiesTree(), {
      cacheDir: join(dir, 'svd'),
      baseModelName: 'stories260K',
    });
    const file = join(dir, 'expert.safetensors');
    await saveExpert(file, svf.expert(), { task: 'toy' }, svf);
    const { tensors } = await readSafetensorsFile(file);
    expect(tensors.has('model.layers.4.mlp.down_proj.svf_z')).toBe(true);
    expect(tensors.get('model.layers.4.mlp.down_proj.svf_z')!.shape).toEqual([64]);
    const loaded = await loadExpert(file, svf);
    expect(loaded.meta.baseModel).toBe('stories260K');
    expect(loaded.meta.task).toBe('toy');

    const tampered = await storiesTree();
    const w = (tampered.getSubmodule('model.layers.2.mlp.up_proj') as Linear).weight as Tensor;
    w.data[0]! += 1e-3;
    await expect(loadExpert(file, tampered)).rejects.toThrow(
      /made for another base model \('stories260K'\)/,
    );
  });
});
