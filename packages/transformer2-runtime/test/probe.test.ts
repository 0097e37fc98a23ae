import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LlamaForCausalLM, loadHfFolder, type TextTokenizer } from '@t2/llama';
import { Linear, Rng } from '@t2/tensor-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  overlapProblem,
  type ProbeSample,
  probeHeadroom,
  probeVerdict,
  tokenizerCoverageProblem,
  wilsonInterval,
} from '../src/index';

// The bundled model (character tokenizer; pretrained on arith, string and logic, never on count).
const bundled = fileURLToPath(new URL('../../../models/t2-tiny', import.meta.url));

// The task formats of @t2/tasks, written out here (this package does not depend on it).
const firstLine = (output: string) => (output.split('\n')[0] ?? '').trim();
/** `count a in abcab=` → `2`: the first integer of the answer line must equal it. */
const countReward = (_p: string, output: string, answer: string) =>
  /(?<![\w.])[-+]?\d+(?!\w|\.\d)/.exec(firstLine(output))?.[0] === answer ? 1 : -1;
/** `is 17<42=` → `T`, `max 17 42=` → `42`: the first token of the answer line (`(T)` is wrong). */
const tokenReward = (_p: string, output: string, answer: string) =>
  (firstLine(output).split(/\s+/)[0] ?? '').replace(/[.,;:!?]+$/, '') === answer ? 1 : -1;

function countSamples(n: number, seed: number): ProbeSample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const word = Array.from({ length: 4 + rng.int(5) }, () => 'abcde'[rng.int(5)]!).join('');
    const letter = 'abcde'[rng.int(5)]!;
    const answer = String([...word].filter((c) => c === letter).length);
    return { prompt: `count ${letter} in ${word}=`, answer };
  });
}

function logicSamples(n: number, seed: number): ProbeSample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const a = 10 + rng.int(90);
    const b = 10 + rng.int(90);
    switch (rng.int(4)) {
      case 0:
        return { prompt: `max ${a} ${b}=`, answer: String(Math.max(a, b)) };
      case 1:
        return { prompt: `min ${a} ${b}=`, answer: String(Math.min(a, b)) };
      case 2:
        return { prompt: `is ${a}<${b}=`, answer: a < b ? 'T' : 'F' };
      default:
        return { prompt: `is ${a}>${b}=`, answer: a > b ? 'T' : 'F' };
    }
  });
}

/** Evaluation and fit problems drawn apart: no prompt in both. */
function disjoint(
  make: (n: number, seed: number) => ProbeSample[],
  nEval: number,
  nTrain: number,
): { evalSamples: ProbeSample[]; trainSamples: ProbeSample[] } {
  const evalSamples = make(nEval, 1);
  const seen = new Set(evalSamples.map((s) => s.prompt));
  const trainSamples = make(nTrain, 2).filter((s) => !seen.has(s.prompt));
  return { evalSamples, trainSamples };
}

describe('wilsonInterval', () => {
  it('matches the Wilson score interval at 95%', () => {
    const { low, high } = wilsonInterval(8, 10);
    expect(low).toBeCloseTo(0.4902, 3);
    expect(high).toBeCloseTo(0.9433, 3);
    expect(wilsonInterval(0, 200).low).toBe(0);
    expect(wilsonInterval(0, 200).high).toBeCloseTo(0.0188, 3);
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
  });
});

