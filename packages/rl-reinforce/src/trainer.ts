import type { LlamaForCausalLM } from '@t2/llama';
import {
  Adam,
  clipGradNorm,
  fromArray,
  type OptimizerState,
  parseSafetensors,
  Rng,
  readSafetensorsFile,
  serializeSafetensors,
  type Tensor,
  tidy,
  writeSafetensorsFile,
} from '@t2/tensor-core';
import {
  type ReinforceConfig,
  type ResolvedReinforceConfig,
  resolveReinforceConfig,
} from './config';
import { checkedReward, decodeAnswer, generateAnswers, scoreAnswers } from './evaluate';
import { policyLoss } from './loss';
import { shapeRewards } from './rewards';
import type { PromptSample, RewardFunction, TokenCodec } from './types';

/** Draws the prompts of one step; must depend only on its arguments for resumable runs. */
export type TrainSampler<S> = (step: number, batchSize: number, rng: Rng) => S[];

export interface ReinforceTrainerOptions<S extends PromptSample> {
  model: LlamaForCausalLM;
  /** The trainable tensors, named (e.g. SVF `….mlp.up_proj.svf_z` or LoRA matrices). */
  params: readonly (readonly [string, Tensor])[];
  codec: TokenCodec;
  reward: RewardFunction<S>;
  /** A pool drawn in seeded shuffled epochs, or a sampler called once per step. */
  trainSamples: readonly S[] | TrainSampler<S>;
  validationSamples?: readonly S[];
  /** Turns the adapters off and on: the base-model pass of the KL term. */
  setAdaptersEnabled?: (enabled: boolean) => void;
  config?: ReinforceConfig;
}

export interface StepLog {
  /** Updates done so far, this one included. */
  step: number;
  meanReward: number;
  minReward: number;
  maxReward: number;
  /** Share of the batch with a positive reward. */
  trainAccuracy: number;
  loss: number;
  /** Mean over the batch of KL(p_base ‖ p) summed over answer tokens (0 without klCoeff). */
  kl: number;
  /** Mean Σ_t log p(a_t) of the sampled answers. */
  meanLogProb: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  meanAnswerTokens: number;
  /** The first answer of the batch, for a glance at what the model says. */
  example: { prompt: string; output: string; reward: number };
}

export interface ValidationLog {
  step: number;
  accuracy: number;
  meanReward: number;
  /** Whether this validation set a new best (the parameters were snapshotted). */
  isBest: boolean;
}

export interface BestCheckpoint {
  step: number;
  accuracy: number;
  meanReward: number;
}

export interface TrainOptions {
  /** Train until this many updates in total (a resumed run continues to the same total). */
  steps: number;
  onStep?: (log: StepLog) => void | Promise<void>;
  onValidation?: (log: ValidationLog) => void | Promise<void>;
  /** Called when validation accuracy improves, e.g. to save the expert. */
  onBest?: (best: BestCheckpoint) => void | Promise<void>;
  /** Written atomically after every validation and at the end (and every `checkpointEvery` steps). */
  checkpointPath?: string;
  checkpointEvery?: number;
}

export interface TrainSummary {
  steps: number;
  history: StepLog[];
  validations: ValidationLog[];
  best: BestCheckpoint | null;
}

const CHECKPOINT_FORMAT = 't2-reinforce-checkpoint';
/** Settings that change what a step computes: a resumed run must use the same ones. */
const RESUME_KEYS = [
  'lr',
  'betas',
  'maxGradNorm',
  'batchSize',
  'temperature',
  'maxNewTokens',
  'klCoeff',
  'normalizeRewards',
  'rewardClip',
  'eosTokenIds',
  'padTokenId',
  'seed',
] as const;

/**
 * REINFORCE for adapters (Transformer² reference): per step, one sampled answer per prompt,
 * loss `mean_b[−(Σ_t log p(a_t)) · r_b + klCoeff · KL_b]`, global grad-norm clip, Adam.
 * All randomness comes from one seeded generator whose state is checkpointed, so a resumed
 * run reproduces an uninterrupted one exactly.
 */
export class ReinforceTrainer<S extends PromptSample> {
  readonly config: ResolvedReinforceConfig;
  readonly optimizer: Adam;
  readonly history: StepLog[] = [];
  readonly validations: ValidationLog[] = [];
  private readonly params: [string, Tensor][];
  private rng: Rng;
  private stepCount = 0;
  private epoch = 0;
  private cursor = 0;
  private order: number[] | null = null;
  private bestInfo: BestCheckpoint | null = null;
  private bestValues: Map<string, Float32Array> | null = null;

