import { Tensor } from '../tensor/tensor';
import {
  assertLittleEndian,
  decoders,
  dtypeRank,
  dtypeSizes,
  encodeInto,
  type SafetensorsDtype,
  writeDtypes,
} from './dtypes';
import { SafetensorsError } from './errors';
import {
  buildHeader,
  compareNames,
  encodeHeaderLength,
  type HeaderEntry,
  parseHeader,
  readHeaderLength,
} from './header';

/** A parsed safetensors file; every tensor is float32 in memory, `dtypes` says what was stored. */
export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
  /** Each tensor's dtype in the file ('F32', 'BF16', …). */
  dtypes: Map<string, string>;
}

export type TensorDict = Map<string, Tensor> | Record<string, Tensor>;

export interface SerializeOptions {
  /** The `__metadata__` map (string values only, as the format requires). */
  metadata?: Record<string, string>;
  /** Stored dtype, for all tensors or per name; F32 by default. */
  dtype?: SafetensorsDtype | ((name: string) => SafetensorsDtype);
}

const DEFAULT_FILE = '<bytes>';

/** A float32 tensor holding the decoded values of one header entry's bytes. */
export function decodeEntry(entry: HeaderEntry, bytes: Uint8Array, file: string): Tensor {
  const decode = decoders[entry.dtype];
  if (!decode) {
    throw new SafetensorsError(`dtype '${entry.dtype}' cannot be converted to float32`, {
      file,
      tensor: entry.name,
    });
  }
  const out = new Float32Array((entry.end - entry.begin) / dtypeSizes[entry.dtype]!);
  decode(bytes, out);
  return new Tensor(out, entry.shape);
}

/**
 * Reads a safetensors file from its bytes (pure; works in the browser). Values are copied
 * into fresh float32 buffers, so `bytes` may be reused afterwards.
 */
export function parseSafetensors(
  bytes: Uint8Array,
  fileName: string = DEFAULT_FILE,
): SafetensorsFile {
  assertLittleEndian();
  const n = readHeaderLength(bytes, bytes.byteLength, fileName);
  const dataStart = 8 + n;
  const header = parseHeader(bytes.subarray(8, dataStart), bytes.byteLength - dataStart, fileName);
  const tensors = new Map<string, Tensor>();
  const dtypes = new Map<string, string>();
  for (const e of header.entries) {
    tensors.set(
      e.name,
      decodeEntry(e, bytes.subarray(dataStart + e.begin, dataStart + e.end), fileName),
    );
    dtypes.set(e.name, e.dtype);
  }
  return { tensors, metadata: header.metadata, dtypes };
}

/** Where each tensor goes in a file, and the header bytes that say so. */
export interface Layout {
  /** 8-byte length + padded JSON. */
  prefix: Uint8Array;
  /** In file order. */
  items: { entry: HeaderEntry; tensor: Tensor; dtype: SafetensorsDtype }[];
  totalBytes: number;
}

export function entriesOf(tensors: TensorDict): [string, Tensor][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
}

export function dtypeFor(
  name: string,
  opts: SerializeOptions | undefined,
  file: string,
): SafetensorsDtype {
  const d = typeof opts?.dtype === 'function' ? opts.dtype(name) : (opts?.dtype ?? 'F32');
  if (!writeDtypes.includes(d)) {
    throw new SafetensorsError(`cannot write dtype '${d}' (writable: ${writeDtypes.join(', ')})`, {
      file,
      tensor: name,
    });
  }
  return d;
}

/** Validates the tensors and metadata, then lays them out as the reference writer does. */
export function planLayout(
  tensors: TensorDict,
  opts: SerializeOptions | undefined,
  file: string,
): Layout {
  const items: Layout['items'] = [];
  for (const [name, tensor] of entriesOf(tensors)) {
    const where = { file, tensor: name };
    if (name === '__metadata__' || name === '') {
      throw new SafetensorsError('is not a valid tensor name', where);
    }
    if (!(tensor instanceof Tensor)) throw new SafetensorsError('value is not a Tensor', where);
    if (tensor.isDisposed) throw new SafetensorsError('tensor was disposed', where);
    const dtype = dtypeFor(name, opts, file);
    items.push({
      entry: { name, dtype, shape: [...tensor.shape], begin: 0, end: 0 },
      tensor,
      dtype,
    });
  }
  for (const [k, v] of Object.entries(opts?.metadata ?? {})) {
    if (typeof v !== 'string') {
      throw new SafetensorsError(
        `metadata value for '${k}' is ${typeof v}; the format allows only strings`,
        {
          file,
        },
      );
    }
  }
  // Descending element size, then name: every tensor starts aligned to its element size.
  items.sort(
    (a, b) => dtypeRank[b.dtype] - dtypeRank[a.dtype] || compareNames(a.entry.name, b.entry.name),
  );
  let offset = 0;
  for (const it of items) {
    it.entry.begin = offset;
    offset += it.tensor.size * dtypeSizes[it.dtype]!;
    it.entry.end = offset;
  }
  const json = buildHeader(
    items.map((it) => it.entry),
    opts?.metadata,
  );
  const prefix = new Uint8Array(8 + json.byteLength);
  prefix.set(encodeHeaderLength(json.byteLength));
  prefix.set(json, 8);
  return { prefix, items, totalBytes: prefix.byteLength + offset };
}

/**
 * The bytes of a safetensors file (pure). Tensors are ordered like the reference writer
 * (descending dtype size, then name), metadata keys sorted, header space-padded to 8 bytes.
 */
export function serializeSafetensors(tensors: TensorDict, opts?: SerializeOptions): Uint8Array {
  assertLittleEndian();
  const layout = planLayout(tensors, opts, DEFAULT_FILE);
  const out = new Uint8Array(layout.totalBytes);
  out.set(layout.prefix);
  const dataStart = layout.prefix.byteLength;
  for (const { entry, tensor, dtype } of layout.items) {
    encodeInto(dtype, tensor.data, out.subarray(dataStart + entry.begin, dataStart + entry.end));
  }
  return out;
}