describe('probeVerdict', () => {
  const base = { k: 8, threshold: 0.02 };
  it('predicts a gain of ceiling − greedy when sampling and the fit both beat greedy', () => {
    const v = probeVerdict({ ...base, greedy: 0.3, passAtK: 0.9, ceiling: 0.72 });
    expect(v.kind).toBe('gain');
    expect(v.points).toBe(42);
    expect(v.line).toBe(
      'SVF can plausibly gain ~42 points here (greedy 30.0%, pass@8 90.0%, supervised SVF 72.0%)',
    );
  });
  it('says the skill is missing when nothing beats greedy', () => {
    const v = probeVerdict({ ...base, greedy: 0, passAtK: 0.01, ceiling: 0.01 });
    expect(v.kind).toBe('no-headroom');
    expect(v.line).toMatch(/^no headroom: the skill is missing \(greedy 0\.0%, pass@8 1\.0%/);
    expect(probeVerdict({ ...base, greedy: 0.95, passAtK: 0.96, ceiling: 0.95 }).line).toMatch(
      /^no headroom: the base model is at its ceiling/,
    );
  });
  it('gives REINFORCE no headroom when only the supervised fit gains', () => {
    const v = probeVerdict({ ...base, greedy: 0, passAtK: 0, ceiling: 0.3 });
    expect(v.kind).toBe('no-headroom');
    expect(v.line).toMatch(/^no headroom: the skill is missing .*sampling \(almost\) never finds/);
  });
  it('is unclear when sampling finds answers the fit does not reach', () => {
    expect(probeVerdict({ ...base, greedy: 0.5, passAtK: 0.8, ceiling: 0.5 }).kind).toBe('unclear');
    expect(probeVerdict({ ...base, greedy: 0.5, passAtK: 0.8, ceiling: null }).kind).toBe(
      'unclear',
    );
  });
  it('needs pass@k to find the answers of a tenth of the problems greedy gets wrong', () => {
    // count on the bundled model: a few lucky one-digit guesses, and a fit that learns the answers.
    const count = { ...base, greedy: 0.005, passAtK: 0.035, ceiling: 0.335 };
    expect(probeVerdict(count).kind).toBe('no-headroom');
    expect(probeVerdict({ ...count, passAtK: 0.105 }).kind).toBe('gain');
    expect(probeVerdict({ ...count, minFound: 0.02 }).kind).toBe('gain');
    // Near the top, a tenth of the few failures is little: greedy 90%, pass@8 92%.
    expect(probeVerdict({ ...base, greedy: 0.9, passAtK: 0.92, ceiling: 0.93 }).kind).toBe('gain');
  });
  it('counts a gain from the threshold on', () => {
    expect(
      probeVerdict({ k: 8, threshold: 0.06, greedy: 0.5, passAtK: 0.6, ceiling: 0.55 }).kind,
    ).toBe('unclear');
    expect(
      probeVerdict({ k: 8, threshold: 0.05, greedy: 0.5, passAtK: 0.6, ceiling: 0.55 }).kind,
    ).toBe('gain');
  });
});

describe('probeHeadroom on the bundled model', () => {
  let model: LlamaForCausalLM;
  let tokenizer: TextTokenizer;
  let cacheDir: string;
  beforeAll(async () => {
    ({ model, tokenizer } = (await loadHfFolder(bundled)) as {
      model: LlamaForCausalLM;
      tokenizer: TextTokenizer;
    });
    model.eval();
    cacheDir = mkdtempSync(join(tmpdir(), 't2-probe-'));
  });
  afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

  it('finds no headroom on count, a family the base model never saw', async () => {
    const { evalSamples, trainSamples } = disjoint(countSamples, 32, 256);
    const stages = new Set<string>();
    const r = await probeHeadroom({
      model,
      tokenizer,
      evalSamples,
      trainSamples,
      reward: countReward,
      k: 4,
      fitSteps: 10,
      fitBatch: 16,
      cacheDir,
      onProgress: (e) => stages.add(e.stage),
    });
    expect([...stages]).toEqual(['greedy', 'sample', 'fit', 'ceiling']);
    expect(r.n).toBe(32);
    expect(r.sampled.total).toBe(32 * 4);
    expect(r.threshold).toBeCloseTo(3 / 32);
    expect(r.fit.trainableValues).toBe(12 * 96);
    expect(r.verdict.kind).toBe('no-headroom');
    expect(r.verdict.line).toMatch(/^no headroom/);
    // The model is given back with plain layers.
    expect([...model.model.layers][0]!.mlp.up_proj).toBeInstanceOf(Linear);
  });

  it('predicts a gain on logic, where the base model hedges between answer conventions', async () => {
    const { evalSamples, trainSamples } = disjoint(logicSamples, 40, 640);
    const r = await probeHeadroom({
      model,
      tokenizer,
      evalSamples,
      trainSamples,
      reward: tokenReward,
      k: 4,
      fitSteps: 20,
      fitBatch: 32,
      cacheDir,
    });
    expect(r.verdict.kind).toBe('gain');
    expect(r.verdict.line).toMatch(/^SVF can plausibly gain ~\d+ points here/);
    expect(r.ceiling!.accuracy).toBeGreaterThan(r.greedy.accuracy);
  });

  it('refuses no samples, characters the tokenizer lacks, and overlapping splits', async () => {
    const samples = countSamples(4, 3);
    const base = { model, tokenizer, reward: countReward, fitSteps: 1 };
    await expect(
      probeHeadroom({ ...base, evalSamples: [], trainSamples: samples }),
    ).rejects.toThrow('probeHeadroom: no samples to evaluate');
    await expect(
      probeHeadroom({ ...base, evalSamples: samples, trainSamples: [] }),
    ).rejects.toThrow('no train samples');
    await expect(
      probeHeadroom({
        ...base,
        evalSamples: [{ prompt: 'count € in ab€=', answer: '1' }],
        trainSamples: samples,
      }),
    ).rejects.toThrow(/the tokenizer has no token for 1 character the samples use: "€"/);
    await expect(
      probeHeadroom({ ...base, evalSamples: samples, trainSamples: samples.slice(1) }),
    ).rejects.toThrow(/overlap the evaluated ones: 3 prompts in both/);
  });

  it('names the characters a tokenizer cannot encode', () => {
    expect(tokenizerCoverageProblem(tokenizer, countSamples(20, 4))).toBeNull();
    expect(tokenizerCoverageProblem(tokenizer, [{ prompt: 'rev ñé=', answer: 'éñ' }])).toMatch(
      /2 characters the samples use: "ñ" "é" \(e\.g\. in "rev ñé=éñ"\)/,
    );
    expect(
      overlapProblem([{ prompt: 'a', answer: '1' }], [{ prompt: 'b', answer: '1' }]),
    ).toBeNull();
  });
});
