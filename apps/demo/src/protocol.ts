/**
 * Messages between the page and the model worker. Every request gets one reply with its
 * id (a result or an error); progress arrives as events while the request runs.
 */
import type { SelftestReport } from './selftest/selftest';
import type { BrowserBenchRow, GlTrainingBenchRow } from './worker/bench';

/** Where a model comes from: a URL folder (the bundled model) or files the user dropped. */
export type ModelSourceSpec =
  | { kind: 'url'; base: string; name: string }
  | { kind: 'files'; name: string; files: { path: string; file: File }[] };

export const STRATEGY_NAMES = ['prompt', 'classifier', 'oracle', 'none'] as const;
export type ChatStrategy = (typeof STRATEGY_NAMES)[number];

/** A method's name as the train view offers it ('bone', 'pissa', 'svf-reinforce'). */
export type TrainMethod = string;

/**
 * One choice of the train view. The worker builds the list from the @t2/tuners registry
 * (see worker/methods.ts), so a newly registered method shows up without a page edit.
 */
export interface TrainMethodInfo {
  name: TrainMethod;
  label: string;
  /** The registry's one-line description of the method. */
  summary: string;
  /** How it learns: next-token loss on the answers, or REINFORCE on the task's reward. */
  trainer: 'sft' | 'reinforce';
  /** Whether the rank / block field applies (SVF scales every singular value). */
  usesRank: boolean;
  /** A learning rate that works for it on the bundled model. */
  defaultLr: number;
}

export interface TrainSettings {
  method: TrainMethod;
  /** A task family of @t2/tasks (arith, string, logic, count, sort). */
  task: string;
  steps: number;
  batchSize: number;
  lr: number;
  /** Adapter rank (Bone block size, LoRA rank); unused by SVF. */
  r: number;
  /** Greedy accuracy on validation problems every this many steps (0: only at the end). */
  evalEvery: number;
  evalSize: number;
  seed: number;
}

export interface ExpertInfo {
  name: string;
  label: string;
  role: 'task' | 'classifier';
}

export interface ModelInfo {
  name: string;
  /** Served over HTTP (the bundled model) or read from files the user gave. */
  source: ModelSourceSpec['kind'];
  parameters: number;
  layers: number;
  hiddenSize: number;
  vocabSize: number;
  experts: ExpertInfo[];
  /** Adapted weights of the experts (the SVF view's choices). */
  svfTargets: string[];
  strategies: ChatStrategy[];
  /** Why the chat view cannot run, when it cannot (e.g. no experts in the folder). */
  chatUnavailable?: string;
  loadMs: number;
}

export interface BackendInfo {
  /** The tensor-core backend in use. */
  active: string;
  /** What the user asked for (differs from `active` after a fallback). */
  requested: string;
  /** Why `requested` is not the active backend, if it is not. */
  note?: string;
}

export interface Spectrum {
  weight: string;
  shape: [number, number];
  singularValues: number[];
  /** Mask per expert (sigmoid(z)·maxMult), in the order of the singular values. */
  masks: { expert: string; label: string; values: number[] }[];
  maxMult: number;
}

export interface TrainResult {
  method: TrainMethod;
  steps: number;
  stopped: boolean;
  accuracy: number | null;
  trainable: number;
  ms: number;
}

export interface DownloadFile {
  name: string;
  bytes: Uint8Array;
  type: string;
}

export type Request =
  | { type: 'setBackend'; name: string; webgpuAdapter: string | null }
  | { type: 'load'; source: ModelSourceSpec }
  | { type: 'trainMethods' }
  | {
      type: 'chat';
      prompt: string;
      strategy: ChatStrategy;
      label?: string;
      maxNewTokens: number;
    }
  | { type: 'train'; settings: TrainSettings }
  | { type: 'stopTraining' }
  | { type: 'download' }
  | { type: 'useTrainedExpert' }
  | { type: 'spectrum'; weight: string }
  | { type: 'selftest'; backend: string; only?: string[]; variant?: 'page' | 'defaults' }
  | { type: 'bench'; seconds?: number; which?: 'matmul' | 'gl-training' };

export type ReplyOf<R extends Request['type']> = R extends 'setBackend'
  ? BackendInfo
  : R extends 'load'
    ? ModelInfo
    : R extends 'trainMethods'
      ? TrainMethodInfo[]
      : R extends 'chat'
        ? { output: string; trace: ChatTrace }
        : R extends 'train'
          ? TrainResult
          : R extends 'download'
            ? DownloadFile[]
            : R extends 'useTrainedExpert'
              ? ModelInfo
              : R extends 'spectrum'
                ? Spectrum
                : R extends 'selftest'
                  ? SelftestReport
                  : R extends 'bench'
                    ? BrowserBenchRow[] | GlTrainingBenchRow[]
                    : null;

/** Pass 1's decision as the page shows it. */
export interface ChatTrace {
  strategy: ChatStrategy;
  label?: string;
  /** α per task expert (null: the base model answers). */
  alpha: Record<string, number> | null;
  pass1Output?: string;
  timings: { pass1Ms: number; composeMs: number; pass2Ms: number; totalMs: number };
}

export type WorkerEvent =
  | { event: 'progress'; text: string }
  | { event: 'pass1'; trace: Omit<ChatTrace, 'timings'> & { pass1Ms: number } }
  | { event: 'token'; text: string }
  | {
      event: 'trainStep';
      step: number;
      steps: number;
      loss: number;
      /** REINFORCE: mean reward and share of correct sampled answers. */
      reward?: number;
      trainAccuracy?: number;
      ms: number;
    }
  | { event: 'trainEval'; step: number; accuracy: number };

export type WorkerMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string; stack?: string }
  | { id: null; event: WorkerEvent };
