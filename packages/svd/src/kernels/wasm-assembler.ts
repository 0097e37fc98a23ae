// Just enough of the WebAssembly binary format to write small SIMD kernels in TypeScript, so the
// package ships no opaque binary: each instruction below is named as in the specification.

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const utf8 = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));
const simd = (op: number, ...rest: number[]) => [0xfd, ...uleb(op), ...rest];
// Memory arguments: alignment exponent 3 (8 bytes, all the kernels guarantee), then offset.
const memarg = (offset: number) => [3, ...uleb(offset)];

export const op = {
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32LtU: [0x49],
  f64Load: (offset = 0) => [0x2b, ...memarg(offset)],
  f64Add: [0xa0],
  f64Sub: [0xa1],
  f64Mul: [0xa2],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  v128Load: (offset = 0) => simd(0x00, ...memarg(offset)),
  v128Store: (offset = 0) => simd(0x0b, ...memarg(offset)),
  v128Load64Splat: (offset = 0) => simd(0x0a, ...memarg(offset)),
  v128Zero: simd(0x0c, ...new Array<number>(16).fill(0)),
  f64x2Splat: simd(0x14),
  f64x2ExtractLane: (lane: number) => simd(0x21, lane),
  f64x2Add: simd(0xf0),
  f64x2Sub: simd(0xf1),
  f64x2Mul: simd(0xf2),
};

export interface FunctionSpec {
  name: string;
  params: number[];
  results: number[];
  /** Extra locals after the parameters, as [count, type] runs. */
  locals: Array<[number, number]>;
  /** Instructions, without the final `end`. */
  body: number[][];
}

/** A module with one memory (imported as env.memory) and the given exported functions. */
export function assembleModule(functions: FunctionSpec[]): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [
    0x60,
    ...vec(f.params.map((t) => [t])),
    ...vec(f.results.map((t) => [t])),
  ]);
  const imports = vec([[...utf8('env'), ...utf8('memory'), 0x02, 0x00, ...uleb(1)]]);
  const exports = vec(functions.map((f, i) => [...utf8(f.name), 0x00, ...uleb(i)]));
  const bodies = functions.map((f) => {
    const body = [
      ...vec(f.locals.map(([count, type]) => [...uleb(count), type])),
      ...f.body.flat(),
      ...op.end,
    ];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, exports),
    ...section(10, vec(bodies)),
  ]);
}

/** Compiles the module, or returns null where WebAssembly (with SIMD) is unavailable. */
export function compile(functions: FunctionSpec[]): WebAssembly.Module | null {
  try {
    if (typeof WebAssembly !== 'object') return null;
    return new WebAssembly.Module(assembleModule(functions));
  } catch {
    return null;
  }
}

/** An instance of `module` on a fresh memory of at least `bytes` bytes. */
export function instantiate<T>(
  module: WebAssembly.Module,
  bytes: number,
): { exports: T; memory: WebAssembly.Memory } {
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return { exports: instance.exports as T, memory };
}
