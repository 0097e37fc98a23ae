import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  composeWeightFromMask,
  expertMasks,
  inject,
  loadExpert,
  SvfLinear,
  saveExpert,
} from '@t2/adapters-svf';
import { fusedDecodingUnavailable, generateBatch, loadModel } from '@t2/llama';
import { getBackend, Rng, setBackend } from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ComposedLinear,
  expertFilesIn,
  type LoadedRuntime,
  loadExpertRegistry,
  loadRuntime,
} from '../src/index';
import { textModelFolder } from './fixture';

const LABELS = ['math', 'string', 'logic'];
const PROMPT = 'Once upon a time';
const MAX_NEW = 12;

let root: string;
let modelDir: string;
let expertsDir: string;
let loaded: LoadedRuntime;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 't2-runtime-svf-'));
  modelDir = textModelFolder(join(root, 'model'));
  expertsDir = join(root, 'experts');
  mkdirSync(expertsDir);
  const { model } = await loadModel(modelDir);
  const svf = await inject(model);
  const rng = new Rng(42);
  // Random experts far from z = 0.1, so that each changes what the model generates.
  for (const label of [...LABELS, 'classifier']) {
    for (const layer of svf.layers.values())
      layer.setZ(Array.from({ length: layer.rank }, () => 3 * rng.normal()));
    await saveExpert(
      join(expertsDir, `${label}.safetensors`),
      svf.expert({ task: label }),
      {},
      svf,
    );
  }
  loaded = await loadRuntime({
    modelPath: modelDir,
    expertsDir,
    generate: { maxNewTokens: MAX_NEW },
  });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** What @t2/adapters-svf's own layers generate with one expert (or the base model). */
async function referenceOutput(label: string | null): Promise<string> {
  const { model, tokenizer } = await loadModel(modelDir);
  const svf = await inject(model);
  if (label === null) svf.disable();
  else svf.setMixture([await loadExpert(join(expertsDir, `${label}.safetensors`), svf)], [1]);
  // On a backend with decode kernels, generation reads the SVF layers' inference weights.
  if (getBackend().decodeKernels) expect(fusedDecodingUnavailable(model)).toBeNull();
  const [res] = generateBatch(model, [tokenizer!.encode(PROMPT)], {
    maxNewTokens: MAX_NEW,
    tokenizer,
  });
  return res!.text!;
}

