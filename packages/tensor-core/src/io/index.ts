// Safetensors I/O: the pure format (browser-safe) and Node file/folder helpers that load
// `node:fs` lazily.
export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  type AdapterFolder,
  readAdapterFolder,
  writeAdapterFolder,
} from './adapter-folder';
export { writeFileAtomic } from './atomic';
export type { SafetensorsDtype } from './dtypes';
export { SafetensorsError } from './errors';
export { readSafetensorsFile, writeSafetensorsFile } from './file';
export { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './float16';
export { loadSafetensorsFolder, type SaveFolderOptions, saveSafetensorsFolder } from './folder';
export {
  parseSafetensors,
  type SafetensorsFile,
  type SerializeOptions,
  serializeSafetensors,
  type TensorDict,
} from './safetensors';
