import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Linear } from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decomposeWeight, inject, type SvfModel } from '../src/index';
import { seededMlp, type TinyMlp } from './helpers';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-svf-threads-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function expectSameFactors(a: SvfModel<TinyMlp>, b: SvfModel<TinyMlp>): void {
  expect(a.targets).toEqual(b.targets);
  for (const p of a.targets) {
    const [fa, fb] = [a.layers.get(p)!, b.layers.get(p)!];
    expect(fa.factors.U.data, p).toEqual(fb.factors.U.data);
    expect(fa.factors.singularValues.data, p).toEqual(fb.factors.singularValues.data);
    expect(fa.factors.V.data, p).toEqual(fb.factors.V.data);
    expect(fa.z.data, p).toEqual(fb.z.data);
  }
}

describe('inject on SVD worker threads (svdThreads)', () => {
  it('gives the factors and z of one thread, and fills the cache for the next run', async () => {
    const one = await inject(seededMlp(5), { svdThreads: 1 });
    const cacheDir = join(dir, 'cache');
    const two = await inject(seededMlp(5), { svdThreads: 2, cacheDir });
    expect(two.stats).toEqual({ cached: 0, decomposed: 3 });
    expectSameFactors(two, one);
    const mlp = seededMlp(5);
    const up = decomposeWeight((mlp.getSubmodule('up_proj') as Linear).weight, 'up_proj.weight');
    expect(two.layers.get('up_proj')!.factors.U.data).toEqual(up.U.data);
    const files = (await readdir(cacheDir)).filter((f) => f.endsWith('.safetensors'));
    expect(files).toHaveLength(3);
    const again = await inject(seededMlp(5), { svdThreads: 2, cacheDir });
    expect(again.stats).toEqual({ cached: 3, decomposed: 0 });
    expectSameFactors(again, one);
  });

  it('decomposes a repeated weight once when caching, as one by one did', async () => {
    const twins = () => {
      const m = seededMlp(7);
      const gate = (m.getSubmodule('gate_proj') as Linear).weight.data;
      (m.getSubmodule('up_proj') as Linear).weight.data.set(gate);
      return m;
    };
    const cached = await inject(twins(), { svdThreads: 2, cacheDir: join(dir, 'twins') });
    expect(cached.stats).toEqual({ cached: 1, decomposed: 2 });
    const plain = await inject(twins(), { svdThreads: 2 });
    expect(plain.stats).toEqual({ cached: 0, decomposed: 3 });
    expectSameFactors(cached, plain);
  });

  it('names the weight that holds a NaN, on worker threads or not', async () => {
    for (const svdThreads of [1, 2]) {
      const m = seededMlp(5);
      (m.getSubmodule('down_proj') as Linear).weight.data[4] = Number.NaN;
      await expect(inject(m, { svdThreads })).rejects.toThrow(/"down_proj\.weight".*non-finite/);
    }
  });

  it('checks svdThreads', async () => {
    await expect(inject(seededMlp(5), { svdThreads: 0 })).rejects.toThrow(
      /svdThreads must be an integer ≥ 1, got 0/,
    );
  });
});
