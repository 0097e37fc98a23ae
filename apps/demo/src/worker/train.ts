import '@t2/adapters-bone';
import '@t2/adapters-lora';
import * as svf from '@t2/adapters-svf';
import { generateBatch, type LlamaForCausalLM, type TextTokenizer } from '@t2/llama';
import { ReinforceTrainer } from '@t2/rl-reinforce';
import { BatchStream, causalLmLossSum, encodeExample } from '@t2/sft';
import { deriveSeed, getFamily, type Sample, sampleTask, type TaskFamily } from '@t2/tasks';
import {
  AdamW,
  clipGradNorm,
  cosineSchedule,
  full,
  noGrad,
  Rng,
  serializeSafetensors,
  type Tensor,
  tidy,
} from '@t2/tensor-core';
import { AdapterModel, adapterMethod, type PeftAdapter } from '@t2/tuners';
import type { DownloadFile, TrainResult, TrainSettings, WorkerEvent } from '../protocol';

/** Task answers are at most 5 characters; with the newline that ends them this leaves room. */
const ANSWER_TOKENS = 8;

/** What a finished (or stopped) run leaves behind: files to download, an expert to chat with. */
export interface TrainedAdapter {
  method: TrainSettings['method'];
  files(): DownloadFile[];
  /** SVF-REINFORCE only: the expert, labelled with the task's category. */
  expert?: svf.SvfExpert;
}

/** Lets queued messages (a stop request) in between steps: training steps are synchronous. */
const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** EOS ids plus the newline token: task answers end at the first newline. */
function stopIds(tokenizer: TextTokenizer, eos: readonly number[]): number[] {
  const ids = tokenizer.encode('\n', { addSpecialTokens: false });
  const stops = [...eos];
  if (ids.length === 1 && !stops.includes(ids[0]!)) stops.push(ids[0]!);
  return stops;
}

/** Greedy accuracy on validation problems, scored by the family's own reward. */
function accuracy(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  family: TaskFamily,
  samples: readonly Sample[],
): number {
  if (samples.length === 0) return Number.NaN;
  model.eval();
  const results = generateBatch(
    model,
    samples.map((s) => tokenizer.encode(s.prompt)),
    { maxNewTokens: ANSWER_TOKENS, stopStrings: ['\n'], tokenizer },
  );
  let correct = 0;
  results.forEach((r, i) => {
    const s = samples[i]!;
    if (family.reward(s.prompt, r.text ?? '', s.answer) > 0) correct++;
  });
  return correct / samples.length;
}

