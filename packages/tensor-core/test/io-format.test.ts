import {
  f16ToF32,
  fromArray,
  parseSafetensors,
  Rng,
  SafetensorsError,
  serializeSafetensors,
  type Tensor,
} from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';

const enc = new TextEncoder();

/** A safetensors file from a header written out by hand and raw data bytes. */
function handBuilt(
  headerJson: string,
  data: Uint8Array = new Uint8Array(0),
  pad = true,
): Uint8Array {
  let json = enc.encode(headerJson);
  if (pad && json.length % 8 !== 0) {
    const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function le(kind: 'f32' | 'f64' | 'u16' | 'i32' | 'i64' | 'i16', values: number[]): Uint8Array {
  const width = { f32: 4, f64: 8, u16: 2, i32: 4, i64: 8, i16: 2 }[kind];
  const out = new Uint8Array(values.length * width);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (kind === 'f32') dv.setFloat32(i * 4, v, true);
    else if (kind === 'f64') dv.setFloat64(i * 8, v, true);
    else if (kind === 'u16') dv.setUint16(i * 2, v, true);
    else if (kind === 'i16') dv.setInt16(i * 2, v, true);
    else if (kind === 'i32') dv.setInt32(i * 4, v, true);
    else dv.setBigInt64(i * 8, BigInt(v), true);
  });
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return ua.length === ub.length && ua.every((v, i) => v === ub[i]);
}

function randomTensor(rng: Rng, shape: number[], scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return fromArray(
    Array.from({ length: n }, () => rng.normal() * scale),
    shape,
  );
}

describe('serializeSafetensors: bytes as the reference writer makes them', () => {
  it('matches the reference test vector (header padded with spaces to 8 bytes)', () => {
    // From huggingface/safetensors `test_serialization_forced_alignement`.
    const out = serializeSafetensors({ attn0: fromArray([0, 1, 2, 3, 4, 5], [1, 1, 2, 3]) });
    const json = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
    expect(json.length).toBe(65);
    const expected = handBuilt(json, le('f32', [0, 1, 2, 3, 4, 5]));
    expect(expected.length).toBe(8 + 72 + 24);
    expect([...out]).toEqual([...expected]);
    expect(out[8 + 65]).toBe(0x20);
  });

  it('writes an empty file and metadata like the reference', () => {
    expect([...serializeSafetensors({})]).toEqual([
      8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32,
    ]);
    const withMeta = serializeSafetensors({}, { metadata: { framework: 'pt' } });
    expect([...withMeta]).toEqual([...handBuilt('{"__metadata__":{"framework":"pt"}}')]);
    expect(withMeta.length).toBe(8 + 40);
  });

  it('orders by descending dtype size then name, with sorted metadata, byte for byte', () => {
    const dtype = (name: string) =>
      name.startsWith('h') ? 'F16' : name.startsWith('b') ? 'BF16' : 'F32';
    const out = serializeSafetensors(
      new Map<string, Tensor>([
        ['h.x', fromArray([1, -2, 0.5], [3])],
        ['z', fromArray([7], [])],
        ['b.w', fromArray([1.5, -3], [2, 1])],
        ['a', fromArray([0.25, 4], [1, 2])],
      ]),
      { dtype, metadata: { zeta: 'last', alpha: 'first' } },
    );
    const json =
      '{"__metadata__":{"alpha":"first","zeta":"last"},' +
      '"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},' +
      '"z":{"dtype":"F32","shape":[],"data_offsets":[8,12]},' +
      '"b.w":{"dtype":"BF16","shape":[2,1],"data_offsets":[12,16]},' +
      '"h.x":{"dtype":"F16","shape":[3],"data_offsets":[16,22]}}';
    const data = concat(
      le('f32', [0.25, 4, 7]),
      le('u16', [0x3fc0, 0xc040]),
      le('u16', [0x3c00, 0xc000, 0x3800]),
    );
    expect([...out]).toEqual([...handBuilt(json, data)]);
  });
});

