import { parseArgs } from 'node:util';
import * as t from '@t2/tensor-core';
import { ProgressBar } from './progress';
import type { Command } from './types';

/**
 * The main job of `npm start`. Until the Transformer² quickstart lands it shows the
 * foundation working: a seeded two-layer network learning a non-linear problem with
 * tensor-core's autograd and AdamW, on the backend `auto` picks for this machine.
 */
export const quickstart: Command = {
  name: 'quickstart',
  summary: 'Train a small network with tensor-core and report its accuracy',
  usage: 't2 quickstart [--steps N] [--seed S] [--backend js|cpu|webasm|auto]',
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: { steps: { type: 'string', default: '300' }, seed: { type: 'string', default: '1' }, backend: { type: 'string', default: 'auto' } },
    });
    const steps = Number(values.steps);
    const rng = new t.Rng(Number(values.seed));
    await t.setBackend(values.backend!);
    io.stdout(`t2 quickstart — backend: ${t.getBackend().name}\n`);
    io.stdout('Task: classify points of two concentric rings (not linearly separable).\n');
    const data = (n: number) => {
      const xs: number[] = [];
      const ys: number[] = [];
      for (let i = 0; i < n; i++) {
        const label = i % 2;
        const r = (label ? 2 : 0.8) + 0.25 * rng.normal();
        const a = 2 * Math.PI * rng.uniform();
        xs.push(r * Math.cos(a), r * Math.sin(a));
        ys.push(label);
      }
      return { x: t.fromArray(xs, [n, 2]), y: ys };
    };
    const train = data(400);
    const test = data(400);
    const fc1 = new t.Linear(2, 32, { rng });
    const fc2 = new t.Linear(32, 2, { rng });
    const forward = (x: t.Tensor) => fc2.forward(t.tanh(fc1.forward(x)));
    const accuracy = (d: { x: t.Tensor; y: number[] }) =>
      t.noGrad(() => {
        const pred = t.argmax(forward(d.x), -1).data;
        return d.y.filter((l, i) => pred[i] === l).length / d.y.length;
      });
    io.stdout(`Accuracy before training: ${(accuracy(test) * 100).toFixed(1)}%\n`);
    const params = [...fc1.parameters(), ...fc2.parameters()];
    const opt = new t.AdamW(params, { lr: 0.03, weightDecay: 0 });
    const bar = new ProgressBar(steps, io.stderr, io.isTTY, { label: 'training', unit: 'steps' });
    for (let step = 1; step <= steps; step++) {
      const loss = t.tidy(() => {
        opt.zeroGrad();
        const l = t.crossEntropy(forward(train.x), train.y);
        l.backward();
        opt.step();
        return l.item();
      });
      bar.update(step, { loss });
    }
    bar.finish();
    io.stdout(`Accuracy after ${steps} steps: ${(accuracy(test) * 100).toFixed(1)}% on 400 held-out points\n`);
    return 0;
  },
};
