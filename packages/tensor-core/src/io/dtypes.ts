import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from './float16';

/** The dtypes t2 writes; reading also accepts the integer and F64 dtypes (see `readDtypes`). */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export const writeDtypes: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16'];

/**
 * Bytes per element of every dtype the format defines, so a header naming one we cannot
 * convert still gets its byte span checked before we say so.
 */
export const dtypeSizes: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/**
 * The serialisation order of the reference writer: descending alignment, so every tensor's
 * data starts aligned to its element size (the Rust `Dtype` enum order, reversed).
 */
export const dtypeRank: Readonly<Record<SafetensorsDtype, number>> = { F32: 2, BF16: 1, F16: 0 };

/** Converts `src` (exactly `out.length` elements, little-endian, any alignment) into `out`. */
type Decoder = (src: Uint8Array, out: Float32Array) => void;

/** A copy of `src` in a fresh buffer, where typed-array views of any width are aligned. */
function alignedCopy(src: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(src.byteLength);
  copy.set(src);
  return copy.buffer;
}

/** A `width`-aligned view of `src`, copying only when it is misaligned. */
function view<T>(
  src: Uint8Array,
  width: number,
  make: (b: ArrayBuffer, off: number, n: number) => T,
): T {
  const n = src.byteLength / width;
  if (src.byteOffset % width === 0) return make(src.buffer as ArrayBuffer, src.byteOffset, n);
  return make(alignedCopy(src), 0, n);
}

function convertFrom(values: ArrayLike<number>, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = values[i]!;
}

export const decoders: Readonly<Record<string, Decoder>> = {
  // A byte copy into the output's own buffer: a memcpy, whatever the source alignment.
  F32: (src, out) => new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(src),
  F16: (src, out) =>
    decodeF16(
      view(src, 2, (b, o, n) => new Uint16Array(b, o, n)),
      new Uint32Array(out.buffer, out.byteOffset, out.length),
    ),
  BF16: (src, out) =>
    decodeBf16(
      view(src, 2, (b, o, n) => new Uint16Array(b, o, n)),
      new Uint32Array(out.buffer, out.byteOffset, out.length),
    ),
  F64: (src, out) =>
    convertFrom(
      view(src, 8, (b, o, n) => new Float64Array(b, o, n)),
      out,
    ),
  I64: (src, out) => {
    const v = view(src, 8, (b, o, n) => new BigInt64Array(b, o, n));
    for (let i = 0; i < out.length; i++) out[i] = Number(v[i]!);
  },
  U64: (src, out) => {
    const v = view(src, 8, (b, o, n) => new BigUint64Array(b, o, n));
    for (let i = 0; i < out.length; i++) out[i] = Number(v[i]!);
  },
  I32: (src, out) =>
    convertFrom(
      view(src, 4, (b, o, n) => new Int32Array(b, o, n)),
      out,
    ),
  U32: (src, out) =>
    convertFrom(
      view(src, 4, (b, o, n) => new Uint32Array(b, o, n)),
      out,
    ),
  I16: (src, out) =>
    convertFrom(
      view(src, 2, (b, o, n) => new Int16Array(b, o, n)),
      out,
    ),
  U16: (src, out) =>
    convertFrom(
      view(src, 2, (b, o, n) => new Uint16Array(b, o, n)),
      out,
    ),
  I8: (src, out) => convertFrom(new Int8Array(src.buffer, src.byteOffset, src.byteLength), out),
  U8: (src, out) => convertFrom(src, out),
  BOOL: (src, out) => {
    for (let i = 0; i < out.length; i++) out[i] = src[i] === 0 ? 0 : 1;
  },
};

/** Writes the little-endian encoding of `src` into `out` (`src.length × size` bytes). */
export function encodeInto(dtype: SafetensorsDtype, src: Float32Array, out: Uint8Array): void {
  if (dtype === 'F32') {
    out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
    return;
  }
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const dst = view(out, 2, (b, o, n) => new Uint16Array(b, o, n));
  if (dtype === 'F16') encodeF16(bits, dst);
  else encodeBf16(bits, dst);
  if (dst.buffer !== out.buffer)
    out.set(new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength));
}

/** The format is little-endian; typed arrays use the host's order, so refuse the rare big-endian host. */
export function assertLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error('safetensors: big-endian hosts are not supported');
  }
}
