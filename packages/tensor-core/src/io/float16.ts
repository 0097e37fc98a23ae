// Scalar and bulk conversions between float32 and the 16-bit formats (IEEE half, bfloat16).
// Bulk paths work on bit patterns through typed-array views, never per-element DataView calls.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float32 bit pattern of an IEEE half bit pattern (exact: every half is a float32). */
function halfBitsToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // Inf, NaN (payload kept)
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal half: normalise into float32's wider exponent range.
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

let halfTable: Uint32Array | null = null;
/** All 65536 halves as float32 bits (256 KB), built on first use. */
function halfToFloatTable(): Uint32Array {
  if (!halfTable) {
    halfTable = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfBitsToFloatBits(h);
  }
  return halfTable;
}

/** The value of an IEEE 754 half-precision bit pattern. */
export function f16ToF32(bits: number): number {
  u32[0] = halfBitsToFloatBits(bits & 0xffff);
  return f32[0]!;
}

/** Half bits for float32 bits, rounding to nearest, ties to even. */
function floatBitsToHalfBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) {
    // Keep NaN a NaN even when its payload lives only in the low bits.
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  const e = exp - 112; // re-biased exponent (127 → 15)
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Below 2^-25 everything rounds to zero (2^-25 itself is a tie that goes to even 0).
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h; // a carry into bit 10 is exactly the smallest normal
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry may ripple into the exponent, up to Inf: that is the correct rounding.
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/** The IEEE half bit pattern nearest to `x` (rounded to float32 first), ties to even. */
export function f32ToF16(x: number): number {
  f32[0] = x;
  return floatBitsToHalfBits(u32[0]!);
}

/** The value of a bfloat16 bit pattern (the top half of a float32). */
export function bf16ToF32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

function floatBitsToBf16Bits(b: number): number {
  // Truncating a NaN with payload only in the low 16 bits would give Inf; set the quiet bit.
  if ((b & 0x7fffffff) >>> 0 > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The bfloat16 bit pattern nearest to `x` (rounded to float32 first), ties to even; NaN stays NaN. */
export function f32ToBf16(x: number): number {
  f32[0] = x;
  return floatBitsToBf16Bits(u32[0]!);
}

/** Writes the float32 bits of each half in `src` to `out` (a Uint32Array view of float32 values). */
export function decodeF16(src: Uint16Array, out: Uint32Array): void {
  const table = halfToFloatTable();
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
}

export function decodeBf16(src: Uint16Array, out: Uint32Array): void {
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
}

/** Halves for the float32 values whose bits are `src`. */
export function encodeF16(src: Uint32Array, out: Uint16Array): void {
  for (let i = 0; i < src.length; i++) out[i] = floatBitsToHalfBits(src[i]!);
}

export function encodeBf16(src: Uint32Array, out: Uint16Array): void {
  for (let i = 0; i < src.length; i++) out[i] = floatBitsToBf16Bits(src[i]!);
}
