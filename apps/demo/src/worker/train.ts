import type { LlamaForCausalLM, TextTokenizer } from '@t2/llama';
import { getFamily, sampleTask } from '@t2/tasks';
import { noGrad } from '@t2/tensor-core';
import type { TrainResult, TrainSettings, WorkerEvent } from '../protocol';
import { trainMethod } from './methods';
import type { TrainContext, TrainedAdapter } from './train-context';
import { trainPeft } from './train-peft';
import { trainSvf } from './train-svf';
import { accuracy } from './validation';

export type { TrainContext, TrainedAdapter, TrainerRun } from './train-context';

/** What a finished (or stopped) run leaves behind: files to download, an expert to chat with. */
/**
 * Trains the adapter method `s.method` (one of worker/methods.ts's choices) on a task
 * family. Methods with PEFT files learn by next-token loss on `prompt answer\n`; SVF
 * learns by REINFORCE with the family's ±1 reward. Validation accuracy is measured
 * before the first step, every `evalEvery` steps and at the end.
 */
export async function train(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  s: TrainSettings,
  baseName: string,
  emit: (e: WorkerEvent) => void,
  signal: AbortSignal,
): Promise<{ result: TrainResult; adapter: TrainedAdapter }> {
  const choice = trainMethod(s.method);
  if (!choice) throw new Error(`the demo has no training method named '${s.method}'`);
  const family = getFamily(s.task);
  const validation = sampleTask(family, {
    n: s.evalSize,
    seed: s.seed,
    split: 'validation',
    unique: true,
  });
  const t0 = performance.now();
  const ctx: TrainContext = {
    model,
    tokenizer,
    settings: s,
    family,
    baseName,
    emit,
    signal,
    evalNow: (step) =>
      noGrad(() => {
        const acc = accuracy(model, tokenizer, family, validation);
        emit({ event: 'trainEval', step, accuracy: acc });
        return acc;
      }),
    due: (step) => s.evalEvery > 0 && step % s.evalEvery === 0 && step < s.steps,
  };
  // Accuracy before any update: where the curve starts.
  if (s.evalEvery > 0) ctx.evalNow(0);
  const run = choice.trainer === 'reinforce' ? await trainSvf(ctx) : await trainPeft(ctx);
  const acc = ctx.evalNow(run.steps);
  return {
    result: {
      method: s.method,
      steps: run.steps,
      stopped: run.stopped,
      accuracy: acc,
      trainable: run.trainable,
      ms: performance.now() - t0,
    },
    adapter: { method: s.method, ...run.adapter },
  };
}
