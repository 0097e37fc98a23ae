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
export { type PolicyLoss, type PolicyLossOptions, policyLoss } from './loss';
export { type RewardShaping, shapeRewards } from './rewards';
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
