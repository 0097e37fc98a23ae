import { dtypeSizes } from './dtypes';
import { SafetensorsError } from './errors';

/** One tensor's header entry; offsets are relative to the start of the data buffer. */
export interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface Header {
  /** In header order. */
  entries: HeaderEntry[];
  metadata: Record<string, string>;
}

/** The reference reader refuses headers above 100 MB; a larger length means a corrupt file. */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * The header length N from the file's first 8 bytes (u64 little-endian), checked against the
 * file size so that `8 + N` bytes of header are really there.
 */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw new SafetensorsError(
      `truncated: ${fileSize} bytes, too short for the 8-byte header length`,
      { file },
    );
  }
  const dv = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (hi !== 0 || n > MAX_HEADER_BYTES) {
    throw new SafetensorsError(
      `header length ${n} is implausible (limit ${MAX_HEADER_BYTES} bytes); the file is corrupt or not safetensors`,
      { file },
    );
  }
  if (8 + n > fileSize) {
    throw new SafetensorsError(
      `header length ${n} runs past the end of the file (${fileSize} bytes); the file is truncated or corrupt`,
      { file },
    );
  }
  return n;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parses and validates the JSON header against a data buffer of `dataBytes` bytes: known
 * dtype, integer shape, offsets inside the buffer, span = numel × element size, no overlaps.
 */
export function parseHeader(json: Uint8Array, dataBytes: number, file: string): Header {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    throw new SafetensorsError('header is not valid UTF-8', { file });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const snippet = text.length > 60 ? `${text.slice(0, 60)}…` : text;
    throw new SafetensorsError(
      `header is not valid JSON (${(e as Error).message}); it starts ${JSON.stringify(snippet)}`,
      { file },
    );
  }
  if (!isPlainObject(raw)) throw new SafetensorsError('header is not a JSON object', { file });
  // JSON.parse keeps the last of two equal keys; the reference reader refuses the file.
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) {
    throw new SafetensorsError(
      `header names ${JSON.stringify(duplicate)} twice; each tensor (and key) must appear once`,
      { file, tensor: duplicate },
    );
  }

  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(raw)) {
    if (name === '__metadata__') {
      if (!isPlainObject(info)) {
        throw new SafetensorsError('__metadata__ is not an object of strings', { file });
      }
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') {
          throw new SafetensorsError(
            `__metadata__ value for '${k}' is ${JSON.stringify(v)}, not a string`,
            { file },
          );
        }
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(name, info, dataBytes, file));
  }
  checkOverlaps(entries, file);
  checkContiguous(entries, dataBytes, file);
  return { entries, metadata };
}

/**
 * The first key that appears twice in one object of a valid JSON text, or undefined. A small
 * scanner: strings (with escapes) are skipped as units, `{`/`}` open and close key sets.
 */
export function firstDuplicateKey(text: string): string | undefined {
  const stack: (Set<string> | null)[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < n && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top) {
        // A string in an object is a key when a ':' follows it.
        let k = j + 1;
        while (k < n && /\s/.test(text[k]!)) k++;
        if (text[k] === ':') {
          const key = JSON.parse(text.slice(i, j + 1)) as string;
          if (top.has(key)) return key;
          top.add(key);
        }
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b /* { */) stack.push(new Set());
    else if (c === 0x5b /* [ */) stack.push(null);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    i++;
  }
  return undefined;
}

/**
 * The reference reader's layout rule: tensors, in offset order, tile the data buffer exactly,
 * with no hole between two tensors and no byte after the last.
 */
function checkContiguous(entries: HeaderEntry[], dataBytes: number, file: string): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at) {
      throw new SafetensorsError(
        `data_offsets [${e.begin}, ${e.end}] leave a hole of ${e.begin - at} bytes after offset ${at}; tensors must follow each other without gaps`,
        { file, tensor: e.name },
      );
    }
    at = e.end;
  }
  if (at !== dataBytes) {
    throw new SafetensorsError(
      `${dataBytes - at} bytes follow the last tensor (the tensors end at data offset ${at}, the file's data is ${dataBytes} bytes); the file is corrupt or was appended to`,
      { file },
    );
  }
}

function parseEntry(name: string, info: unknown, dataBytes: number, file: string): HeaderEntry {
  const fail = (detail: string) => new SafetensorsError(detail, { file, tensor: name });
  if (!isPlainObject(info)) throw fail('header entry is not an object');
  const { dtype, shape, data_offsets: offsets } = info;
  if (typeof dtype !== 'string') throw fail(`dtype ${JSON.stringify(dtype)} is not a string`);
  const size = dtypeSizes[dtype];
  if (size === undefined) {
    throw fail(`unknown dtype '${dtype}' (known: ${Object.keys(dtypeSizes).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw fail(`data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw fail(`data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataBytes) {
    throw fail(
      `data_offsets [${begin}, ${end}] lie outside the data buffer (${dataBytes} bytes); the file is truncated or corrupt`,
    );
  }
  let numel = 1;
  for (const d of shape as number[]) numel *= d;
  const expected = numel * size;
  if (!Number.isSafeInteger(expected) || end - begin !== expected) {
    throw fail(
      `data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${shape.join(', ')}] × ${dtype} (${size} bytes) needs ${expected}`,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function checkOverlaps(entries: HeaderEntry[], file: string): void {
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end) {
      throw new SafetensorsError(
        `data_offsets [${cur.begin}, ${cur.end}] overlap those of '${prev.name}' [${prev.begin}, ${prev.end}]`,
        { file, tensor: cur.name },
      );
    }
  }
}

/** Code-point order, which is the byte order of UTF-8 (Rust's `String` ordering). */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (ca > 0xffff) i++;
  }
  return a.length - b.length;
}

/**
 * The header bytes as the reference writer makes them: compact JSON, `__metadata__` first
 * (keys sorted, for reproducible files), tensors in the order given, padded with spaces to a
 * multiple of 8 bytes so the data buffer starts 8-byte aligned.
 */
export function buildHeader(
  entries: readonly HeaderEntry[],
  metadata?: Record<string, string>,
): Uint8Array {
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    const keys = Object.keys(metadata).sort(compareNames);
    const body = keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',');
    parts.push(`"__metadata__":{${body}}`);
  }
  for (const e of entries) {
    parts.push(
      `${JSON.stringify(e.name)}:{"dtype":${JSON.stringify(e.dtype)},"shape":[${e.shape.join(',')}],"data_offsets":[${e.begin},${e.end}]}`,
    );
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = new Uint8Array(Math.ceil(json.byteLength / 8) * 8).fill(0x20);
  padded.set(json);
  return padded;
}

/** The 8-byte little-endian u64 header length. */
export function encodeHeaderLength(n: number): Uint8Array {
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, n % 2 ** 32, true);
  dv.setUint32(4, Math.floor(n / 2 ** 32), true);
  return out;
}
