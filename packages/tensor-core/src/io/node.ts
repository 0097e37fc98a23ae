// Node built-ins are imported on first use, so bundlers can ship the pure parts of this
// module to the browser without pulling in `node:fs`.
type Fs = typeof import('node:fs/promises');
type Path = typeof import('node:path');
export type FileHandle = import('node:fs/promises').FileHandle;

let cached: Promise<{ fs: Fs; path: Path }> | null = null;

export function nodeModules(): Promise<{ fs: Fs; path: Path }> {
  cached ??= Promise.all([import('node:fs/promises'), import('node:path')]).then(([fs, path]) => ({
    fs,
    path,
  }));
  return cached;
}

/** Reads exactly `length` bytes at `position` into `into` (or a new buffer); throws if the file ends first. */
export async function readExact(
  fh: FileHandle,
  position: number,
  length: number,
  into: Uint8Array = new Uint8Array(length),
): Promise<Uint8Array> {
  let done = 0;
  while (done < length) {
    // Reads are capped below 2 GiB, the most one read call accepts.
    const chunk = Math.min(length - done, 1 << 30);
    const { bytesRead } = await fh.read(into, done, chunk, position + done);
    if (bytesRead === 0) {
      throw new Error(
        `file ended after ${position + done} bytes, ${length - done} short of what the header promised`,
      );
    }
    done += bytesRead;
  }
  return into;
}

export async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const chunk = Math.min(data.byteLength - done, 1 << 30);
    const { bytesWritten } = await fh.write(data, done, chunk);
    done += bytesWritten;
  }
}