  constructor(private readonly opts: ReinforceTrainerOptions<S>) {
    this.config = resolveReinforceConfig(opts.config);
    if (opts.params.length === 0) throw new Error('ReinforceTrainer: no trainable parameters');
    const names = new Set<string>();
    for (const [name, t] of opts.params) {
      if (names.has(name))
        throw new Error(`ReinforceTrainer: parameter name '${name}' appears twice`);
      names.add(name);
      if (!t.requiresGrad)
        throw new Error(`ReinforceTrainer: parameter '${name}' does not require grad`);
    }
    if (this.config.klCoeff > 0 && !opts.setAdaptersEnabled) {
      throw new Error(
        'ReinforceTrainer: klCoeff > 0 needs setAdaptersEnabled for the base-model pass',
      );
    }
    if (Array.isArray(opts.trainSamples) && opts.trainSamples.length === 0) {
      throw new Error('ReinforceTrainer: trainSamples is empty');
    }
    this.params = opts.params.map(([n, t]) => [n, t]);
    this.optimizer = new Adam(
      this.params.map(([, t]) => t),
      { lr: this.config.lr, betas: this.config.betas },
    );
    this.rng = new Rng(this.config.seed);
  }

  /** Updates done so far. */
  get step(): number {
    return this.stepCount;
  }

  get best(): BestCheckpoint | null {
    return this.bestInfo;
  }

  /** The parameter values at the best validation so far (copies), or null. */
  bestParams(): Map<string, Float32Array> | null {
    return this.bestValues && new Map([...this.bestValues].map(([n, v]) => [n, v.slice()]));
  }

  /** Copies the best parameters into the live ones; false when there is no best yet. */
  restoreBest(): boolean {
    if (!this.bestValues) return false;
    for (const [name, t] of this.params) t.data.set(this.bestValues.get(name)!);
    return true;
  }

  private encode(prompt: string): number[] {
    const ids = this.opts.codec.encode(prompt);
    if (ids.length === 0)
      throw new Error(`ReinforceTrainer: prompt ${JSON.stringify(prompt)} encodes to no tokens`);
    return ids;
  }

  /** Seeded permutation per epoch: the epoch number and cursor are all a checkpoint needs. */
  private drawBatch(): S[] {
    const { trainSamples } = this.opts;
    const size = this.config.batchSize;
    if (typeof trainSamples === 'function') {
      const batch = trainSamples(this.stepCount, size, this.rng);
      if (batch.length === 0)
        throw new Error(
          `ReinforceTrainer: the sampler returned no samples at step ${this.stepCount}`,
        );
      return batch;
    }
    const pool = trainSamples as readonly S[];
    const out: S[] = [];
    while (out.length < size) {
      if (!this.order || this.cursor >= pool.length) {
        if (this.order) this.epoch++;
        this.cursor = 0;
        this.order = new Rng(this.config.seed * 7919 + this.epoch + 1).shuffle([...pool.keys()]);
      }
      out.push(pool[this.order[this.cursor++]!]!);
    }
    return out;
  }

  private eosTokenIds(): readonly number[] {
    return this.config.eosTokenIds ?? this.opts.model.config.eosTokenIds;
  }

  private withAdapters<T>(enabled: boolean, fn: () => T): T {
    this.opts.setAdaptersEnabled!(enabled);
    try {
      return fn();
    } finally {
      this.opts.setAdaptersEnabled!(!enabled);
    }
  }

  /** One REINFORCE update. */
  trainStep(): StepLog {
    const cfg = this.config;
    const { model, codec, reward } = this.opts;
    const samples = this.drawBatch();
    const prompts = samples.map((s) => this.encode(s.prompt));
    const eos = this.eosTokenIds();
    const answers = generateAnswers(model, prompts, {
      maxNewTokens: cfg.maxNewTokens,
      temperature: cfg.temperature,
      rng: this.rng,
      eosTokenIds: eos,
      padTokenId: cfg.padTokenId,
    });
    const outputs = answers.map((a) => decodeAnswer(codec, a, eos));
    const rewards = samples.map((s, i) =>
      checkedReward(reward(s.prompt, outputs[i]!, s), i, s.prompt),
    );
    const shaped = shapeRewards(rewards, { normalize: cfg.normalizeRewards, clip: cfg.rewardClip });
    const { loss, kl, logProb } = tidy(() => {
      const items = prompts.map((prompt, i) => ({ prompt, completion: answers[i]! }));
      const withBase =
        cfg.klCoeff > 0 ? <T>(fn: () => T) => this.withAdapters(false, fn) : undefined;
      const pl = policyLoss(model, items, { rewards: shaped, klCoeff: cfg.klCoeff, withBase });
      if (!pl.loss.requiresGrad) {
        throw new Error(
          'ReinforceTrainer: the loss does not depend on the trainable parameters (adapters disabled or merged?)',
        );
      }
      pl.loss.backward();
      return {
        loss: pl.loss.item(),
        kl: mean(Array.from(pl.kl)),
        logProb: mean(Array.from(pl.logProbs)),
      };
    });
    const trainable = this.params.map(([, t]) => t);
    const gradNorm = clipGradNorm(trainable, cfg.maxGradNorm);
    this.optimizer.step();
    this.optimizer.zeroGrad();
    this.stepCount++;
    const log: StepLog = {
      step: this.stepCount,
      meanReward: mean(rewards),
      minReward: Math.min(...rewards),
      maxReward: Math.max(...rewards),
      trainAccuracy: rewards.filter((r) => r > 0).length / rewards.length,
      loss,
      kl,
      meanLogProb: logProb,
      gradNorm,
      meanAnswerTokens: mean(answers.map((a) => a.length)),
      example: { prompt: samples[0]!.prompt, output: outputs[0]!, reward: rewards[0]! },
    };
    this.history.push(log);
    return log;
  }

