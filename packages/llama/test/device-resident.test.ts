import {
  type Backend,
  createJsBackend,
  crossEntropy,
  reshape,
  type Tensor,
  tidy,
  withBackend,
} from '@t2/tensor-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFakeDeviceBackend } from '../../../test-support/device-backend';
import { type LlamaForCausalLM, loadLlama2cFile } from '../src/index';
import { stories260K } from './helpers';

/**
 * stories260K on a backend that keeps every result on its (fake) device: a training
 * step, a padded batch and cached decoding read nothing back until their results are
 * read, and compute exactly what the js backend computes.
 */

let model: LlamaForCausalLM;
beforeAll(async () => {
  ({ model } = await loadLlama2cFile(stories260K.bin()));
});

const ids = [
  [1, 403, 407, 261, 378, 404, 426, 350, 261, 346, 349, 270],
  [1, 378, 404, 270, 426, 403, 261, 350, 346, 407, 349, 261],
];

function trainStep(backend: Backend, onLoss?: (loss: Tensor) => void) {
  model.zeroGrad();
  for (const p of model.parameters()) p.requireGrad();
  return withBackend(backend, () =>
    tidy(() => {
      const logits = model.forward(ids.map((r) => r.slice(0, -1)));
      const targets = ids.flatMap((r) => r.slice(1));
      const loss = crossEntropy(reshape(logits, [targets.length, -1]), targets);
      loss.backward();
      onLoss?.(loss);
      return {
        loss: loss.item(),
        grads: model.parameters().map((p) => Float32Array.from(p.grad!.data)),
      };
    }),
  );
}

describe('stories260K on a device backend', () => {
  it('a training step reads back only the loss and the gradients, and matches the js backend', () => {
    const want = trainStep(createJsBackend());
    const dev = createFakeDeviceBackend();
    let before = -1;
    const got = trainStep(dev, (loss) => {
      expect(loss.onDevice).toBe(true);
      before = dev.readbacks;
    });
    expect(before).toBe(0);
    expect(dev.readbacks).toBe(1 + model.parameters().length);
    expect(got.loss).toBe(want.loss);
    got.grads.forEach((g, i) => {
      expect(Array.from(g)).toEqual(Array.from(want.grads[i]!));
    });
    model.zeroGrad();
  });

  it('a left-padded batch and cached decoding keep their logits on the device until read', () => {
    const run = (backend: Backend, check?: () => void) =>
      withBackend(backend, () =>
        tidy(() => {
          const cache = model.createKVCache(2);
          const prompt = [
            [0, 0, 1, 403, 407],
            [1, 378, 404, 270, 426],
          ];
          const mask = prompt.map((r, b) => r.map((_, t) => (b === 0 && t < 2 ? 0 : 1)));
          const first = model.forward(prompt, { attentionMask: mask, cache, lastOnly: true });
          const next = model.forward([[261], [350]], { cache, attentionMask: [[1], [1]] });
          check?.();
          return [Float32Array.from(first.data), Float32Array.from(next.data)];
        }),
      );
    const want = run(createJsBackend());
    const dev = createFakeDeviceBackend();
    const got = run(dev, () => expect(dev.readbacks).toBe(0));
    expect(dev.readbacks).toBe(2);
    got.forEach((g, i) => {
      expect(Array.from(g)).toEqual(Array.from(want[i]!));
    });
  });
});
