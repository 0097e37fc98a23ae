import { InputError } from './errors';
import { nodeModules } from './node';

/** Longest line a data file may have by default: 1 MiB (one example; far above any real one). */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

export interface BoundedText {
  /** The file's text with every over-long line emptied (line numbers are kept). */
  text: string;
  /** The lines left out: 1-based number and length in bytes. */
  tooLong: { line: number; bytes: number }[];
}

/**
 * Reads a text data file (JSONL) line by line with a bound on each line: a line longer than
 * `maxLineBytes` is counted but never held in memory, so a 20 MB line (or /dev/zero-like
 * input) cannot blow up what follows. Only regular files are read.
 */
export async function readTextBounded(
  path: string,
  opts: { maxLineBytes?: number } = {},
): Promise<BoundedText> {
  const { fs } = await nodeModules();
  const max = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let st: import('node:fs').Stats;
  try {
    st = await fs.stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(
      code === 'ENOENT'
        ? `${path}: no such file`
        : code === 'ENOTDIR'
          ? `${path}: a part of the path is not a folder`
          : `${path}: cannot read (${code ?? (err as Error).message})`,
    );
  }
  if (st.isDirectory()) throw new InputError(`${path}: is a folder, expected a JSONL file`);
  if (!st.isFile())
    throw new InputError(
      `${path}: is not a regular file (a device, pipe or socket); expected a JSONL file`,
    );
  const fh = await fs.open(path, 'r');
  const out: Uint8Array[] = [];
  const tooLong: BoundedText['tooLong'] = [];
  const chunk = new Uint8Array(1 << 20);
  let cur: Uint8Array[] = [];
  let curBytes = 0;
  let skipping = false;
  let line = 1;
  const NL = new Uint8Array([10]);
  const endLine = (newline: boolean) => {
    if (skipping) tooLong.push({ line, bytes: curBytes });
    else out.push(...cur);
    if (newline) out.push(NL);
    cur = [];
    curBytes = 0;
    skipping = false;
    line++;
  };
  try {
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.byteLength, null);
      if (bytesRead === 0) break;
      let pos = 0;
      while (pos < bytesRead) {
        let nl = chunk.indexOf(10, pos);
        if (nl < 0 || nl >= bytesRead) nl = -1;
        const end = nl < 0 ? bytesRead : nl;
        const seg = end - pos;
        curBytes += seg;
        if (!skipping && curBytes > max) {
          skipping = true;
          cur = [];
        }
        if (!skipping && seg > 0) cur.push(chunk.slice(pos, end));
        if (nl < 0) break;
        endLine(true);
        pos = nl + 1;
      }
    }
    if (curBytes > 0 || skipping) endLine(false);
  } finally {
    await fh.close();
  }
  let total = 0;
  for (const part of out) total += part.byteLength;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const part of out) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return { text: new TextDecoder().decode(bytes), tooLong };
}

/** `file:line: …` for each line `readTextBounded` left out. */
export function tooLongProblems(
  path: string,
  t: BoundedText,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): string[] {
  return t.tooLong.map(
    ({ line, bytes }) =>
      `${path}:${line}: a line of ${bytes.toLocaleString('en-US')} bytes, over the limit of ${maxLineBytes.toLocaleString('en-US')} bytes for one example`,
  );
}
