import * as svf from '@t2/adapters-svf';
import type { TextTokenizer } from '@t2/llama';
import { ReinforceTrainer } from '@t2/rl-reinforce';
import { deriveSeed, type Sample, sampleTask } from '@t2/tasks';
import type { TrainContext, TrainerRun } from './train-context';
import { ANSWER_TOKENS } from './validation';

/** Lets queued messages (a stop request) in between steps: training steps are synchronous. */
const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** EOS ids plus the newline token: task answers end at the first newline. */
function stopIds(tokenizer: TextTokenizer, eos: readonly number[]): number[] {
  const ids = tokenizer.encode('\n', { addSpecialTokens: false });
  const stops = [...eos];
  if (ids.length === 1 && !stops.includes(ids[0]!)) stops.push(ids[0]!);
  return stops;
}

/** SVF on the MLP weights, trained by REINFORCE; the result is an expert for the task's category. */
export async function trainSvf(ctx: TrainContext): Promise<TrainerRun> {
  const { model, tokenizer, settings: s, family } = ctx;
  const handle = await svf.inject(model, {
    targetModules: svf.MLP_TARGETS,
    seed: s.seed,
    baseModelName: ctx.baseName,
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
  while (trainer.step < s.steps) {
    const started = performance.now();
    const log = trainer.trainStep();
    ctx.emit({
      event: 'trainStep',
      step: log.step,
      steps: s.steps,
      loss: log.loss,
      reward: log.meanReward,
      trainAccuracy: log.trainAccuracy,
      ms: performance.now() - started,
    });
    if (ctx.due(log.step)) ctx.evalNow(log.step);
    await yieldToEvents();
    if (ctx.signal.aborted) {
      stopped = true;
      break;
    }
  }
  const expert = handle.expert({ task: family.category });
  return {
    steps: trainer.step,
    stopped,
    trainable: handle.numTrainable(),
    adapter: {
      expert,
      files: () => [
        {
          name: `${family.category}.safetensors`,
          bytes: svf.serializeExpert(expert),
          type: 'application/octet-stream',
        },
      ],
    },
  };
}
