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
  const dir = path.dirname(target);
  // Same folder, so the rename cannot cross file systems; the name is capped below NAME_MAX.
  const tmp = path.join(
    dir,
    `.${path.basename(target).slice(0, 200)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`,
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
    const wrapped = new Error(`cannot write ${target}: ${(err as Error).message}`, { cause: err });
    const code = (err as { code?: unknown }).code;
    if (code !== undefined) Object.assign(wrapped, { code });
    throw wrapped;
  }
  // Best effort: flush the folder entry so the rename itself survives a crash.
  await fs
    .open(dir, 'r')
    .then(async (d) => {
      await d.sync().finally(() => d.close());
    })
    .catch(() => {});
}

/** Writes `data` to `path` atomically (temp file in the same folder + rename). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  await withAtomicFile(path, (fh) => writeAll(fh, bytes));
}
