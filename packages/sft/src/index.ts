export { BatchStream, collate } from './data/batch';
export { type EncodeOptions, encodeExample } from './data/encode';
export { parseSftJsonl, readSftJsonl, SftDataError } from './data/jsonl';
export {
  loadCheckpoint,
  SftCheckpointError,
  saveCheckpoint,
  type TrainerState,
} from './train/checkpoint';
export { causalLmLossSum } from './train/loss';
export {
  evalLoss,
  type SftOptions,
  type StepInfo,
  type TrainResult,
  trainSft,
} from './train/trainer';
export type {
  Batch,
  CausalLM,
  ChatMessage,
  EncodedExample,
  SftExample,
  SftTokenizer,
} from './types';
