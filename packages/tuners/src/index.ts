// @t2/tuners: the adapter framework every method builds on (PEFT's tuners): base classes
// for adapter layers and handles, the one target-matching rule, PEFT config and folder
// I/O, one generic loader, and the method registry.

export { type AdapterLayer, AdapterLinear } from './base/adapter-linear';
export {
  AdapterModel,
  type AdapterSaveOptions,
  adapterModelOf,
  type PeftAdapter,
} from './base/adapter-model';
export { BaseTuner, type TrainableSummary } from './base/tuner';
export {
  PEFT_KEY_PREFIX,
  type PeftConfigFile,
  type PeftSelection,
  peftConfigJson,
  readPeftConfig,
} from './peft/config';
export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  type AdapterFolder,
  readAdapterFolder,
  writeAdapterFolder,
} from './peft/folder';
export {
  type AdapterLoadOptions,
  checkFileCoversTargets,
  linearFeaturesAt,
  withoutPeftPrefix,
} from './peft/load-checks';
export { injectFromPeft, type LoadedAdapter, loadAdapter, methodOfPeftConfig } from './peft/loader';
export {
  type AdapterMethod,
  adapterMethod,
  adapterMethodForPeftType,
  adapterMethodNames,
  adapterMethods,
  type MethodOptions,
  type PeftFormat,
  registerAdapterMethod,
  type TrainableTuner,
} from './registry/registry';
export {
  findTargetModules,
  isAdapterLayer,
  matchesTargetModules,
  OUTPUT_HEAD,
  selectTargetModules,
  type TargetModules,
  type TargetPatterns,
  type TargetSelection,
} from './targets/target-modules';
