export { type AdapterLayer, AdapterLinear } from './adapter-linear';
export {
  AdapterModel,
  type AdapterSaveOptions,
  adapterModelOf,
  type PeftAdapter,
  type TrainableSummary,
} from './adapter-model';
export {
  PEFT_KEY_PREFIX,
  type PeftConfigFile,
  type PeftSelection,
  peftConfigJson,
  readPeftConfig,
} from './peft-config';
export {
  type AdapterLoadOptions,
  checkFileCoversTargets,
  linearFeaturesAt,
  withoutPeftPrefix,
} from './peft-load';
