import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad, Rng, randn, readSafetensorsFile } from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expertMasks,
  inject,
  loadExpert,
  maskValues,
  mix,
  parseExpert,
  type SvfExpert,
  saveExpert,
  serializeExpert,
} from '../src/index';
import { relErr, seededMlp } from './helpers';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-svf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function twoExperts() {
  const svf = await inject(seededMlp(1), { seed: 0, initStd: 1 });
  const a = svf.expert({ task: 'a' });
  svf.setExpert({ ...a, z: new Map([...a.z].map(([p, z]) => [p, z.map((v) => -v)])) });
  const b = svf.expert({ task: 'b' });
  return { svf, a, b };
}

describe('mix', () => {
  it('mixes in mask space: m′ = Σ α_k m_k, per expert or per expert per weight', async () => {
    const { svf, a, b } = await twoExperts();
    const ma = expertMasks(a);
    const mb = expertMasks(b);
    const half = mix([a, b], [0.25, 0.75]);
    for (const p of svf.targets) {
      const want = ma.get(p)!.map((v, i) => 0.25 * v + 0.75 * mb.get(p)![i]!);
      expect(relErr(half.get(p)!, want)).toBeLessThan(1e-6);
    }
    expect(mix([a, b], [1, 0])).toEqual(ma);
    const perLayer = mix(
      [a, b],
      [
        [1, 0, 0.5],
        [0, 1, 0.5],
      ],
    );
    expect(perLayer.get('gate_proj')).toEqual(ma.get('gate_proj'));
    expect(perLayer.get('up_proj')).toEqual(mb.get('up_proj'));
    const tensorAlpha = mix([a, b], { shape: [2], data: new Float32Array([0.25, 0.75]) });
    expect(tensorAlpha).toEqual(half);
    expect(() => mix([a, b], [1])).toThrow(/1 coefficients for 2 experts/);
    expect(() =>
      mix(
        [a, b],
        [
          [1, 2],
          [3, 4],
        ],
      ),
    ).toThrow(/row 0 has 2 values, the experts adapt 3/);
    const partial: SvfExpert = { ...b, z: new Map([...b.z].slice(1)) };
    expect(() => mix([a, partial], [0.5, 0.5])).toThrow(/missing gate_proj/);
  });

  it("additive mixing adds each expert's change from m₀ = maxMult/2: m′ = m₀ + Σ α_k (m_k − m₀)", async () => {
    const { svf, a, b } = await twoExperts();
    const ma = expertMasks(a);
    const mb = expertMasks(b);
    const m0 = a.maxMult / 2;
    const both = mix([a, b], [1, 1], { mixing: 'additive' });
    const some = mix([a, b], [0.25, 0.5], { mixing: 'additive' });
    for (const p of svf.targets) {
      const want = ma.get(p)!.map((v, i) => Math.max(0, m0 + (v - m0) + (mb.get(p)![i]! - m0)));
      expect(relErr(both.get(p)!, want)).toBeLessThan(1e-6);
      const wantSome = ma
        .get(p)!
        .map((v, i) => Math.max(0, m0 + 0.25 * (v - m0) + 0.5 * (mb.get(p)![i]! - m0)));
      expect(relErr(some.get(p)!, wantSome)).toBeLessThan(1e-6);
    }
    // one-hot α: the same masks as convex mixing, the expert's own
    for (const p of svf.targets) {
      expect(relErr(mix([a, b], [0, 1], { mixing: 'additive' }).get(p)!, mb.get(p)!)).toBeLessThan(
        1e-6,
      );
    }
    // α = 0 everywhere is the centre, a constant mask (the base weights after the rescale)
    for (const m of mix([a, b], [0, 0], { mixing: 'additive' }).values()) {
      for (const v of m) expect(v).toBeCloseTo(m0, 6);
    }
    // a mask cannot go below 0: two experts pulling a value down past m₀ − m₀
    const low: SvfExpert = { ...a, z: new Map([...a.z].map(([p, z]) => [p, z.map(() => -30)])) };
    for (const m of mix([low, low, low], [1, 1, 1], { mixing: 'additive' }).values()) {
      for (const v of m) expect(v).toBe(0);
    }
    expect(() => mix([a, b], [1, 1], { mixing: 'sum' as 'additive' })).toThrow(
      /mixing must be one of convex, additive/,
    );
    expect(() => mix([a, { ...b, maxMult: 2 }], [1, 1], { mixing: 'additive' })).toThrow(
      /one maxMult/,
    );
    // setMixture passes the mixing on
    expect(svf.setMixture([a, b], [1, 1], { mixing: 'additive' })).toEqual(both);
  });

  it('a one-hot mixture gives the expert itself; setMask(null) returns to z', async () => {
    const { svf, a, b } = await twoExperts();
    const x = randn([3, 6], { rng: new Rng(4) });
    svf.setExpert(a);
    const ya = noGrad(() => svf.model.forward(x)).data.slice();
    svf.setExpert(b);
    const yb = noGrad(() => svf.model.forward(x)).data.slice();
    expect(relErr(ya, yb)).toBeGreaterThan(1e-3);
    svf.setMixture([a, b], [1, 0]);
    expect(relErr(noGrad(() => svf.model.forward(x)).data, ya)).toBeLessThan(1e-6);
    svf.setMask(null);
    expect(noGrad(() => svf.model.forward(x)).data).toEqual(yb);
  });
});

