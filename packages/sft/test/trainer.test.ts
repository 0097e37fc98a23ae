import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as t from '@t2/tensor-core';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeExample, evalLoss, trainSft } from '../src/index';
import { charTokenizer, TinyLM } from './helpers';

const tok = charTokenizer('0123456789+=');
const data = Array.from({ length: 24 }, (_, i) => {
  const a = i % 5;
  const b = (i * 7) % 5;
  return encodeExample(
    { kind: 'completion', prompt: `${a}+${b}=`, completion: String(a + b) },
    tok,
  );
});
const vocab = 3 + 12;
const named = (m: TinyLM) => m.namedParameters();
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('trainSft', () => {
  it('drives the completion loss down, deterministically', async () => {
    const run = async () => {
      const model = new TinyLM(vocab, 16, 1);
      const before = evalLoss(model, data, 8);
      const res = await trainSft(model, named(model), data, {
        steps: 60,
        lr: 0.02,
        batchSize: 8,
        seed: 3,
        evalData: data,
        evalEvery: 20,
      });
      return { before, res, weights: Array.from(model.head.weight.data) };
    };
    const a = await run();
    const b = await run();
    expect(a.res.evalLoss!).toBeLessThan(a.before * 0.5);
    expect(a.res.evals.map((e) => e.step)).toEqual([20, 40, 60]);
    expect(b.weights).toEqual(a.weights);
    expect(a.res.history).toHaveLength(60);
  });

  it('gradient accumulation equals one larger batch', async () => {
    const one = new TinyLM(vocab, 16, 2);
    const two = new TinyLM(vocab, 16, 2);
    await trainSft(one, named(one), data, {
      steps: 3,
      lr: 0.01,
      batchSize: 4,
      gradAccum: 1,
      seed: 5,
    });
    await trainSft(two, named(two), data, {
      steps: 3,
      lr: 0.01,
      batchSize: 2,
      gradAccum: 2,
      seed: 5,
    });
    const wa = one.head.weight.data;
    const wb = two.head.weight.data;
    let maxDiff = 0;
    for (let i = 0; i < wa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(wa[i]! - wb[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('a stopped run resumes from its checkpoint to the same weights', async () => {
    const dir = await mkdtemp(join(tmpdir(), 't2-sft-'));
    dirs.push(dir);
    const opts = {
      steps: 12,
      lr: 0.01,
      batchSize: 4,
      seed: 9,
      checkpointDir: join(dir, 'ckpt'),
      checkpointEvery: 4,
    };
    const straight = new TinyLM(vocab, 16, 4);
    await trainSft(straight, named(straight), data, { ...opts, checkpointDir: join(dir, 'other') });

    const first = new TinyLM(vocab, 16, 4);
    const ctrl = new AbortController();
    const partial = await trainSft(first, named(first), data, opts, {
      signal: ctrl.signal,
      onStep: (s) => {
        if (s.step === 7) ctrl.abort();
      },
    });
    expect(partial.stopped).toBe(true);
    expect(partial.steps).toBe(7);

    const resumed = new TinyLM(vocab, 16, 99);
    const res = await trainSft(resumed, named(resumed), data, { ...opts, resume: true });
    expect(res.resumedFrom).toBe(7);
    expect(res.steps).toBe(12);
    expect(Array.from(resumed.head.weight.data)).toEqual(Array.from(straight.head.weight.data));
    expect(res.history).toHaveLength(12);
  });

  it('stops between steps when the stop comes from an event (Ctrl-C, a click)', async () => {
    const m = new TinyLM(vocab, 16, 5);
    const ctrl = new AbortController();
    // A timer, not onStep: it can only fire when the loop gives the event loop a turn.
    setTimeout(() => ctrl.abort(), 0);
    const res = await trainSft(
      m,
      named(m),
      data,
      { steps: 200, batchSize: 4 },
      {
        signal: ctrl.signal,
      },
    );
    expect(res.stopped).toBe(true);
    expect(res.steps).toBeGreaterThanOrEqual(1);
    expect(res.steps).toBeLessThan(200);
  });

  it('rejects a checkpoint made for other parameters', async () => {
    const dir = await mkdtemp(join(tmpdir(), 't2-sft-'));
    dirs.push(dir);
    const m = new TinyLM(vocab, 16, 1);
    await trainSft(m, named(m), data, { steps: 1, checkpointDir: dir });
    const other = new TinyLM(vocab, 8, 1);
    await expect(
      trainSft(other, named(other), data, { steps: 2, checkpointDir: dir, resume: true }),
    ).rejects.toThrow(/has \d+ values, the model's has/);
    await expect(trainSft(m, [], data, { steps: 1 })).rejects.toThrow(/no trainable parameters/);
    void t;
  });
});
