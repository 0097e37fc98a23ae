export {
  classificationPrompt,
  classificationReward,
  classificationTask,
  expertCategories,
  OTHER_CATEGORY,
  parseCategory,
} from './classify';
export { writtenAnswer } from './conventions';
export {
  type EvaluateOptions,
  type Evaluation,
  evaluate,
  type GenerateFn,
  type SampleResult,
  type Score,
} from './evaluate';
export { ANSWER_END, answerLine, extractInteger, extractToken } from './extract';
export {
  big,
  end,
  expertDomains,
  families,
  getFamily,
  heldOutFamilies,
  mixableFamilies,
  shout,
} from './families';
export { JsonlError, type JsonlIssue, parseJsonl } from './jsonl';
export { readJsonlFile } from './node/jsonl-file';
export { loadRewardModule } from './node/reward-module';
export { exactMatchReward, numericReward, regexReward, userReward } from './rewards';
export { deriveSeed, hashString, Rng } from './rng';
export { formatExample, mixture, type SampleOptions, sampleTask } from './sample';
export { splitFractions, splitOf, splitSamples, splits } from './split';
export {
  mcnemarExact,
  type PairedComparison,
  type PairedOptions,
  pairedComparison,
} from './stats';
export type { Problem, Reward, RewardFn, Sample, Split, TaskFamily } from './types';
