import type { LlamaForCausalLM, TextTokenizer } from '@t2/llama';
import type { ReinforceConfig } from '../config';
import { stopTokenIds, tokenizerCodec } from '../greedy';
import { ReinforceTrainer, type TrainOptions, type TrainSampler } from '../trainer';
import type { PromptSample, RewardFunction } from '../types';
import type { RlAdapter } from './adapter';

export interface RlTrainerOptions<S extends PromptSample> {
  model: LlamaForCausalLM;
  tokenizer: TextTokenizer;
  adapter: RlAdapter;
  reward: RewardFunction<S>;
  trainSamples: readonly S[] | TrainSampler<S>;
  validationSamples: readonly S[];
  /** Optimizer, batch and sampling settings; stop tokens and padding come from the model. */
  config: ReinforceConfig & { maxNewTokens: number };
}

/**
 * A REINFORCE trainer for a text model and its adapter: prompts are encoded with the
 * tokenizer (BOS added), answers stop at EOS or the newline token, the adapter is switched
 * off for the KL term's base pass.
 */
export function createRlTrainer<S extends PromptSample>(
  opts: RlTrainerOptions<S>,
): ReinforceTrainer<S> {
  const { model, tokenizer, adapter } = opts;
  return new ReinforceTrainer<S>({
    model,
    params: adapter.params,
    codec: tokenizerCodec(tokenizer),
    reward: opts.reward,
    trainSamples: opts.trainSamples,
    validationSamples: opts.validationSamples,
    setAdaptersEnabled: (flag) => adapter.setEnabled(flag),
    config: {
      validationBatchSize: 32,
      ...opts.config,
      eosTokenIds: stopTokenIds(tokenizer, model.config.eosTokenIds),
      padTokenId: model.config.padTokenId ?? 0,
    },
  });
}

export interface CheckpointedTrainOptions extends Omit<TrainOptions, 'checkpointPath'> {
  checkpointPath: string;
  /** Also checkpoint every N steps (besides after each validation and at the end). */
  checkpointEvery: number;
  /** Stops between whole steps, with a checkpoint. */
  signal?: AbortSignal;
  /** Whether the trainer has validation samples (a validation step is then checkpointed). */
  hasValidation: boolean;
}

/**
 * Trains to `steps` one update at a time, so that a stop request is honoured between whole
 * steps (validation included) and a resumed run replays the uninterrupted one exactly.
 * Checkpoints after each validation, every `checkpointEvery` steps, at the end and when
 * stopped. Returns whether every step ran.
 */
export async function trainWithCheckpoints<S extends PromptSample>(
  trainer: ReinforceTrainer<S>,
  opts: CheckpointedTrainOptions,
): Promise<boolean> {
  const { steps, checkpointPath, checkpointEvery, signal, hasValidation } = opts;
  const validateEvery = trainer.config.validateEvery;
  while (trainer.step < steps && !signal?.aborted) {
    await trainer.train({
      steps: trainer.step + 1,
      onStep: opts.onStep,
      onValidation: opts.onValidation,
      onBest: opts.onBest,
    });
    const validated = validateEvery > 0 && hasValidation && trainer.step % validateEvery === 0;
    if (validated || trainer.step % checkpointEvery === 0 || trainer.step === steps) {
      await trainer.saveCheckpoint(checkpointPath);
    }
    // Lets a pending SIGINT reach its handler: training steps are synchronous.
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (trainer.step < steps) await trainer.saveCheckpoint(checkpointPath);
  return trainer.step >= steps;
}
