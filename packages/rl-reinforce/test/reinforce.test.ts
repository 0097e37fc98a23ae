import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from '@t2/adapters-svf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PromptSample, type ReinforceConfig, ReinforceTrainer } from '../src/index';
import { idCodec, loadStories, nextTokenProb } from './helpers';

// The toy task: the first answer token should be X. stories260K gives X = 461 a probability
// of 0.29, 0.15 and 0.06 after these prompts, so a batch of 8 sampled answers (temperature 1)
// sees both rewards.
const X = 461;
const firstTokenIsX = (_prompt: string, output: string) =>
  output.split(' ')[0] === String(X) ? 1 : -1;
const prompts: PromptSample[] = [{ prompt: '1' }, { prompt: '1 300 301' }, { prompt: '1 400' }];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't2-reinforce-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function setup(config: ReinforceConfig = {}, seed = 0) {
  const model = await loadStories();
  const svf = await inject(model, { seed });
  const trainer = new ReinforceTrainer({
    model,
    params: svf.namedTrainableParameters(),
    codec: idCodec,
    reward: firstTokenIsX,
    trainSamples: prompts,
    validationSamples: prompts,
    setAdaptersEnabled: (on) => svf.setEnabled(on),
    config: { batchSize: 8, maxNewTokens: 2, seed: 1, temperature: 1, ...config },
  });
  return { model, svf, trainer };
}

/** The exact expected reward E[r] = 2·p(X) − 1, averaged over the prompts. */
function expectedReward(model: Awaited<ReturnType<typeof loadStories>>): number {
  return (
    prompts.reduce((s, p) => s + 2 * nextTokenProb(model, p.prompt, X) - 1, 0) / prompts.length
  );
}

describe('REINFORCE on SVF experts (stories260K)', () => {
  it('raises the reward with the reference settings (Adam 2e-3, clip 1e-3) on sampled answers, deterministically', async () => {
    const { model, svf, trainer } = await setup();
    const before = expectedReward(model);
    const pBefore = prompts.map((p) => nextTokenProb(model, p.prompt, X));
    const pBase = svf.withBase(() => prompts.map((p) => nextTokenProb(model, p.prompt, X)));
    const { history } = await trainer.train({ steps: 20 });
    const after = expectedReward(model);
    expect(history).toHaveLength(20);
    expect(before).toBeLessThan(-0.5);
    expect(after).toBeGreaterThan(before + 0.5);
    prompts.forEach((p, i) => {
      expect(nextTokenProb(model, p.prompt, X)).toBeGreaterThan(pBefore[i]! + 0.15);
    });
    const meanOf = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(meanOf(history.slice(-5).map((h) => h.meanReward))).toBeGreaterThan(
      meanOf(history.slice(0, 5).map((h) => h.meanReward)),
    );
    for (const h of history) {
      expect(h.trainAccuracy).toBeCloseTo((h.meanReward + 1) / 2, 10);
      expect(h.minReward).toBeLessThanOrEqual(h.meanReward);
      expect(h.maxReward).toBeGreaterThanOrEqual(h.meanReward);
      expect(h.meanAnswerTokens).toBeGreaterThan(0);
      expect(h.meanAnswerTokens).toBeLessThanOrEqual(2);
      expect(h.kl).toBe(0);
    }
    // The base model is untouched: disabling the adapter restores its probabilities.
    svf.disable();
    prompts.forEach((p, i) => {
      expect(nextTokenProb(model, p.prompt, X)).toBe(pBase[i]);
    });
    svf.enable();

    const again = await setup();
    const rerun = await again.trainer.train({ steps: 20 });
    expect(rerun.history).toEqual(history);
    expect(again.svf.expert().z).toEqual(svf.expert().z);
  });

  it('resumes from a checkpoint exactly as if never stopped, keeping the best by validation', async () => {
    const straight = await setup({ validateEvery: 2 });
    await straight.trainer.train({ steps: 6 });

    const ckpt = join(dir, 'run.safetensors');
    const first = await setup({ validateEvery: 2 });
    await first.trainer.train({ steps: 3, checkpointPath: ckpt });
    const resumed = await setup({ validateEvery: 2 });
    await resumed.trainer.loadCheckpoint(ckpt);
    expect(resumed.trainer.step).toBe(3);
    await resumed.trainer.train({ steps: 6 });

    expect(resumed.svf.expert().z).toEqual(straight.svf.expert().z);
    expect(resumed.trainer.history).toEqual(straight.trainer.history);
    expect(resumed.trainer.validations).toEqual(straight.trainer.validations);
    expect(resumed.trainer.best).toEqual(straight.trainer.best);
    expect(resumed.trainer.bestParams()).toEqual(straight.trainer.bestParams());
    // Step 0 (before any update) is a candidate too, so the kept best is never worse than the start.
    expect(straight.trainer.validations.map((v) => v.step)).toEqual([0, 2, 4, 6]);

    const best = straight.trainer.best!;
    expect(best.accuracy).toBe(Math.max(...straight.trainer.validations.map((v) => v.accuracy)));
    straight.trainer.restoreBest();
    const bestZ = straight.trainer.bestParams()!;
    for (const [name, z] of straight.svf.namedTrainableParameters())
      expect(z.data).toEqual(bestZ.get(name));

    const other = await setup({ validateEvery: 2, lr: 1e-2 });
    await expect(other.trainer.loadCheckpoint(ckpt)).rejects.toThrow(
      /lr = 0\.002, this run uses 0\.01/,
    );
  });

  it('adds the KL to the base model when klCoeff > 0', async () => {
    const { trainer } = await setup({ klCoeff: 0.5, lr: 2e-2, maxGradNorm: 1 });
    const { history } = await trainer.train({ steps: 4 });
    // z starts at 0.1 + 0.01·noise: a nearly constant mask, so W' ≈ W and KL is small.
    expect(history[0]!.kl).toBeGreaterThan(0);
    expect(history[0]!.kl).toBeLessThan(0.05);
    expect(history[3]!.kl).toBeGreaterThan(history[0]!.kl);
  });

  it('trains any tensors it is given and reports bad rewards and setups clearly', async () => {
    const model = await loadStories();
    model.requiresGrad(false);
    const norm = model.model.norm.getParameter('weight')!.requireGrad();
    const before = norm.data.slice();
    const base = {
      model,
      codec: idCodec,
      trainSamples: prompts,
      config: { batchSize: 4, maxNewTokens: 1 },
    };
    const trainer = new ReinforceTrainer({
      ...base,
      params: [['model.norm.weight', norm]],
      reward: firstTokenIsX,
    });
    trainer.trainStep();
    expect(norm.data).not.toEqual(before);

    const nan = new ReinforceTrainer({ ...base, params: [['w', norm]], reward: () => Number.NaN });
    expect(() => nan.trainStep()).toThrow(/reward: sample 0 .*got NaN/);
    expect(
      () =>
        new ReinforceTrainer({
          ...base,
          params: [['w', norm]],
          reward: firstTokenIsX,
          config: { klCoeff: 0.1 },
        }),
    ).toThrow(/setAdaptersEnabled/);
    norm.requiresGrad = false;
    expect(
      () => new ReinforceTrainer({ ...base, params: [['w', norm]], reward: firstTokenIsX }),
    ).toThrow(/'w' does not require grad/);
  });

  it('refuses to step when the adapters do not reach the loss (merged)', async () => {
    const { svf, trainer } = await setup();
    svf.merge();
    expect(() => trainer.trainStep()).toThrow(/does not depend on the trainable parameters/);
  });
});
