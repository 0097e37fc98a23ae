import { type FileHandle, nodeModules, writeAll } from './node';

/**
 * Creates `target` through a temporary file in the same folder: `write` fills the temp file,
 * which is flushed to disk and renamed over `target`. A failure at any step removes the temp
 * file and leaves whatever was at `target` untouched.
 */
export async function withAtomicFile(
  target: string,
  write: (fh: FileHandle) => Promise<void>,
): Promise<void> {
  const { fs, path } = await nodeModules();
  const tmp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`,
  );
  let fh: FileHandle | undefined;
  try {
    fh = await fs.open(tmp, 'wx');
    await write(fh);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fs.rename(tmp, target);
  } catch (err) {
    await fh?.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw new Error(`cannot write ${target}: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes `data` to `path` atomically (temp file in the same folder + rename). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  await withAtomicFile(path, (fh) => writeAll(fh, bytes));
}
