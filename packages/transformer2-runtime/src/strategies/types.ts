import type { CemProgress } from '../cem/cem';
import type { AlphaShape } from '../mixture/alpha';
import type { GenerateOptions } from '../model/adaptable';

/** How pass 1 picks the experts for pass 2. */
export type StrategyName = 'none' | 'prompt' | 'classifier' | 'few-shot' | 'oracle';

export const STRATEGIES: readonly StrategyName[] = Object.freeze([
  'none',
  'prompt',
  'classifier',
  'few-shot',
  'oracle',
]);

/** A labelled example of a new task, for the few-shot search. */
export interface FewShotExample {
  prompt: string;
  answer: string;
}

/** Scores an output like `RewardFn` of @t2/tasks: positive means correct. */
export type RewardFn = (prompt: string, output: string, answer: string) => number;

export interface FewShotOptions {
  /** Decides whether an output is correct (positive reward). Default: exact match after trimming. */
  reward?: RewardFn;
  /** The text whose log-likelihood breaks accuracy ties. Default: `example.answer`. */
  completion?: (example: FewShotExample) => string;
  /** One α per expert per adapted weight instead of one per expert. Default false. */
  perLayer?: boolean;
  /** CEM settings (Transformer²: population 32, elite ratio 0.2, initial std 0.5). */
  population?: number;
  eliteRatio?: number;
  iterations?: number;
  initStd?: number;
  /** Floor of the std after each refit (0 = the paper's CEM; > 0 helps per-layer α). */
  minStd?: number;
  seed?: number;
  /** Decoding of the examples' answers during the search. Default: pass 2's settings. */
  generate?: GenerateOptions;
  /** Search again even when α for the task is cached. */
  refresh?: boolean;
  onIteration?: (progress: CemProgress) => void;
}

/** What a strategy decided in pass 1. */
export interface Route {
  /** Normalised α over the task experts; null answers with the base model. */
  alpha: Float64Array | null;
  shape: AlphaShape;
  /** The category pass 1 chose (or the oracle's label). */
  label?: string;
  pass1Output?: string;
  pass1Ms: number;
  /** Few-shot: the task whose α was used, and whether it was cached or searched now. */
  task?: string;
  alphaSource?: 'cache' | 'search';
  adaptMs?: number;
}

/** Per-call options of `Transformer2Runtime.generate`. */
export interface RunOptions {
  strategy: StrategyName;
  /** `oracle`: the prompt's true category. */
  label?: string;
  /** `few-shot`: the task id whose α is used (and cached). */
  task?: string;
  /** `few-shot`: labelled examples to search α on when it is not cached yet. */
  examples?: readonly FewShotExample[];
  fewShot?: FewShotOptions;
  /** Decoding of the answer (pass 2), over the runtime's defaults. */
  generate?: GenerateOptions;
}

/** What strategies may ask of the runtime. */
export interface StrategyContext {
  /** Category labels of the task experts, in α order. */
  readonly labels: readonly string[];
  readonly hasClassifier: boolean;
  /** α one-hot on the expert serving `label`, or null when none does (→ base model). */
  alphaForLabel(label: string): Float64Array | null;
  /** Pass 1: runs the classification prompt on the base model or the classification expert. */
  classify(
    prompt: string,
    via: 'base' | 'classifier',
  ): Promise<{ label: string; output: string; ms: number }>;
  /** The α of a few-shot task: cached, or searched on `examples`. */
  taskAlpha(
    task: string,
    examples: readonly FewShotExample[] | undefined,
    options: FewShotOptions | undefined,
  ): Promise<{ alpha: Float64Array; shape: AlphaShape; source: 'cache' | 'search'; ms: number }>;
}

export type Strategy = (
  ctx: StrategyContext,
  prompt: string,
  options: RunOptions,
) => Promise<Route>;
