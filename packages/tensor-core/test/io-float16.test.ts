import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, Rng } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';

const bits32 = new Uint32Array(1);
const float32 = new Float32Array(bits32.buffer);
function fromBits(b: number): number {
  bits32[0] = b >>> 0;
  return float32[0]!;
}
function toBits(x: number): number {
  float32[0] = x;
  return bits32[0]!;
}

const isHalfNaN = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const isBf16NaN = (h: number) => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;

describe('f16ToF32', () => {
  it('decodes the landmark half values', () => {
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0xc000)).toBe(-2);
    expect(f16ToF32(0x3555)).toBe(Math.fround(0.333251953125));
    expect(f16ToF32(0x7bff)).toBe(65504);
    expect(f16ToF32(0x0400)).toBe(2 ** -14); // smallest normal
    expect(f16ToF32(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(f16ToF32(0x7e00)).toBeNaN();
    expect(f16ToF32(0xfc01)).toBeNaN();
  });

  it('is strictly increasing over the positive finite halves', () => {
    for (let h = 1; h <= 0x7c00; h++) expect(f16ToF32(h) > f16ToF32(h - 1)).toBe(true);
  });
});

describe('f32ToF16', () => {
  it('round-trips every half exactly (NaNs stay NaN)', () => {
    for (let h = 0; h < 65536; h++) {
      const back = f32ToF16(f16ToF32(h));
      if (isHalfNaN(h)) expect(isHalfNaN(back)).toBe(true);
      else if (back !== h) expect(back).toBe(h);
    }
  });

  it('rounds midpoints to even and everything else to nearest, across normals and subnormals', () => {
    for (let h = 0; h < 0x7bff; h++) {
      const lo = f16ToF32(h);
      const hi = f16ToF32(h + 1);
      const mid = (lo + hi) / 2; // exact in float32: halves have 11 significant bits
      expect(Math.fround(mid)).toBe(mid);
      const even = (h & 1) === 0 ? h : h + 1;
      const got = f32ToF16(mid);
      if (got !== even) expect({ h, got }).toEqual({ h, got: even });
      const above = fromBits(toBits(mid) + 1);
      const below = fromBits(toBits(mid) - 1);
      if (f32ToF16(above) !== h + 1)
        expect({ h, above: f32ToF16(above) }).toEqual({ h, above: h + 1 });
      if (f32ToF16(below) !== h) expect({ h, below: f32ToF16(below) }).toEqual({ h, below: h });
      if (f32ToF16(-mid) !== (even | 0x8000)) expect(f32ToF16(-mid)).toBe(even | 0x8000);
    }
  });

  it('matches a brute-force nearest-half search on random floats', () => {
    const halves = Array.from({ length: 0x7c00 }, (_, h) => f16ToF32(h)); // +0 … 65504
    const nearest = (x: number): number => {
      const a = Math.abs(x);
      let lo = 0;
      let hi = halves.length - 1;
      while (hi - lo > 1) {
        const m = (lo + hi) >> 1;
        if (halves[m]! <= a) lo = m;
        else hi = m;
      }
      let h: number;
      if (a >= 65520)
        h = 0x7c00; // at or past the midpoint of 65504 and 2^16
      else if (a - halves[lo]! < halves[hi]! - a) h = lo;
      else if (a - halves[lo]! > halves[hi]! - a) h = hi;
      else h = lo % 2 === 0 ? lo : hi;
      return x < 0 || Object.is(x, -0) ? h | 0x8000 : h;
    };
    const rng = new Rng(7);
    for (let i = 0; i < 20000; i++) {
      // Log-uniform magnitudes from deep subnormal to past the overflow threshold.
      const x = Math.fround((rng.uniform() < 0.5 ? -1 : 1) * 2 ** (rng.uniform() * 45 - 28));
      const want = nearest(x);
      const got = f32ToF16(x);
      if (got !== want) expect({ x, got }).toEqual({ x, got: want });
    }
  });

  it('handles overflow, underflow, signed zero and NaN', () => {
    expect(f32ToF16(65519)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // tie between 65504 and 2^16 goes to even (Inf)
    expect(f32ToF16(1e6)).toBe(0x7c00);
    expect(f32ToF16(-1e6)).toBe(0xfc00);
    expect(f32ToF16(Infinity)).toBe(0x7c00);
    expect(f32ToF16(2 ** -25)).toBe(0); // tie between 0 and 2^-24 goes to even
    expect(f32ToF16(fromBits(toBits(2 ** -25) + 1))).toBe(1);
    expect(f32ToF16(2 ** -26)).toBe(0);
    expect(f32ToF16(-(2 ** -26))).toBe(0x8000);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(1e-45)).toBe(0); // float32 subnormal
    expect(isHalfNaN(f32ToF16(Number.NaN))).toBe(true);
  });
});

