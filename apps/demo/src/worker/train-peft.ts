import { encodeExample, trainSft } from '@t2/sft';
import { sampleTask } from '@t2/tasks';
import { Rng, serializeSafetensors, type Tensor } from '@t2/tensor-core';
import { adapterMethod, type PeftAdapter } from '@t2/tuners';
import type { DownloadFile } from '../protocol';
import type { TrainContext, TrainerRun } from './train-context';

/** AdamW's own default, which the demo has always trained with. */
const WEIGHT_DECAY = 0.01;

/** A PEFT folder's two files, built in memory: a worker has no file system to `save` to. */
function peftFiles(adapter: PeftAdapter): DownloadFile[] {
  return [
    {
      name: 'adapter_config.json',
      bytes: new TextEncoder().encode(`${JSON.stringify(adapter.config, null, 2)}\n`),
      type: 'application/json',
    },
    {
      name: 'adapter_model.safetensors',
      bytes: serializeSafetensors(adapter.tensors),
      type: 'application/octet-stream',
    },
  ];
}

/**
 * Any registered method with PEFT files (or one of its variants: bat, pissa), by name,
 * trained with @t2/sft's loop on `prompt answer\n` completions. The page's chart, its
 * accuracy points and its Stop button hang on trainSft's onStep hook and abort signal.
 */
export async function trainPeft(ctx: TrainContext): Promise<TrainerRun> {
  const { model, tokenizer, settings: s, family } = ctx;
  const method = adapterMethod(s.method);
  if (!method?.files) throw new Error(`no adapter method with PEFT files is named '${s.method}'`);
  const config = method.config({
    variant: s.method,
    r: s.r,
    alpha: s.r,
    targetModules: 'all-linear',
    baseModelNameOrPath: ctx.baseName,
  });
  const handle = await method.inject(model, config, { rng: new Rng(s.seed) });
  const params: [string, Tensor][] = handle.namedAdapterParameters();
  const data = sampleTask(family, {
    n: Math.min(2000, s.steps * s.batchSize),
    seed: s.seed,
    split: 'train',
  }).map((p) =>
    encodeExample(
      { kind: 'completion', prompt: p.prompt, completion: `${p.answer}\n` },
      tokenizer,
      { appendEos: false },
    ),
  );
  // Time per step as the page sees it: the step and the turn of the event loop after it.
  let last = performance.now();
  const run = await trainSft(
    model,
    params,
    data,
    {
      steps: s.steps,
      lr: s.lr,
      batchSize: s.batchSize,
      warmupSteps: Math.min(10, Math.floor(s.steps / 10)),
      minLrRatio: 0.1,
      weightDecay: WEIGHT_DECAY,
      maxGradNorm: 1,
      seed: s.seed,
      padId: model.config.padTokenId ?? 0,
    },
    {
      onStep: (info) => {
        ctx.emit({
          event: 'trainStep',
          step: info.step,
          steps: info.steps,
          loss: info.loss,
          ms: performance.now() - last,
        });
        if (ctx.due(info.step)) {
          ctx.evalNow(info.step);
          model.train(); // evaluation left the model in eval mode
        }
        last = performance.now();
      },
      signal: ctx.signal,
    },
  );
  const toPeft = (handle as unknown as { toPeft?: () => PeftAdapter }).toPeft;
  return {
    steps: run.steps,
    stopped: run.stopped,
    trainable: handle.numTrainable(),
    adapter: {
      files: () => {
        if (typeof toPeft !== 'function')
          throw new Error(`${method.label} cannot write its PEFT files in memory (no toPeft)`);
        return peftFiles(toPeft.call(handle));
      },
    },
  };
}