  /** Greedy answers on the validation samples; snapshots the parameters on a new best. */
  validate(): ValidationLog {
    const samples = this.opts.validationSamples;
    if (!samples || samples.length === 0)
      throw new Error('ReinforceTrainer: no validation samples');
    const cfg = this.config;
    const scores = scoreAnswers(this.opts.model, this.opts.codec, samples, this.opts.reward, {
      maxNewTokens: cfg.maxNewTokens,
      eosTokenIds: this.eosTokenIds(),
      padTokenId: cfg.padTokenId,
      batchSize: cfg.validationBatchSize,
    });
    const isBest = !this.bestInfo || scores.accuracy > this.bestInfo.accuracy;
    if (isBest) {
      this.bestInfo = {
        step: this.stepCount,
        accuracy: scores.accuracy,
        meanReward: scores.meanReward,
      };
      this.bestValues = new Map(this.params.map(([n, t]) => [n, t.data.slice()]));
    }
    const log: ValidationLog = {
      step: this.stepCount,
      accuracy: scores.accuracy,
      meanReward: scores.meanReward,
      isBest,
    };
    this.validations.push(log);
    return log;
  }

  /** Runs updates until `steps` in total, validating every `validateEvery` steps. */
  async train(opts: TrainOptions): Promise<TrainSummary> {
    const { steps, checkpointPath, checkpointEvery = 0 } = opts;
    if (!Number.isInteger(steps) || steps < 0)
      throw new Error(`train: steps must be an integer ≥ 0, got ${steps}`);
    const every = this.config.validateEvery;
    const canValidate = (this.opts.validationSamples?.length ?? 0) > 0;
    // Step 0 (the parameters before any update) is a candidate like any other, so the kept
    // best is never worse on validation than where training started.
    if (canValidate && every > 0 && this.stepCount === 0 && this.validations.length === 0) {
      await this.validateAndReport(opts);
    }
    while (this.stepCount < steps) {
      const log = this.trainStep();
      await opts.onStep?.(log);
      const last = this.stepCount === steps;
      let saved = false;
      // Only at multiples of validateEvery: a run stopped and resumed validates where an
      // uninterrupted one does, so both keep the same best checkpoint.
      if (canValidate && every > 0 && this.stepCount % every === 0) {
        await this.validateAndReport(opts);
        if (checkpointPath) await this.saveCheckpoint(checkpointPath);
        saved = true;
      }
      if (
        checkpointPath &&
        !saved &&
        (last || (checkpointEvery > 0 && this.stepCount % checkpointEvery === 0))
      ) {
        await this.saveCheckpoint(checkpointPath);
      }
    }
    return {
      steps: this.stepCount,
      history: this.history,
      validations: this.validations,
      best: this.bestInfo,
    };
  }

  /** `validate`, then the run's validation and new-best callbacks. */
  private async validateAndReport(opts: TrainOptions): Promise<void> {
    const v = this.validate();
    await opts.onValidation?.(v);
    if (v.isBest) await opts.onBest?.(this.bestInfo!);
  }

  /** Everything a resumed run needs: parameters, Adam moments, generator state, step, best. */
  checkpointBytes(): Uint8Array {
    const { tensors, metadata } = this.checkpointContents();
    return serializeSafetensors(tensors, { metadata });
  }

  async saveCheckpoint(path: string): Promise<void> {
    const { tensors, metadata } = this.checkpointContents();
    await writeSafetensorsFile(path, tensors, { metadata });
  }