function peftFiles(adapter: { config: Record<string, unknown>; tensors: Map<string, Tensor> }) {
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
 * Trains one adapter on a task family, one step per event-loop turn so that `shouldStop`
 * is seen between steps. Bone, BAT, LoRA and PiSSA learn by next-token loss on
 * `prompt answer\n` (the sft package's batching and loss); SVF learns by REINFORCE with
 * the family's ±1 reward.
 */
export async function train(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  s: TrainSettings,
  baseName: string,
  emit: (e: WorkerEvent) => void,
  shouldStop: () => boolean,
): Promise<{ result: TrainResult; adapter: TrainedAdapter }> {
  const family = getFamily(s.task);
  const validation = sampleTask(family, {
    n: s.evalSize,
    seed: s.seed,
    split: 'validation',
    unique: true,
  });
  const t0 = performance.now();
  const evalNow = (step: number) => {
    const acc = accuracy(model, tokenizer, family, validation);
    emit({ event: 'trainEval', step, accuracy: acc });
    return acc;
  };
  const due = (step: number) => s.evalEvery > 0 && step % s.evalEvery === 0 && step < s.steps;
  // Accuracy before any update: where the curve starts.
  const baseline = () => {
    if (s.evalEvery > 0) noGrad(() => evalNow(0));
  };

  if (s.method === 'svf-reinforce') {
    const handle = await svf.inject(model, {
      targetModules: svf.MLP_TARGETS,
      seed: s.seed,
      baseModelName: baseName,
    });
    const trainer = new ReinforceTrainer<Sample>({
      model,
      params: handle.namedAdapterParameters(),
      codec: {
        encode: (text) => tokenizer.encode(text),
        decode: (ids) => tokenizer.decode(ids, { skipSpecialTokens: true }),
      },
      reward: (prompt, output, sample) => family.reward(prompt, output, sample.answer),
      trainSamples: (step, size) =>
        sampleTask(family, { n: size, seed: deriveSeed(s.seed, `train:${step}`), split: 'train' }),
      setAdaptersEnabled: (flag) => (flag ? handle.enable() : handle.disable()),
      config: {
        lr: s.lr,
        batchSize: s.batchSize,
        maxNewTokens: ANSWER_TOKENS,
        eosTokenIds: stopIds(tokenizer, model.config.eosTokenIds),
        padTokenId: model.config.padTokenId ?? 0,
        seed: s.seed,
      },
    });
    let stopped = false;
    baseline();
    while (trainer.step < s.steps) {
      const started = performance.now();
      const log = trainer.trainStep();
      emit({
        event: 'trainStep',
        step: log.step,
        steps: s.steps,
        loss: log.loss,
        reward: log.meanReward,
        trainAccuracy: log.trainAccuracy,
        ms: performance.now() - started,
      });
      if (due(log.step)) evalNow(log.step);
      await yieldToEvents();
      if (shouldStop()) {
        stopped = true;
        break;
      }
    }
    const acc = evalNow(trainer.step);
    const label = family.category;
    const expert = handle.expert({ task: label });
    return {
      result: {
        method: s.method,
        steps: trainer.step,
        stopped,
        accuracy: acc,
        trainable: handle.numTrainable(),
        ms: performance.now() - t0,
      },
      adapter: {
        method: s.method,
        expert,
        files: () => [
          {
            name: `${label}.safetensors`,
            bytes: svf.serializeExpert(expert),
            type: 'application/octet-stream',
          },
        ],
      },
    };
  }

  // Any registered method with PEFT folders (and its variants: bat, pissa), by name.
  const method = adapterMethod(s.method);
  if (!method?.files) throw new Error(`no adapter method with PEFT files is named '${s.method}'`);
  const config = method.config({
    variant: s.method,
    r: s.r,
    alpha: s.r,
    targetModules: 'all-linear',
    baseModelNameOrPath: baseName,
  });
  const h = method.inject(model, config, { rng: new Rng(s.seed) });
  if (!(h instanceof AdapterModel)) throw new Error(`${method.label}: inject must be synchronous`);
  const params: [string, Tensor][] = h.namedAdapterParameters();
  // Built in memory (no file system in a worker): Bone's and LoRA's handles have toPeft.
  const files = (): DownloadFile[] =>
    peftFiles((h as unknown as { toPeft(): PeftAdapter }).toPeft());
  const data = sampleTask(family, {
    n: Math.min(2000, s.steps * s.batchSize),
    seed: s.seed,
    split: 'train',
  }).map((p) =>
    encodeExample(
      { kind: 'completion', prompt: p.prompt, completion: `${p.answer}\n` },
      tokenizer,
      {
        appendEos: false,
      },
    ),
  );
  const tensors = params.map(([, t]) => t);
  const padId = model.config.padTokenId ?? 0;
  const stream = new BatchStream(data, s.batchSize, new Rng(s.seed), padId);
  const optimizer = new AdamW(tensors, { lr: s.lr });
  const schedule = cosineSchedule({
    warmupSteps: Math.min(10, Math.floor(s.steps / 10)),
    totalSteps: s.steps,
    minRatio: 0.1,
  });
  let step = 0;
  let stopped = false;
  baseline();
  while (step < s.steps) {
    const started = performance.now();
    model.train();
    optimizer.lr = s.lr * schedule(step);
    optimizer.zeroGrad();
    const batch = stream.next();
    const loss = tidy(() => {
      const sum = causalLmLossSum(model, batch);
      sum.backward(full(sum.shape, 1 / batch.numTargets));
      return sum.item() / batch.numTargets;
    });
    clipGradNorm(tensors, 1);
    optimizer.step();
    step++;
    emit({
      event: 'trainStep',
      step,
      steps: s.steps,
      loss,
      ms: performance.now() - started,
    });
    if (due(step)) noGrad(() => evalNow(step));
    await yieldToEvents();
    if (shouldStop()) {
      stopped = true;
      break;
    }
  }
  const acc = noGrad(() => evalNow(step));
  return {
    result: {
      method: s.method,
      steps: step,
      stopped,
      accuracy: acc,
      trainable: tensors.reduce((n, t) => n + t.size, 0),
      ms: performance.now() - t0,
    },
    adapter: { method: s.method, files },
  };
}
