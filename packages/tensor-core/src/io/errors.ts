/**
 * Bad input from the user (a file, a flag, data) rather than a bug: its message is one line
 * naming the file (and tensor or line) and what was expected, and a command-line tool shows
 * it as is (exit code 2). Packages extend it for their own errors; `isInputError` also
 * recognises copies of this class from another bundle of this package.
 */
export class InputError extends Error {
  readonly isInputError = true;
  override name = 'InputError';
}

/** True for an `InputError` (from any copy of this package). */
export function isInputError(err: unknown): err is Error {
  return err instanceof Error && (err as { isInputError?: unknown }).isInputError === true;
}

/** A safetensors file (or folder) that cannot be read or written; names the file and tensor. */
export class SafetensorsError extends InputError {
  readonly file?: string;
  readonly tensor?: string;

  constructor(detail: string, where: { file?: string; tensor?: string } = {}) {
    const prefix = [
      where.file !== undefined ? where.file : undefined,
      where.tensor !== undefined ? `tensor '${where.tensor}'` : undefined,
    ]
      .filter((s) => s !== undefined)
      .join(': ');
    super(prefix ? `${prefix}: ${detail}` : detail);
    this.name = 'SafetensorsError';
    if (where.file !== undefined) this.file = where.file;
    if (where.tensor !== undefined) this.tensor = where.tensor;
  }
}
