import { InputError } from './errors';
import { nodeModules } from './node';

/** Largest JSON/text side file read whole (config, tokenizer, index, other JSON): 256 MiB. */
export const MAX_TEXT_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Reads a small text file (config.json, tokenizer.json, an index, any JSON side file)
 * after checking it is a regular file of sane size: a symlink to /dev/zero, a pipe or a
 * folder is refused by name instead of hanging or failing with a bare EISDIR. Returns null
 * when the file does not exist and `optional` is set.
 */
export async function readTextFileChecked(
  path: string,
  opts: { optional?: boolean; maxBytes?: number } = {},
): Promise<string | null> {
  const { fs } = await nodeModules();
  let st: import('node:fs').Stats;
  try {
    st = await fs.stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && opts.optional) return null;
    throw new InputError(
      code === 'ENOENT'
        ? `${path}: no such file`
        : code === 'ENOTDIR'
          ? `${path}: a part of the path is not a folder`
          : `${path}: cannot read (${code ?? (err as Error).message})`,
    );
  }
  if (st.isDirectory()) throw new InputError(`${path}: is a folder, expected a file`);
  if (!st.isFile())
    throw new InputError(`${path}: is not a regular file (a device, pipe or socket)`);
  const max = opts.maxBytes ?? MAX_TEXT_FILE_BYTES;
  if (st.size > max) {
    throw new InputError(
      `${path}: ${st.size.toLocaleString('en-US')} bytes, more than the ${max.toLocaleString('en-US')} a file of this kind may have`,
    );
  }
  try {
    return await fs.readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(
      `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}