  async loadCheckpoint(path: string, opts: { allowConfigChange?: boolean } = {}): Promise<void> {
    const { tensors, metadata } = await readSafetensorsFile(path);
    this.restore(tensors, metadata, path, opts);
  }

  restoreFromBytes(
    bytes: Uint8Array,
    fileName = '<checkpoint>',
    opts: { allowConfigChange?: boolean } = {},
  ): void {
    const { tensors, metadata } = parseSafetensors(bytes, fileName);
    this.restore(tensors, metadata, fileName, opts);
  }

  private checkpointContents(): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
    const tensors = new Map<string, Tensor>();
    for (const [name, t] of this.params) tensors.set(`param/${name}`, t);
    const optim = this.optimizer.stateDict();
    for (const [kind, list] of Object.entries(optim.slots)) {
      list.forEach((values, i) => {
        tensors.set(`optim/${kind}/${i}`, fromArray(values, [values.length]));
      });
    }
    if (this.bestValues) {
      for (const [name, v] of this.bestValues)
        tensors.set(`best/${name}`, fromArray(v, [v.length]));
    }
    const state = {
      step: this.stepCount,
      rng: this.rng.getState(),
      epoch: this.epoch,
      cursor: this.cursor,
      hasOrder: this.order !== null,
      optimizer: { step: optim.step, lr: optim.lr, slots: Object.keys(optim.slots) },
      best: this.bestInfo,
      params: this.params.map(([n, t]) => [n, t.shape]),
      config: this.config,
      history: this.history,
      validations: this.validations,
    };
    return {
      tensors,
      metadata: { format: CHECKPOINT_FORMAT, format_version: '1', state: JSON.stringify(state) },
    };
  }

  private restore(
    tensors: Map<string, Tensor>,
    metadata: Record<string, string>,
    file: string,
    opts: { allowConfigChange?: boolean },
  ): void {
    if (metadata.format !== CHECKPOINT_FORMAT || metadata.state === undefined) {
      throw new Error(
        `${file}: not a REINFORCE checkpoint (metadata format ${JSON.stringify(metadata.format)})`,
      );
    }
    const state = JSON.parse(metadata.state);
    const saved = new Map<string, number[]>(state.params);
    const ours = this.params.map(([n]) => n);
    const missing = ours.filter((n) => !saved.has(n));
    const extra = [...saved.keys()].filter((n) => !ours.includes(n));
    if (missing.length || extra.length) {
      throw new Error(
        `${file}: the checkpoint's parameters differ from the trainer's (${missing.length ? `missing ${missing.slice(0, 3).join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `unexpected ${extra.slice(0, 3).join(', ')}` : ''})`,
      );
    }
    if (!opts.allowConfigChange) {
      for (const key of RESUME_KEYS) {
        const a = JSON.stringify(state.config?.[key] ?? null);
        const b = JSON.stringify(this.config[key] ?? null);
        if (a !== b)
          throw new Error(
            `${file}: the checkpoint was trained with ${key} = ${a}, this run uses ${b} (pass allowConfigChange to resume anyway)`,
          );
      }
    }
    const valuesOf = (name: string, size: number): Float32Array => {
      const t = tensors.get(name);
      if (!t) throw new Error(`${file}: tensor '${name}' is missing`);
      if (t.size !== size)
        throw new Error(`${file}: tensor '${name}' has ${t.size} values, expected ${size}`);
      return t.data;
    };
    const slots: OptimizerState['slots'] = {};
    for (const kind of state.optimizer.slots as string[]) {
      slots[kind] = this.params.map(([, t], i) =>
        Array.from(valuesOf(`optim/${kind}/${i}`, t.size)),
      );
    }
    for (const [name, t] of this.params) t.data.set(valuesOf(`param/${name}`, t.size));
    this.optimizer.loadStateDict({ step: state.optimizer.step, lr: state.optimizer.lr, slots });
    this.rng.setState(state.rng);
    this.stepCount = state.step;
    this.epoch = state.epoch;
    this.cursor = state.cursor;
    this.order = null;
    if (state.hasOrder) {
      const pool = this.opts.trainSamples;
      if (typeof pool !== 'function') {
        this.order = new Rng(this.config.seed * 7919 + this.epoch + 1).shuffle([
          ...(pool as readonly S[]).keys(),
        ]);
      }
    }
    this.bestInfo = state.best;
    this.bestValues = state.best
      ? new Map(this.params.map(([n, t]) => [n, valuesOf(`best/${n}`, t.size).slice()]))
      : null;
    this.history.splice(0, this.history.length, ...state.history);
    this.validations.splice(0, this.validations.length, ...state.validations);
  }
}

function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0;
}
