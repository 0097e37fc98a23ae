// The safetensors reader's checks, one rule at a time at its boundary (issue #19): what the
// reference reader accepts is accepted, and one byte or one key off is refused by name.
import { describe, expect, it } from 'vitest';
import { parseSafetensors, SafetensorsError } from '../src/index';
import {
  firstDuplicateKey,
  MAX_HEADER_BYTES,
  parseHeader,
  readHeaderLength,
} from '../src/io/header';

const enc = (s: string) => new TextEncoder().encode(s);

function lengthBytes(lo: number, hi = 0): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, lo, true);
  dv.setUint32(4, hi, true);
  return b;
}

/** A whole file: u64 length, the header text as given, then `data` bytes. */
function file(header: string, data: number[] = []): Uint8Array {
  const h = enc(header);
  const out = new Uint8Array(8 + h.length + data.length);
  out.set(lengthBytes(h.length));
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const parse = (header: string, dataBytes: number) => parseHeader(enc(header), dataBytes, 'f');
const entry = (dtype: string, shape: unknown, offsets: unknown) =>
  JSON.stringify({ dtype, shape, data_offsets: offsets });

describe('readHeaderLength', () => {
  it('needs 8 bytes of length, then 8 + N bytes of file', () => {
    expect(() => readHeaderLength(lengthBytes(0), 7, 'f')).toThrow(
      'f: truncated: 7 bytes, too short for the 8-byte header length',
    );
    expect(() => readHeaderLength(new Uint8Array(7), 100, 'f')).toThrow(/truncated/);
    expect(readHeaderLength(lengthBytes(0), 8, 'f')).toBe(0);
    expect(readHeaderLength(lengthBytes(10), 18, 'f')).toBe(10);
    expect(() => readHeaderLength(lengthBytes(10), 17, 'f')).toThrow(
      'f: header length 10 runs past the end of the file (17 bytes); the file is truncated or corrupt',
    );
  });

  it('refuses lengths above 100 MB or with high bits set', () => {
    const big = 8 + MAX_HEADER_BYTES + 10;
    expect(readHeaderLength(lengthBytes(MAX_HEADER_BYTES), big, 'f')).toBe(MAX_HEADER_BYTES);
    expect(() => readHeaderLength(lengthBytes(MAX_HEADER_BYTES + 1), big, 'f')).toThrow(
      `f: header length ${MAX_HEADER_BYTES + 1} is implausible (limit ${MAX_HEADER_BYTES} bytes); the file is corrupt or not safetensors`,
    );
    expect(() => readHeaderLength(lengthBytes(0, 1), big, 'f')).toThrow(
      `header length ${2 ** 32} is implausible`,
    );
  });

  it('reads the length at the prefix’s own offset in a larger buffer', () => {
    const buf = new Uint8Array(16);
    buf.set(lengthBytes(5), 4);
    expect(readHeaderLength(buf.subarray(4), 16, 'f')).toBe(5);
  });
});

describe('parseHeader', () => {
  it('accepts tensors that tile the data exactly, in any header order, with metadata', () => {
    const h = parse(
      `{"b":${entry('F32', [2], [4, 12])},"__metadata__":{"k":"v"},"a":${entry('F16', [2], [0, 4])},"e":${entry('F32', [0], [12, 12])}}`,
      12,
    );
    expect(h.metadata).toEqual({ k: 'v' });
    expect(h.entries.map((e) => [e.name, e.dtype, e.shape, e.begin, e.end])).toEqual([
      ['b', 'F32', [2], 4, 12],
      ['a', 'F16', [2], 0, 4],
      ['e', 'F32', [0], 12, 12],
    ]);
    expect(parse('{}', 0)).toEqual({ entries: [], metadata: {} });
    expect(parse(`{"s":${entry('BF16', [], [0, 2])}}`, 2).entries[0]!.shape).toEqual([]);
  });

  it('refuses text that is not UTF-8, not JSON or not an object', () => {
    expect(() => parseHeader(Uint8Array.from([0x7b, 0xff, 0x7d]), 0, 'f')).toThrow(
      'f: header is not valid UTF-8',
    );
    expect(() => parse('{"a":', 0)).toThrow(
      /^f: header is not valid JSON \(.*\); it starts "\{\\"a\\":"$/,
    );
    const long = `{"${'x'.repeat(80)}"`;
    expect(() => parse(long, 0)).toThrow(`it starts ${JSON.stringify(`${long.slice(0, 60)}…`)}`);
    const sixty = `[${'1,'.repeat(29)}1`;
    expect(sixty.length).toBe(60);
    expect(() => parse(sixty, 0)).toThrow(`it starts ${JSON.stringify(sixty)}`);
    expect(() => parse('[]', 0)).toThrow('f: header is not a JSON object');
    expect(() => parse('null', 0)).toThrow('header is not a JSON object');
    expect(() => parse('"x"', 0)).toThrow('header is not a JSON object');
  });

  it('refuses metadata that is not an object of strings', () => {
    expect(() => parse('{"__metadata__":["a"]}', 0)).toThrow(
      'f: __metadata__ is not an object of strings',
    );
    expect(() => parse('{"__metadata__":null}', 0)).toThrow(/__metadata__ is not an object/);
    expect(() => parse('{"__metadata__":{"a":"x","n":1}}', 0)).toThrow(
      "f: __metadata__ value for 'n' is 1, not a string",
    );
  });

  it('refuses malformed entries, naming the tensor', () => {
    const bad: [string, string][] = [
      ['[]', 'header entry is not an object'],
      ['null', 'header entry is not an object'],
      [JSON.stringify({ dtype: 5, shape: [1], data_offsets: [0, 4] }), 'dtype 5 is not a string'],
      [entry('F33', [1], [0, 4]), "unknown dtype 'F33' (known: "],
      [entry('F32', 'x', [0, 4]), 'shape "x" is not a list of non-negative integers'],
      [entry('F32', [1.5], [0, 4]), 'shape [1.5] is not a list'],
      [entry('F32', [-1], [0, 4]), 'shape [-1] is not a list'],
      [entry('F32', [1], [0]), 'data_offsets [0] is not a pair of non-negative integers'],
      [entry('F32', [1], [0, 4, 8]), 'data_offsets [0,4,8] is not a pair'],
      [entry('F32', [1], 'x'), 'data_offsets "x" is not a pair'],
      [entry('F32', [1], [-4, 0]), 'data_offsets [-4,0] is not a pair'],
      [entry('F32', [1], [0, 4.5]), 'data_offsets [0,4.5] is not a pair'],
      [entry('F32', [0], [4, 0]), 'data_offsets [4, 0] end before they begin'],
      [entry('F32', [3], [0, 12]), 'data_offsets [0, 12] lie outside the data buffer (8 bytes)'],
      [
        entry('F32', [3], [0, 8]),
        'data_offsets [0, 8] span 8 bytes but shape [3] × F32 (4 bytes) needs 12',
      ],
      [
        entry('F16', [2, 3], [0, 8]),
        'data_offsets [0, 8] span 8 bytes but shape [2, 3] × F16 (2 bytes) needs 12',
      ],
      [
        entry('F32', [2 ** 26, 2 ** 26, 2 ** 26], [0, 8]),
        `data_offsets [0, 8] span 8 bytes but shape [67108864, 67108864, 67108864] × F32 (4 bytes) needs ${2 ** 80}`,
      ],
    ];
    for (const [info, message] of bad) {
      expect(() => parse(`{"t":${info}}`, 8), info).toThrow(`f: tensor 't': ${message}`);
    }
    // the end may be the last byte of the buffer
    expect(parse(`{"t":${entry('F32', [2], [0, 8])}}`, 8).entries).toHaveLength(1);
  });

  it('refuses overlaps, holes and bytes after the last tensor', () => {
    expect(() =>
      parse(`{"a":${entry('F32', [2], [0, 8])},"b":${entry('F32', [2], [4, 12])}}`, 12),
    ).toThrow("f: tensor 'b': data_offsets [4, 12] overlap those of 'a' [0, 8]");
    // reported in offset order whatever the header order
    expect(() =>
      parse(`{"b":${entry('F32', [2], [4, 12])},"a":${entry('F32', [2], [0, 8])}}`, 12),
    ).toThrow("tensor 'b': data_offsets [4, 12] overlap those of 'a'");
    expect(() =>
      parse(`{"a":${entry('F32', [1], [0, 4])},"b":${entry('F32', [1], [8, 12])}}`, 12),
    ).toThrow(
      "f: tensor 'b': data_offsets [8, 12] leave a hole of 4 bytes after offset 4; tensors must follow each other without gaps",
    );
    expect(() => parse(`{"b":${entry('F32', [1], [4, 8])}}`, 8)).toThrow(
      'leave a hole of 4 bytes after offset 0',
    );
    expect(() => parse(`{"a":${entry('F32', [1], [0, 4])}}`, 6)).toThrow(
      "f: 2 bytes follow the last tensor (the tensors end at data offset 4, the file's data is 6 bytes); the file is corrupt or was appended to",
    );
    expect(() => parse('{}', 3)).toThrow('3 bytes follow the last tensor');
    // an empty tensor touching its neighbours overlaps nothing
    expect(
      parse(
        `{"a":${entry('F32', [1], [0, 4])},"z":${entry('F32', [0], [4, 4])},"b":${entry('F32', [1], [4, 8])}}`,
        8,
      ).entries,
    ).toHaveLength(3);
    // ... also when the header lists it after the tensor that starts where it is
    expect(
      parse(
        `{"a":${entry('F32', [1], [0, 4])},"b":${entry('F32', [1], [4, 8])},"z":${entry('F32', [0], [4, 4])}}`,
        8,
      ).entries.map((e) => e.name),
    ).toEqual(['a', 'b', 'z']);
    // adjacent tensors do not overlap
    expect(
      parse(`{"a":${entry('F32', [1], [0, 4])},"b":${entry('F32', [1], [4, 8])}}`, 8).entries,
    ).toHaveLength(2);
  });

  it('names the known dtypes and the byte span in its errors', () => {
    expect(() => parse(`{"a":${entry('Q4', [1], [0, 4])}}`, 4)).toThrow(
      "f: tensor 'a': unknown dtype 'Q4' (known: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64",
    );
    // the span is end − begin, here from a tensor that does not start at 0
    expect(() =>
      parse(`{"a":${entry('F32', [1], [0, 4])},"b":${entry('F32', [3], [4, 12])}}`, 12),
    ).toThrow(
      "f: tensor 'b': data_offsets [4, 12] span 8 bytes but shape [3] × F32 (4 bytes) needs 12",
    );
  });

  it('refuses a key named twice, at any depth', () => {
    expect(() =>
      parse(`{"a":${entry('F32', [0], [0, 0])},"a":${entry('F32', [0], [0, 0])}}`, 0),
    ).toThrow(`f: tensor 'a': header names "a" twice; each tensor (and key) must appear once`);
    expect(() => parse('{"__metadata__":{"k":"1","k":"2"}}', 0)).toThrow('header names "k" twice');
  });
});

describe('firstDuplicateKey', () => {
  it('finds keys, not values, in each object separately', () => {
    expect(firstDuplicateKey('{"a":1,"b":2}')).toBeUndefined();
    expect(firstDuplicateKey('{"a":"a","b":"a"}')).toBeUndefined();
    expect(firstDuplicateKey('{"a":{"a":1},"b":{"a":2}}')).toBeUndefined();
    expect(firstDuplicateKey('{"a":1,"b":2,"a":3}')).toBe('a');
    expect(firstDuplicateKey('{"x":{"a":1,"a":2}}')).toBe('a');
    // after a nested object closes, the outer object's keys are still tracked
    expect(firstDuplicateKey('{"a":{"b":1},"a":2}')).toBe('a');
    // strings in arrays are never keys, even when an object follows
    expect(firstDuplicateKey('{"a":["k","k"],"b":[{"k":1},{"k":2}]}')).toBeUndefined();
    expect(firstDuplicateKey('{"a":[1,2],"a":3}')).toBe('a');
    // whitespace before the colon, escaped quotes and backslashes inside keys
    expect(firstDuplicateKey('{ "a" : 1 ,\n "a"\t: 2 }')).toBe('a');
    expect(firstDuplicateKey('{"q\\"":1,"q\\"":2}')).toBe('q"');
    expect(firstDuplicateKey('{"q\\\\":1,"q":2}')).toBeUndefined();
    expect(firstDuplicateKey('{"\\u0061":1,"a":2}')).toBe('a');
    // braces inside strings are text
    expect(firstDuplicateKey('{"a":"}","a":1}')).toBe('a');
    expect(firstDuplicateKey('{"a":"{","b":{"a":1}}')).toBeUndefined();
  });
});

describe('parseSafetensors', () => {
  it('decodes each tensor from its own bytes, after the header', () => {
    const f32 = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    const bytes = file(`{"x":${entry('F32', [2], [0, 8])},"y":${entry('U8', [2], [8, 10])}}`, [
      ...f32,
      7,
      200,
    ]);
    const st = parseSafetensors(bytes, 'w.safetensors');
    expect(Array.from(st.tensors.get('x')!.data)).toEqual([1.5, -2]);
    expect(st.tensors.get('x')!.shape).toEqual([2]);
    expect(Array.from(st.tensors.get('y')!.data)).toEqual([7, 200]);
    expect(st.dtypes).toEqual(
      new Map([
        ['x', 'F32'],
        ['y', 'U8'],
      ]),
    );
  });

  it('names the file in every error, <bytes> when none is given', () => {
    const bytes = file(`{"x":${entry('F32', [2], [0, 8])}}`, [0, 0, 0, 0]);
    expect(() => parseSafetensors(bytes, 'w.safetensors')).toThrow(
      "w.safetensors: tensor 'x': data_offsets [0, 8] lie outside the data buffer (4 bytes)",
    );
    expect(() => parseSafetensors(bytes)).toThrow(/^<bytes>: /);
    expect(() => parseSafetensors(new Uint8Array(3))).toThrow(SafetensorsError);
  });
});