describe('bfloat16', () => {
  it('decodes landmark values', () => {
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc0a0)).toBe(-5);
    expect(bf16ToF32(0x7f80)).toBe(Infinity);
    expect(bf16ToF32(0x0001)).toBe(fromBits(0x00010000)); // subnormal
    expect(Object.is(bf16ToF32(0x8000), -0)).toBe(true);
    expect(bf16ToF32(0x7fc0)).toBeNaN();
  });

  it('round-trips every bfloat16 exactly (NaNs stay NaN)', () => {
    for (let h = 0; h < 65536; h++) {
      const back = f32ToBf16(bf16ToF32(h));
      if (isBf16NaN(h)) expect(isBf16NaN(back)).toBe(true);
      else if (back !== h) expect(back).toBe(h);
    }
  });

  it('rounds to nearest, ties to even', () => {
    for (let h = 0; h < 0x7f7f; h += 3) {
      const mid = fromBits(((h << 16) | 0x8000) >>> 0); // exactly between h and h + 1
      const even = (h & 1) === 0 ? h : h + 1;
      expect(f32ToBf16(mid)).toBe(even);
      expect(f32ToBf16(fromBits(((h << 16) | 0x8001) >>> 0))).toBe(h + 1);
      expect(f32ToBf16(fromBits(((h << 16) | 0x7fff) >>> 0))).toBe(h);
    }
    expect(f32ToBf16(3.4028234663852886e38)).toBe(0x7f80); // float32 max rounds up to Inf
    expect(f32ToBf16(-0)).toBe(0x8000);
    expect(isBf16NaN(f32ToBf16(Number.NaN))).toBe(true);
  });
});

describe('firstNonFiniteBf16', () => {
  it('finds the first NaN or ±Infinity among all 65,536 patterns, two per word or one', async () => {
    const { firstNonFiniteBf16 } = await import('../src/index');
    const finite: number[] = [];
    const bad: number[] = [];
    for (let b = 0; b < 65536; b++) ((b & 0x7f80) === 0x7f80 ? bad : finite).push(b);
    expect(firstNonFiniteBf16(Uint16Array.from(finite))).toBe(-1);
    // Each non-finite pattern at every position of a short run, aligned and not.
    const base = Uint16Array.from([0x3f80, 0, 0x8000, 0x7f7f, 0xff7f, 0x0080, 0x4000]);
    for (const b of [0x7f80, 0xff80, 0x7fc0, 0xffff, 0x7f81]) {
      for (let at = 0; at < base.length; at++) {
        const words = new Uint16Array(base.length + 1);
        words.set(base, 1);
        words[at + 1] = b;
        expect(firstNonFiniteBf16(words.subarray(1)), `${b} at ${at}, unaligned`).toBe(at);
        const aligned = new Uint16Array(base);
        aligned[at] = b;
        aligned[base.length - 1] = 0x7f80; // a later one does not hide the first
        expect(firstNonFiniteBf16(aligned), `${b} at ${at}`).toBe(at);
      }
    }
    // 256 patterns: exponent all ones, either sign, any of 128 mantissas.
    expect(bad).toHaveLength(256);
    for (const b of bad) {
      expect(firstNonFiniteBf16(Uint16Array.from([0x3f80, b])), String(b)).toBe(1);
      expect(firstNonFiniteBf16(Uint16Array.from([b, 0x3f80])), String(b)).toBe(0);
    }
  });
});