describe('loadRuntime on stories260K', () => {
  it('registers the experts by file stem, with the classifier apart', () => {
    const { runtime, svf } = loaded;
    expect(runtime.labels).toEqual(['logic', 'math', 'string']);
    expect(runtime.registry.classifier()?.name).toBe('classifier');
    // Five layers × gate/up/down.
    expect(svf.targets).toHaveLength(15);
  });

  it('answers like the SVF layers themselves, for the base model and for each expert', async () => {
    const { runtime } = loaded;
    const base = await runtime.generate(PROMPT, { strategy: 'none' });
    expect(base.output).toBe(await referenceOutput(null));
    const outputs = new Set([base.output]);
    for (const label of LABELS) {
      const { output, trace } = await runtime.generate(PROMPT, { strategy: 'oracle', label });
      expect(trace.alpha![label]).toBe(1);
      expect(output).toBe(await referenceOutput(label));
      outputs.add(output);
    }
    // The experts really change the model, or the comparison above would prove nothing.
    expect(outputs.size).toBeGreaterThanOrEqual(3);
  });

  it('decodes with the fused wasm kernels through composed and SVF layers, with the same answers', async () => {
    const { runtime, model } = loaded;
    const expected = await referenceOutput('math');
    const previous = getBackend().name;
    await setBackend('wasm');
    try {
      const { output } = await runtime.generate(PROMPT, { strategy: 'oracle', label: 'math' });
      expect(fusedDecodingUnavailable(model)).toBeNull();
      expect(output).toBe(expected);
      // The SVF layers themselves (no composed stand-ins) decode fused too.
      expect(await referenceOutput('math')).toBe(expected);
    } finally {
      await setBackend(previous);
    }
  });

  it('reuses composed weights for repeated and alternating prompts', async () => {
    const { runtime } = loaded;
    const before = runtime.cacheStats().compositions;
    for (let i = 0; i < 3; i++) {
      await runtime.generate(PROMPT, { strategy: 'oracle', label: 'math' });
      await runtime.generate(PROMPT, { strategy: 'oracle', label: 'string' });
    }
    expect(runtime.cacheStats().compositions - before).toBeLessThanOrEqual(2);
    const again = await runtime.generate(PROMPT, { strategy: 'oracle', label: 'math' });
    expect(again.trace.cacheHit).toBe(true);
    expect(runtime.cacheStats().compositions - before).toBeLessThanOrEqual(2);
  });

  it('keeps the base weights in the state dict while composed layers are in place', async () => {
    const { model } = loaded;
    const fresh = (await loadModel(modelDir)).model;
    await loaded.runtime.generate(PROMPT, { strategy: 'oracle', label: 'logic' });
    expect(model.getSubmodule('model.layers.2.mlp.up_proj')).toBeInstanceOf(ComposedLinear);
    const sd = model.stateDict();
    for (const [name, t] of fresh.stateDict())
      expect(Array.from(sd.get(name)!.data), name).toEqual(Array.from(t.data));
    expect([...sd.keys()].sort()).toEqual([...fresh.stateDict().keys()].sort());
  });

  it('reads per-layer α columns in model order', async () => {
    const { adaptable, svf, runtime } = loaded;
    const experts = runtime.registry.taskExperts().map((e) => e.expert);
    // A first expert that lists its weights in another order than the model.
    experts[0] = { ...experts[0]!, z: new Map([...experts[0]!.z].reverse()) };
    const t = adaptable.numTargets;
    const table = experts.map((_, k) =>
      Array.from({ length: t }, (_, j) => (((k + 1) * (j + 2)) % 5) / 5),
    );
    const composed = adaptable.compose(experts, table);
    try {
      for (const j of [0, 7, t - 1]) {
        const path = adaptable.targetNames![j]!;
        const layer = svf.layers.get(path)!;
        const mask = new Float32Array(layer.rank);
        experts.forEach((e, k) => {
          const m = expertMasks(e).get(path)!;
          for (let i = 0; i < mask.length; i++) mask[i]! += table[k]![j]! * m[i]!;
        });
        const want = composeWeightFromMask(layer.factors, mask);
        const got = composed.layers.get(path)!.composed;
        for (let i = 0; i < want.size; i++) expect(got.data[i]).toBeCloseTo(want.data[i]!, 5);
      }
    } finally {
      adaptable.release(composed);
    }
  });

  it('composes an additive mixture: m₀ + Σ α_k (m_k − m₀), not rescaled to sum to 1', async () => {
    const { adaptable, svf, runtime } = loaded;
    const experts = runtime.registry.taskExperts().map((e) => e.expert);
    const alpha = experts.map(() => 1);
    const composed = adaptable.compose(experts, alpha, 'additive');
    try {
      const path = adaptable.targetNames![0]!;
      const layer = svf.layers.get(path)!;
      const m0 = experts[0]!.maxMult / 2;
      const mask = new Float32Array(layer.rank).fill(m0);
      for (const e of experts) {
        const m = expertMasks(e).get(path)!;
        for (let i = 0; i < mask.length; i++) mask[i]! += m[i]! - m0;
      }
      for (let i = 0; i < mask.length; i++) mask[i] = Math.max(0, mask[i]!);
      const want = composeWeightFromMask(layer.factors, mask);
      const got = composed.layers.get(path)!.composed;
      for (let i = 0; i < want.size; i++) expect(got.data[i]).toBeCloseTo(want.data[i]!, 5);
    } finally {
      adaptable.release(composed);
    }
  });

  it('searches a few-shot α on the real model, then reuses it', async () => {
    const { runtime } = loaded;
    const examples = [
      { prompt: 'Once', answer: ' upon' },
      { prompt: 'The cat', answer: ' sat' },
    ];
    const first = await runtime.generate(PROMPT, {
      strategy: 'few-shot',
      task: 'tiny',
      examples,
      fewShot: { population: 4, iterations: 2, seed: 1, generate: { maxNewTokens: 4 } },
    });
    expect(first.trace.alphaSource).toBe('search');
    const alpha = Object.values(first.trace.alpha!);
    expect(alpha.reduce((s, a) => s + a, 0)).toBeCloseTo(1, 10);
    const second = await runtime.generate(PROMPT, { strategy: 'few-shot', task: 'tiny' });
    expect(second.trace).toMatchObject({
      alphaSource: 'cache',
      cacheHit: true,
      alpha: first.trace.alpha,
    });
    expect(second.output).toBe(first.output);
  });

  it('hands the SVF layers back on request', async () => {
    const { runtime, model } = loaded;
    await runtime.restoreModel();
    expect(model.getSubmodule('model.layers.0.mlp.gate_proj')).toBeInstanceOf(SvfLinear);
    const { output } = await runtime.generate(PROMPT, { strategy: 'oracle', label: 'string' });
    expect(model.getSubmodule('model.layers.0.mlp.gate_proj')).toBeInstanceOf(ComposedLinear);
    expect(output).toBe(await referenceOutput('string'));
  });
});

describe('loadExpertRegistry', () => {
  it('refuses experts made for another base model', async () => {
    const { model } = await loadModel(modelDir);
    (
      model.getSubmodule('model.layers.1.mlp.down_proj') as unknown as {
        weight: { data: Float32Array };
      }
    ).weight.data[3]! += 0.5;
    await expect(loadExpertRegistry(await expertFilesIn(expertsDir), model)).rejects.toThrow(
      /another base model/,
    );
  });

  it('names the folder when it has no experts', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(expertFilesIn(empty)).rejects.toThrow(/empty: no expert files/);
    await expect(loadRuntime({ modelPath: modelDir })).rejects.toThrow(/no experts/);
  });
});
