export {
  REINFORCE_DEFAULTS,
  type ReinforceConfig,
  type ResolvedReinforceConfig,
  resolveReinforceConfig,
} from './config';
export {
  type AnswerOptions,
  type AnswerScores,
  checkedReward,
  decodeAnswer,
  type GenerateAnswersOptions,
  generateAnswers,
  type ScoredAnswer,
  scoreAnswers,
} from './evaluate';
export {
  type GreedyAnswerOptions,
  greedyAnswers,
  stopTokenIds,
  tokenizerCodec,
} from './greedy';
export { type PolicyLoss, type PolicyLossOptions, policyLoss } from './loss';
export { type RewardShaping, shapeRewards } from './rewards';
export {
  prepareRlAdapter,
  RL_METHODS,
  type RlAdapter,
  type RlAdapterOptions,
  type RlMethod,
} from './setup/adapter';
export { type RlRunInfo, resumeProblem, rlRunFiles, truncateLog } from './setup/run-files';
export {
  type CheckpointedTrainOptions,
  createRlTrainer,
  type RlTrainerOptions,
  trainWithCheckpoints,
} from './setup/trainer';
export {
  type BestCheckpoint,
  ReinforceTrainer,
  type ReinforceTrainerOptions,
  type StepLog,
  type TrainOptions,
  type TrainSampler,
  type TrainSummary,
  type ValidationLog,
} from './trainer';
export type {
  PromptSample,
  RewardFunction,
  TokenCodec,
} from './types';
