import { createConfig, generateBatch, LlamaForCausalLM } from '@t2/llama';
import {
  type Backend,
  createJsBackend,
  crossEntropy,
  type GpuJsBackend,
  Rng,
  reshape,
  type Tensor,
  tidy,
  withBackend,
} from '@t2/tensor-core';

/**
 * One training step of a small LLaMA (grouped-query attention, SwiGLU, tied head) on a
 * padded batch, on a gpu.js backend: how many times it read results back to the host during the forward
 * and backward pass, and how far its loss and gradients are from the js backend's.
 */
export interface ResidencyReport {
  ok: boolean;
  /** Whether the backend keeps op results on the device (GL modes by default). */
  resident: boolean;
  /** Readbacks between the first op and the end of backward (0 when resident). */
  readbacksDuringPass: number;
  /** Readbacks in all, the loss and the gradients read at the end included. */
  readbacks: number;
  /** Parameter tensors, each with a gradient read at the end. */
  parameters: number;
  /** Host arrays uploaded to kernels: parameters, ids, targets, constants. */
  uploads: number;
  /** Device results a kernel read under other extents (no copy). */
  reshapes: number;
  /** Greedy continuations of two prompts (a left-padded batch, KV cache), before training. */
  generated: string[];
  referenceGenerated: string[];
  loss: number;
  referenceLoss: number;
  /** max |g − g_js| / max |g_js| over every parameter's gradient. */
  gradError: number;
  ms: number;
  error?: string;
}

/** The small LLaMA of the check (and of the WebGL2 training bench), seeded. */
export function tinyModel(): LlamaForCausalLM {
  const config = createConfig({
    hiddenSize: 32,
    intermediateSize: 48,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    vocabSize: 48,
    maxPositionEmbeddings: 64,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: true,
  });
  return new LlamaForCausalLM(config, { rng: new Rng(7) });
}

/**
 * Eight rows as fine-tuning batches them: right-padded to the longest (an attention mask,
 * per-row positions, so rotary runs row by row and concatenates more pieces than one
 * kernel joins), prompt and padding positions ignored (−100), the loss summed.
 */
function batch(): { inputs: number[][]; mask: number[][]; targets: number[] } {
  const rng = new Rng(11);
  const lengths = [16, 11, 7, 16, 9, 13, 5, 12];
  const rows = lengths.map((n) => Array.from({ length: 17 }, (_, t) => (t <= n ? rng.int(48) : 0)));
  return {
    inputs: rows.map((r) => r.slice(0, -1)),
    mask: lengths.map((n) => Array.from({ length: 16 }, (_, t) => (t < n ? 1 : 0))),
    targets: rows.flatMap((r, b) =>
      r.slice(1).map((id, t) => (t < 4 || t >= lengths[b]! ? -100 : id)),
    ),
  };
}

/** Loss and every parameter's gradient for the padded batch below, computed on `backend`. */
export function trainStep(
  model: LlamaForCausalLM,
  backend: Backend,
  afterBackward?: (loss: Tensor) => void,
): { loss: number; grads: Float32Array[] } {
  const { inputs, mask, targets } = batch();
  model.zeroGrad();
  return withBackend(backend, () =>
    tidy(() => {
      const logits = model.forward(inputs, { attentionMask: mask });
      const loss = crossEntropy(reshape(logits, [targets.length, -1]), targets, {
        reduction: 'sum',
      });
      loss.backward();
      afterBackward?.(loss);
      return {
        loss: loss.item(),
        grads: model.parameters().map((p) => Float32Array.from(p.grad!.data)),
      };
    }),
  );
}

export function runResidencyCheck(backend: GpuJsBackend): ResidencyReport {
  const t0 = performance.now();
  const stats = backend.context.stats;
  const resident = backend.context.residentResults;
  const model = tinyModel();
  const base = { ...stats };
  const counts = () => ({
    readbacks: stats.readbacks - base.readbacks,
    parameters: model.parameters().length,
    uploads: stats.uploads - base.uploads,
    reshapes: stats.reshapes - base.reshapes,
    ms: performance.now() - t0,
  });
  try {
    const prompts = [
      [1, 5, 9, 13],
      [1, 7],
    ];
    const gen = (b: Backend) =>
      withBackend(b, () =>
        generateBatch(model, prompts, { maxNewTokens: 6, temperature: 0, eosTokenIds: [] }).map(
          (r) => r.tokens.join(','),
        ),
      );
    const wantGen = gen(createJsBackend());
    const gotGen = gen(backend);
    const want = trainStep(model, createJsBackend());
    // Counted from the training step on (the generation above reads its tokens back).
    Object.assign(base, stats);
    let during = -1;
    const got = trainStep(model, backend, () => {
      during = stats.readbacks - base.readbacks;
    });
    let scale = 0;
    let err = 0;
    want.grads.forEach((w, i) => {
      const g = got.grads[i]!;
      for (let j = 0; j < w.length; j++) {
        scale = Math.max(scale, Math.abs(w[j]!));
        err = Math.max(err, Math.abs(g[j]! - w[j]!));
      }
    });
    const gradError = err / scale;
    const lossOk = Math.abs(got.loss - want.loss) <= 1e-4 * Math.abs(want.loss);
    return {
      ok:
        lossOk &&
        gradError <= 1e-3 &&
        (!resident || during === 0) &&
        gotGen.join('|') === wantGen.join('|'),
      generated: gotGen,
      referenceGenerated: wantGen,
      resident,
      readbacksDuringPass: during,
      loss: got.loss,
      referenceLoss: want.loss,
      gradError,
      ...counts(),
    };
  } catch (e) {
    return {
      ok: false,
      resident,
      readbacksDuringPass: -1,
      generated: [],
      referenceGenerated: [],
      loss: Number.NaN,
      referenceLoss: Number.NaN,
      gradError: Number.NaN,
      ...counts(),
      error: `${(e as Error).message}\n${(e as Error).stack?.split('\n').slice(0, 6).join('\n')}`,
    };
  } finally {
    model.zeroGrad();
  }
}