describe('parseSafetensors', () => {
  it('reads a hand-built file of every supported dtype into float32', () => {
    const json = JSON.stringify({
      __metadata__: { format: 'pt', note: 'hand built' },
      f64: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
      i64: { dtype: 'I64', shape: [2], data_offsets: [16, 32] },
      f32: { dtype: 'F32', shape: [2, 1], data_offsets: [32, 40] },
      i32: { dtype: 'I32', shape: [2], data_offsets: [40, 48] },
      bf16: { dtype: 'BF16', shape: [2], data_offsets: [48, 52] },
      f16: { dtype: 'F16', shape: [2], data_offsets: [52, 56] },
      i16: { dtype: 'I16', shape: [1], data_offsets: [56, 58] },
      i8: { dtype: 'I8', shape: [2], data_offsets: [58, 60] },
      u8: { dtype: 'U8', shape: [1], data_offsets: [60, 61] },
      bool: { dtype: 'BOOL', shape: [3], data_offsets: [61, 64] },
    });
    const data = concat(
      le('f64', [0.1, -1e10]),
      le('i64', [-5, 2 ** 40]),
      le('f32', [1.5, -2.25]),
      le('i32', [-7, 123456]),
      le('u16', [0x3f80, 0xc0a0]),
      le('u16', [0x3c00, 0x0001]),
      le('i16', [-300]),
      new Uint8Array([0xff, 0x05, 200, 0, 1, 7]),
    );
    const file = parseSafetensors(handBuilt(json, data), 'hand.safetensors');
    const get = (n: string) => [...file.tensors.get(n)!.data];
    expect(get('f64')).toEqual([Math.fround(0.1), Math.fround(-1e10)]);
    expect(get('i64')).toEqual([-5, 2 ** 40]);
    expect(get('f32')).toEqual([1.5, -2.25]);
    expect(file.tensors.get('f32')!.shape).toEqual([2, 1]);
    expect(get('i32')).toEqual([-7, 123456]);
    expect(get('bf16')).toEqual([1, -5]);
    expect(get('f16')).toEqual([1, 2 ** -24]);
    expect(get('i16')).toEqual([-300]);
    expect(get('i8')).toEqual([-1, 5]);
    expect(get('u8')).toEqual([200]);
    expect(get('bool')).toEqual([0, 1, 1]);
    expect(file.metadata).toEqual({ format: 'pt', note: 'hand built' });
    expect(file.dtypes.get('bf16')).toBe('BF16');
    expect(file.dtypes.get('i64')).toBe('I64');
    expect([...file.tensors.keys()]).toEqual([...file.dtypes.keys()]);
  });

  it('reads tensors whose data is not aligned to their element size', () => {
    // Unpadded header of odd length: every tensor starts at an odd address.
    const json =
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"c":{"dtype":"BF16","shape":[1],"data_offsets":[12,14]}} ';
    expect(json.length % 2).toBe(1);
    const bytes = handBuilt(
      json,
      concat(le('f32', [3.5, -1]), le('u16', [0xbc00, 0x7c00]), le('u16', [0x4040])),
      false,
    );
    // And the whole file starts at an odd offset of its buffer.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    for (const b of [bytes, shifted.subarray(1)]) {
      const f = parseSafetensors(b);
      expect([...f.tensors.get('a')!.data]).toEqual([3.5, -1]);
      expect([...f.tensors.get('b')!.data]).toEqual([-1, Infinity]);
      expect([...f.tensors.get('c')!.data]).toEqual([3]);
    }
  });

  it('copies values, so the input bytes can be reused', () => {
    const bytes = serializeSafetensors({ w: fromArray([1, 2, 3, 4], [4]) });
    const f = parseSafetensors(bytes);
    bytes.fill(0, 8);
    expect([...f.tensors.get('w')!.data]).toEqual([1, 2, 3, 4]);
  });
});

