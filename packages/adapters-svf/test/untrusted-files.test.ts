import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromArray, readSafetensorsFile, writeSafetensorsFile } from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject, loadExpert, saveExpert } from '../src/index';
import { seededMlp } from './helpers';

// Issue #16: an expert file must not load on any model (no fingerprint), NaN in z must not
// give silently wrong answers, and a poisoned SVD cache entry must not poison the factors.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-svf-untrusted-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('untrusted SVF files', () => {
  it('an expert without a base fingerprint is refused unless allowUnverified', async () => {
    const svf = await inject(seededMlp(1), { seed: 0 });
    const file = join(dir, 'unverified.safetensors');
    // Written without its base model's fingerprint (an older t2, another tool).
    const e0 = svf.expert({ task: 'a' });
    await saveExpert(file, { ...e0, meta: { task: 'a' } });
    await expect(loadExpert(file, seededMlp(1))).rejects.toThrow(
      /unverified\.safetensors: the expert records no base_fingerprint/,
    );
    const e = await loadExpert(file, seededMlp(1), { allowUnverified: true });
    expect(e.z.size).toBeGreaterThan(0);
  });

  it('NaN or Infinity in z is refused, naming the tensor', async () => {
    const svf = await inject(seededMlp(2), { seed: 0 });
    const file = join(dir, 'nan.safetensors');
    await saveExpert(file, svf.expert({ task: 'a' }), {}, svf);
    const { tensors, metadata } = await readSafetensorsFile(file);
    const [name, t] = [...tensors][0]!;
    const data = Float32Array.from(t.data);
    data[2] = Number.NaN;
    tensors.set(name, fromArray(data, t.shape));
    await writeSafetensorsFile(file, tensors, { metadata });
    await expect(loadExpert(file, seededMlp(2))).rejects.toThrow(
      new RegExp(`tensor '${name.replace(/\./g, '\\.')}' holds NaN at \\[2\\]`),
    );
  });

  it('a cache entry holding NaN is recomputed, not used', async () => {
    const cacheDir = join(dir, 'cache');
    const clean = await inject(seededMlp(3), { seed: 0, cacheDir });
    const files = (await readdir(cacheDir)).filter((f) => f.endsWith('.safetensors'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const { tensors, metadata } = await readSafetensorsFile(join(cacheDir, f));
      const s = Float32Array.from(tensors.get('S')!.data);
      s[0] = Number.NaN;
      tensors.set('S', fromArray(s, tensors.get('S')!.shape));
      await writeSafetensorsFile(join(cacheDir, f), tensors, { metadata });
    }
    const again = await inject(seededMlp(3), { seed: 0, cacheDir });
    expect(again.stats.cached).toBe(0);
    expect(again.stats.decomposed).toBe(clean.stats.decomposed + clean.stats.cached);
  });
});