describe('expert files', () => {
  it('round-trips z and metadata through safetensors with full module paths', async () => {
    const { svf, a } = await twoExperts();
    const file = join(dir, 'a.safetensors');
    await saveExpert(file, a, { baseModel: 'tiny', task: 'math' }, svf);
    const raw = await readSafetensorsFile(file);
    expect([...raw.tensors.keys()].sort()).toEqual([
      'down_proj.svf_z',
      'gate_proj.svf_z',
      'up_proj.svf_z',
    ]);
    expect(raw.metadata.format).toBe('t2-svf-expert');
    expect(raw.metadata.max_mult).toBe('1');
    expect(JSON.parse(raw.metadata.targets!)).toEqual(svf.targets);
    const back = await loadExpert(file, svf);
    expect(back.z).toEqual(a.z);
    expect(back.meta).toEqual({
      baseModel: 'tiny',
      task: 'math',
      baseFingerprint: await svf.fingerprint(),
    });
    // A plain (not injected) copy of the base model is recognised by its weights too.
    await expect(loadExpert(file, seededMlp(1))).resolves.toBeTruthy();
    expect(parseExpert(serializeExpert(back)).z).toEqual(a.z);
  });

  it('refuses an expert made for another base model, naming the file', async () => {
    const { svf, a } = await twoExperts();
    const file = join(dir, 'other.safetensors');
    await saveExpert(file, a, { baseModel: 'tiny-1' }, svf);
    const other = await inject(seededMlp(2));
    await expect(loadExpert(file, other)).rejects.toThrow(
      /other\.safetensors: this expert was made for another base model \('tiny-1'\)/,
    );
    await expect(loadExpert(file, seededMlp(2))).rejects.toThrow(/another base model/);
    const narrow = await inject(seededMlp(1), { targetModules: ['up_proj'] });
    await expect(loadExpert(file, narrow)).rejects.toThrow(
      /'gate_proj', which is not an SVF layer/,
    );
    const notExpert = join(dir, 'weights.safetensors');
    await writeFile(notExpert, serializeExpert(a).slice(0, 20));
    await expect(loadExpert(notExpert, svf)).rejects.toThrow(/weights\.safetensors/);
  });

  it('setExpert checks targets, maxMult and the base model', async () => {
    const { svf, a } = await twoExperts();
    const other = await inject(seededMlp(2));
    expect(() => other.setExpert(a)).toThrow(
      /setExpert: the expert 'a' was made for another base model/,
    );
    expect(() => other.setMixture([other.expert(), a], [0.5, 0.5])).toThrow(
      /setMixture \(expert 1\)/,
    );
    expect(() => svf.setExpert({ ...a, maxMult: 2 })).toThrow(/maxMult 2/);
    expect(() => svf.setExpert({ ...a, z: new Map([['up_proj', new Float32Array(6)]]) })).toThrow(
      /missing gate_proj, down_proj/,
    );
  });
});

describe('SVD factor cache', () => {
  it('decomposes once, reuses the files on the next run, and survives a corrupt entry', async () => {
    const cacheDir = join(dir, 'cache');
    const x = randn([2, 6], { rng: new Rng(8) });
    const first = await inject(seededMlp(5), { cacheDir });
    expect(first.stats).toEqual({ cached: 0, decomposed: 3 });
    const files = (await readdir(cacheDir)).filter((f) => f.endsWith('.safetensors'));
    expect(files).toHaveLength(3);
    const y1 = noGrad(() => first.model.forward(x)).data.slice();
    const second = await inject(seededMlp(5), { cacheDir });
    expect(second.stats).toEqual({ cached: 3, decomposed: 0 });
    expect(noGrad(() => second.model.forward(x)).data).toEqual(y1);
    for (const p of second.targets) {
      expect(second.layers.get(p)!.factors.U.data).toEqual(first.layers.get(p)!.factors.U.data);
    }
    await writeFile(join(cacheDir, files[0]!), 'not safetensors');
    const third = await inject(seededMlp(5), { cacheDir });
    expect(third.stats).toEqual({ cached: 2, decomposed: 1 });
    expect(noGrad(() => third.model.forward(x)).data).toEqual(y1);
    const changed = await inject(seededMlp(6), { cacheDir });
    expect(changed.stats.decomposed).toBe(3);
    expect(maskValues([0], 2)[0]).toBe(1);
  });
});