describe('round trips', () => {
  const rng = new Rng(11);

  it('F32 is exact, for every shape including scalars and empty tensors', () => {
    const tensors = {
      matrix: randomTensor(rng, [7, 5]),
      scalar: fromArray([Math.PI], []),
      empty: fromArray([], [0, 3]),
      special: fromArray([Number.NaN, Infinity, -Infinity, -0, 1e-45, 3.4e38], [6]),
    };
    const f = parseSafetensors(serializeSafetensors(tensors, { metadata: { k: 'v' } }));
    for (const [name, t] of Object.entries(tensors)) {
      const back = f.tensors.get(name)!;
      expect(back.shape).toEqual(t.shape);
      expect(sameBits(back.data, t.data)).toBe(true);
      expect(f.dtypes.get(name)).toBe('F32');
    }
    expect(f.metadata).toEqual({ k: 'v' });
  });

  it('F16 and BF16 are exact for representable values (NaN, ±Inf, -0, subnormals included)', () => {
    // Every half and every bfloat16 value, each as one tensor.
    const halves = Float32Array.from({ length: 65536 }, (_, h) => f16ToF32(h));
    const bf16s = new Float32Array(65536);
    new Uint32Array(bf16s.buffer).set(Uint32Array.from({ length: 65536 }, (_, h) => h << 16));
    const t16 = fromArray(halves, [256, 256]);
    const tb16 = fromArray(bf16s, [65536]);
    const bytes = serializeSafetensors(
      { h: t16, b: tb16 },
      { dtype: (n) => (n === 'h' ? 'F16' : 'BF16') },
    );
    const f = parseSafetensors(bytes);
    const h = f.tensors.get('h')!.data;
    const b = f.tensors.get('b')!.data;
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(halves[i]!)) expect(h[i]).toBeNaN();
      else if (!Object.is(h[i], halves[i])) expect(h[i]).toBe(halves[i]);
      if (Number.isNaN(bf16s[i]!)) expect(b[i]).toBeNaN();
      else if (!Object.is(b[i], bf16s[i])) expect(b[i]).toBe(bf16s[i]);
    }
    expect(f.dtypes.get('h')).toBe('F16');
    expect(f.dtypes.get('b')).toBe('BF16');
    // Every half bit pattern except NaNs comes back identical in the file.
    const u16 = new Uint16Array(bytes.slice(bytes.length - 2 * 65536).buffer);
    for (let i = 0; i < 65536; i++)
      if (!Number.isNaN(halves[i]!) && u16[i] !== i) expect(u16[i]).toBe(i);
  });

  it('F16 and BF16 round arbitrary values to within half an ulp', () => {
    const t = randomTensor(rng, [4000], 10);
    for (const [dtype, bits] of [
      ['F16', 11],
      ['BF16', 8],
    ] as const) {
      const back = parseSafetensors(serializeSafetensors({ t }, { dtype })).tensors.get('t')!.data;
      for (let i = 0; i < t.size; i++) {
        const x = t.data[i]!;
        // Half an ulp relative to the value's own binade (halves lose precision below 2^-14).
        const tol =
          dtype === 'F16' && Math.abs(x) < 2 ** -14
            ? 2 ** -25
            : 2 ** (Math.floor(Math.log2(Math.abs(x))) - bits);
        expect(Math.abs(back[i]! - x)).toBeLessThanOrEqual(tol);
      }
    }
  });

  it('keeps NaN a NaN in BF16 even when its payload is only in the low bits', () => {
    const t = fromArray([0, 0], [2]);
    new Uint32Array(t.data.buffer, t.data.byteOffset, 2).set([0x7f800001, 0xff800100]);
    const bytes = serializeSafetensors({ t }, { dtype: 'BF16' });
    const stored = new Uint16Array(bytes.slice(bytes.length - 4).buffer);
    for (const h of stored) {
      expect(h & 0x7f80).toBe(0x7f80);
      expect(h & 0x7f).not.toBe(0);
    }
    expect(stored[1]! & 0x8000).toBe(0x8000);
  });

  it('accepts a Map or a plain object, and records per-tensor dtypes', () => {
    const a = randomTensor(rng, [3, 2]);
    const fromMap = serializeSafetensors(new Map([['a', a]]), { dtype: 'BF16' });
    const fromRecord = serializeSafetensors({ a }, { dtype: 'BF16' });
    expect([...fromMap]).toEqual([...fromRecord]);
  });
});

/** The error `fn` throws, checked to be a SafetensorsError naming the file (and tensor). */
function errorOf(fn: () => unknown, file: string, tensor?: string): SafetensorsError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SafetensorsError);
  const err = caught as SafetensorsError;
  expect(err.file).toBe(file);
  expect(err.message).toContain(file);
  expect(err.tensor).toBe(tensor);
  if (tensor) expect(err.message).toContain(`'${tensor}'`);
  return err;
}

