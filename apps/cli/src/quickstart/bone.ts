import { join } from 'node:path';
import * as bone from '@t2/adapters-bone';
import { greedyAnswers } from '@t2/rl-reinforce';
import { encodeExample, type StepInfo, trainSft } from '@t2/sft';
import { ANSWER_END, evaluate, type Sample, type TaskFamily } from '@t2/tasks';
import { UsageError } from '../lib/command';
import { loadModelForCli } from '../lib/load-model';
import { drawSamples, TASK_MAX_NEW_TOKENS } from '../lib/task-data';

export interface BoneRunOptions {
  modelPath: string;
  family: TaskFamily;
  steps: number;
  r: number;
  lr: number;
  batch: number;
  /** Test problems scored before and after. */
  n: number;
  seed: number;
  /** The adapter folder to write (PEFT format). */
  dir: string;
  onStep?: (s: StepInfo) => void;
  onEvalProgress?: (done: number, total: number) => void;
}

export interface BoneRunResult {
  before: number;
  after: number;
  testProblems: number;
  trainExamples: number;
  trainable: number;
  parameters: number;
  finalLoss: number;
  seconds: number;
  dir: string;
  files: string[];
}

function accuracyOf(samples: readonly Sample[], outputs: readonly string[]): Promise<number> {
  let next = 0;
  return evaluate(samples, async () => outputs[next++]!).then((e) => e.accuracy);
}

/**
 * Fine-tunes a Bone adapter (all linear layers) on one family's train split with the SFT
 * trainer, scores greedy answers on its test split before and after, and saves the adapter.
 * Runs on its own copy of the base model, so the Transformer² runtime is left as it was.
 */
export async function fineTuneBone(opts: BoneRunOptions): Promise<BoneRunResult> {
  const { model, tokenizer } = await loadModelForCli(opts.modelPath);
  if (!tokenizer) throw new UsageError(`${opts.modelPath} has no tokenizer.json`);
  const test = drawSamples([opts.family], {
    n: opts.n,
    seed: opts.seed,
    split: 'test',
    unique: true,
  });
  const score = async () => {
    const outputs = greedyAnswers(
      model,
      tokenizer,
      test.map((s) => s.prompt),
      {
        maxNewTokens: TASK_MAX_NEW_TOKENS,
        batch: 16,
        onProgress: (done) => opts.onEvalProgress?.(done, test.length),
      },
    );
    return accuracyOf(test, outputs);
  };
  const before = await score();
  const parameters = model.numParameters();
  const h = bone.inject(model, {
    r: opts.r,
    targetModules: 'all-linear',
    baseModelNameOrPath: opts.modelPath,
  });
  const train = drawSamples([opts.family], {
    n: opts.steps * opts.batch,
    seed: opts.seed,
    split: 'train',
  }).map((s) =>
    // The pretraining format: an answer ends at its newline.
    encodeExample(
      { kind: 'completion', prompt: s.prompt, completion: `${s.answer}${ANSWER_END}` },
      tokenizer,
      { maxLength: model.config.maxPositionEmbeddings },
    ),
  );
  const t0 = performance.now();
  const result = await trainSft(
    model,
    h.namedAdapterParameters(),
    train,
    {
      steps: opts.steps,
      lr: opts.lr,
      batchSize: opts.batch,
      warmupSteps: Math.min(10, Math.floor(opts.steps / 10)),
      seed: opts.seed,
      padId: model.config.padTokenId ?? 0,
    },
    { onStep: opts.onStep },
  );
  const seconds = (performance.now() - t0) / 1000;
  model.eval();
  const after = await score();
  await h.save(opts.dir);
  return {
    before,
    after,
    testProblems: test.length,
    trainExamples: train.length,
    trainable: h.numTrainable(),
    parameters,
    finalLoss: result.finalLoss,
    seconds,
    dir: opts.dir,
    files: [join(opts.dir, bone.ADAPTER_CONFIG_FILE), join(opts.dir, bone.ADAPTER_WEIGHTS_FILE)],
  };
}
