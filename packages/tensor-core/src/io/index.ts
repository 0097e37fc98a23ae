// Safetensors I/O: the pure format (browser-safe) and Node file/folder helpers that load
// `node:fs` lazily.
export { writeFileAtomic } from './atomic';
export type { SafetensorsDtype } from './dtypes';
export { InputError, isInputError, SafetensorsError } from './errors';
export {
  type ReadTensorsOptions,
  readSafetensorsFile,
  readSafetensorsHeader,
  writeSafetensorsFile,
} from './file';
export {
  assertFinite,
  finiteChecksEnabled,
  firstNonFinite,
  firstNonFiniteBf16,
  setFiniteChecks,
} from './finite';
export { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './float16';
export {
  type FolderTensorInfo,
  type LoadFolderOptions,
  loadSafetensorsFolder,
  type SaveFolderOptions,
  saveSafetensorsFolder,
} from './folder';
export type { Header, HeaderEntry } from './header';
export {
  type BoundedText,
  DEFAULT_MAX_LINE_BYTES,
  readTextBounded,
  tooLongProblems,
} from './lines';
export {
  parseSafetensors,
  type SafetensorsFile,
  type SerializeOptions,
  serializeSafetensors,
  type TensorDict,
} from './safetensors';
export { MAX_TEXT_FILE_BYTES, readTextFileChecked } from './text-file';