describe('corrupt input gives an error naming the file and tensor', () => {
  const F = 'broken.safetensors';
  const valid = serializeSafetensors({ a: fromArray([1, 2], [2]), b: fromArray([3, 4, 5], [3]) });
  const entry = (e: object) => handBuilt(JSON.stringify({ w: e }), new Uint8Array(16));

  it('truncated header length', () => {
    expect(errorOf(() => parseSafetensors(valid.subarray(0, 5), F), F).message).toMatch(
      /5 bytes.*too short/,
    );
    expect(errorOf(() => parseSafetensors(new Uint8Array(0), F), F).message).toMatch(/truncated/);
  });

  it('header longer than the file', () => {
    expect(errorOf(() => parseSafetensors(valid.subarray(0, 30), F), F).message).toMatch(
      /runs past the end/,
    );
    const huge = valid.slice();
    huge[7] = 1; // u64 length ≥ 2^56
    expect(errorOf(() => parseSafetensors(huge, F), F).message).toMatch(/implausible/);
  });

  it('header that is not JSON, not UTF-8, or not an object', () => {
    expect(
      errorOf(() => parseSafetensors(handBuilt('{"a": {"dtype": "F32",'), F), F).message,
    ).toMatch(/not valid JSON/);
    const bad = handBuilt('{"a":1}');
    bad[9] = 0xff;
    expect(errorOf(() => parseSafetensors(bad, F), F).message).toMatch(/UTF-8/);
    expect(errorOf(() => parseSafetensors(handBuilt('[1,2]'), F), F).message).toMatch(
      /not a JSON object/,
    );
  });

  it('unknown or unconvertible dtype', () => {
    expect(
      errorOf(
        () => parseSafetensors(entry({ dtype: 'F128', shape: [4], data_offsets: [0, 16] }), F),
        F,
        'w',
      ).message,
    ).toMatch(/unknown dtype 'F128'/);
    expect(
      errorOf(
        () => parseSafetensors(entry({ dtype: 'F8_E4M3', shape: [16], data_offsets: [0, 16] }), F),
        F,
        'w',
      ).message,
    ).toMatch(/cannot be converted/);
  });

  it('malformed shape or offsets', () => {
    errorOf(
      () => parseSafetensors(entry({ dtype: 'F32', shape: [2.5], data_offsets: [0, 10] }), F),
      F,
      'w',
    );
    errorOf(
      () => parseSafetensors(entry({ dtype: 'F32', shape: [-4], data_offsets: [0, 16] }), F),
      F,
      'w',
    );
    errorOf(
      () => parseSafetensors(entry({ dtype: 'F32', shape: [4], data_offsets: [0] }), F),
      F,
      'w',
    );
    expect(
      errorOf(
        () => parseSafetensors(entry({ dtype: 'F32', shape: [0], data_offsets: [8, 0] }), F),
        F,
        'w',
      ).message,
    ).toMatch(/end before they begin/);
    errorOf(() => parseSafetensors(handBuilt('{"w":[1,2]}'), F), F, 'w');
  });

  it('offsets outside the data buffer (a truncated file)', () => {
    const err = errorOf(() => parseSafetensors(valid.subarray(0, valid.length - 4), F), F, 'b');
    expect(err.message).toMatch(/outside the data buffer \(16 bytes\)/);
    errorOf(
      () => parseSafetensors(entry({ dtype: 'F32', shape: [8], data_offsets: [0, 32] }), F),
      F,
      'w',
    );
  });

  it('byte span that does not match shape × dtype size', () => {
    const err = errorOf(
      () => parseSafetensors(entry({ dtype: 'F32', shape: [3], data_offsets: [0, 16] }), F),
      F,
      'w',
    );
    expect(err.message).toMatch(/span 16 bytes but shape \[3\] × F32 \(4 bytes\) needs 12/);
    errorOf(
      () => parseSafetensors(entry({ dtype: 'BF16', shape: [2, 2], data_offsets: [0, 16] }), F),
      F,
      'w',
    );
  });

  it('overlapping tensors', () => {
    const json = JSON.stringify({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    });
    expect(
      errorOf(() => parseSafetensors(handBuilt(json, new Uint8Array(12)), F), F, 'b').message,
    ).toMatch(/overlap.*'a'/);
  });

  it('metadata that is not a map of strings', () => {
    const json = JSON.stringify({ __metadata__: { step: 3 } });
    expect(errorOf(() => parseSafetensors(handBuilt(json), F), F).message).toMatch(
      /'step'.*not a string/,
    );
  });

  it('names a default file when none is given', () => {
    expect(() => parseSafetensors(new Uint8Array(3))).toThrow(/<bytes>/);
  });
});

describe('serializeSafetensors rejects what it cannot write', () => {
  const t = fromArray([1], [1]);
  it('a dtype outside F32/F16/BF16, naming the tensor', () => {
    expect(() => serializeSafetensors({ w: t }, { dtype: 'F64' as 'F32' })).toThrow(
      /tensor 'w'.*cannot write dtype 'F64'/,
    );
  });
  it('non-string metadata, reserved names, non-tensors and disposed tensors', () => {
    expect(() =>
      serializeSafetensors({ w: t }, { metadata: { step: 3 as unknown as string } }),
    ).toThrow(/'step'.*only strings/);
    expect(() => serializeSafetensors({ __metadata__: t })).toThrow(/not a valid tensor name/);
    expect(() => serializeSafetensors({ w: [1, 2] as unknown as Tensor })).toThrow(
      /tensor 'w'.*not a Tensor/,
    );
    const gone = fromArray([1], [1]);
    gone.dispose();
    expect(() => serializeSafetensors({ gone })).toThrow(/tensor 'gone'.*disposed/);
  });
});
