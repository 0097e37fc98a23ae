import { isInputError } from '@t2/tensor-core';
import { UsageError } from './command';

/** Exit codes (apps/cli/README.md): 2 for bad input or usage, 1 for internal failures. */
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 1;

/** Error classes of the t2 packages that are about the user's input, by name (any bundle). */
const INPUT_ERROR_NAMES = new Set([
  'UsageError',
  'InputError',
  'SafetensorsError',
  'ConfigError',
  'CheckpointError',
  'SftDataError',
  'SftCheckpointError',
  'JsonlError',
  'NonFiniteInputError',
  'TokenizerError',
  'AdapterError',
  'ExpertError',
]);

/** What file-system error codes mean, for a path the user gave. */
const FS_CODES: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EISDIR: 'is a folder, expected a file',
  ENOTDIR: 'is not a folder (or a part of the path is a file)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
  EINVAL: 'invalid argument for this kind of file',
  ENXIO: 'no such device',
  ENODEV: 'no such device',
};

/** The one line shown for an error and the exit code it gets. */
export function describeError(err: unknown): { code: number; message: string; internal: boolean } {
  if (err instanceof UsageError || isInputError(err)) {
    return { code: EXIT_BAD_INPUT, message: oneLine((err as Error).message), internal: false };
  }
  if (err instanceof Error && INPUT_ERROR_NAMES.has(err.name)) {
    return { code: EXIT_BAD_INPUT, message: oneLine(err.message), internal: false };
  }
  const e = err as NodeJS.ErrnoException | undefined;
  const fsCode = typeof e?.code === 'string' ? e.code : undefined;
  if (err instanceof Error && fsCode && FS_CODES[fsCode]) {
    // Node's own text ("EISDIR: illegal operation on a directory, read") without the path
    // is replaced by the path (when known) and what the code means.
    let text: string;
    if (typeof e?.path === 'string') text = `${e.path}: ${FS_CODES[fsCode]}`;
    else if (err.message.startsWith(`${fsCode}:`)) {
      const path = pathInMessage(err.message);
      text = path ? `${path}: ${FS_CODES[fsCode]}` : FS_CODES[fsCode]!;
    } else {
      // Already given context by a caller ("cannot write X: EACCES: …, open '…'").
      text = err.message.replace(/\bE[A-Z]+: [^,]+(, \w+ '[^']*')?/, FS_CODES[fsCode]!);
    }
    return { code: EXIT_BAD_INPUT, message: oneLine(text), internal: false };
  }
  if (err instanceof Error && err.name === 'WasmMemoryError') {
    // The model does not fit the backend's memory: a limit to state, not a bug.
    return { code: EXIT_BAD_INPUT, message: oneLine(err.message), internal: false };
  }
  if (err instanceof SyntaxError) {
    // JSON.parse / RegExp on user input that a caller did not wrap.
    return { code: EXIT_BAD_INPUT, message: oneLine(err.message), internal: false };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    code: EXIT_INTERNAL,
    message: `internal error: ${oneLine(message)} (a bug in t2; T2_DEBUG=1 shows where)`,
    internal: true,
  };
}

/** "cannot write out/x: EACCES: permission denied, open 'out/x/.a.tmp'" → the quoted path. */
function pathInMessage(message: string): string | undefined {
  return /'([^']+)'/.exec(message)?.[1];
}

/** Multi-line messages (lists of bad lines) stay as they are; stray whitespace is trimmed. */
function oneLine(message: string): string {
  return message.trim();
}
