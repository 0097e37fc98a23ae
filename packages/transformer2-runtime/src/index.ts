/** @deprecated moved to `@t2/llama` (a tokenizer check); re-exported here for one release. */
export { tokenizerCoverageProblem } from '@t2/llama';
export { ALPHA_CACHE_FORMAT, AlphaCache, type TaskAlpha } from './alpha-cache/alpha-cache';
export {
  type CemIteration,
  type CemObjective,
  type CemOptions,
  type CemProgress,
  type CemResult,
  type CemScore,
  cem,
  compareScores,
} from './cem/cem';
export {
  type EvaluateStrategyOptions,
  evaluateStrategy,
  fewShotTask,
  type StrategyEvaluation,
  settleTaskAlpha,
  type TaskAlphaInfo,
  type TaskHooks,
} from './evaluate/strategy';
export { type LoadedRuntime, type LoadRuntimeOptions, loadRuntime } from './load-runtime';
export {
  type AlphaShape,
  alphaPerExpert,
  alphaSize,
  alphaTable,
  mixtureKey,
  normaliseAlpha,
  oneHotAlpha,
  uniformAlpha,
} from './mixture/alpha';
export { CompositionCache, type CompositionStats } from './mixture/lru';
export type {
  AdaptableModel,
  AlphaTable,
  GenerateOptions,
  Mixing,
  ScoreRequest,
} from './model/adaptable';
export { ComposedLinear } from './model/composed-linear';
export { type LlamaTextOptions, llamaTextModel } from './model/llama-text';
export {
  adaptSvfModel,
  type SvfAdaptableModel,
  type SvfComposition,
  type TextModel,
} from './model/svf-adapter';
export {
  overlapProblem,
  PROBE_DEFAULTS,
  PROBE_TARGETS,
  type ProbeAccuracy,
  type ProbeOptions,
  type ProbeProgress,
  type ProbeResult,
  type ProbeReward,
  type ProbeSample,
  type ProbeStage,
  type ProbeVerdict,
  type ProbeVerdictKind,
  probeHeadroom,
  probeVerdict,
  wilsonInterval,
} from './probe/probe';
export { expertFilesIn, type LoadExpertsOptions, loadExpertRegistry } from './registry/load';
export { ExpertRegistry, type RegisteredExpert } from './registry/registry';
export {
  type AdaptResult,
  type ClassificationOptions,
  type RunResult,
  type RuntimeOptions,
  type Timings,
  type Trace,
  Transformer2Runtime,
} from './runtime/runtime';
export { strategies } from './strategies/index';
export {
  type FewShotExample,
  type FewShotOptions,
  type RewardFn,
  type Route,
  type RunOptions,
  STRATEGIES,
  type Strategy,
  type StrategyContext,
  type StrategyName,
} from './strategies/types';
