export { FusedDecoder, fusedDecodingUnavailable } from './generate/fused-decoder';
export {
  type FinishReason,
  type GenerateOptions,
  type GenerateResult,
  generate,
  generateBatch,
  type TokenEvent,
} from './generate/generate';
export {
  argmaxRow,
  checkSamplingOptions,
  type SamplingOptions,
  sampleToken,
} from './generate/sampling';
export {
  type CompletionLogits,
  type CompletionScore,
  completionLogits,
  completionLogProbs,
  type ScoreItem,
  scoreCompletions,
} from './generate/score';
export {
  checkTokenizerFits,
  type HfTensorsInput,
  type LoadedModel,
  type LoadHfFolderOptions,
  loadHfFolder,
  modelFromHfTensors,
} from './loaders/hf-folder';
export {
  type Llama2cHeader,
  llama2cConfig,
  loadLlama2cFile,
  modelFromLlama2c,
  parseLlama2c,
} from './loaders/llama2c';
export { loadModel } from './loaders/load-model';
export { type SaveHfFolderOptions, saveHfFolder } from './loaders/save';
export {
  CHECKPOINT_DTYPES,
  CheckpointError,
  checkCheckpointLayout,
  expectedTensorShapes,
  type FromTensorsOptions,
  modelFromTensors,
  type TensorInfo,
} from './loaders/weights';
export { type ForwardContext, LlamaAttention, type Projection } from './model/attention';
export {
  ConfigError,
  createConfig,
  type LlamaConfig,
  type ModelType,
  type ParseConfigOptions,
  parseHfConfig,
  type RopeScaling,
  toHfConfig,
} from './model/config';
export { LlamaDecoderLayer } from './model/decoder-layer';
export { KVCache } from './model/kv-cache';
export {
  createKVCache,
  type ForwardOptions,
  LlamaForCausalLM,
  LlamaModel,
  type ModelInit,
} from './model/llama-model';
export { LlamaMLP } from './model/mlp';
export { applyRotary, type Positions, rotaryInvFreq } from './model/rotary';
export { tokenizerCoverageProblem } from './tokenizer/coverage';
export {
  type ChatMessage,
  checkTokenizerJson,
  loadTokenizerFolder,
  TextTokenizer,
  TokenizerError,
  type TokenizerOptions,
} from './tokenizer/tokenizer';
