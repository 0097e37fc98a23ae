// The inner block product of gemm.ts as a small WebAssembly SIMD module, assembled here from
// its instructions so the package ships no binary. Two float64 lanes per instruction make it
// about twice as fast as the best scalar JavaScript kernel; gemm.ts falls back to that kernel
// where WebAssembly SIMD is unavailable.
//
// block(mcp, ncp, kc, pa, pb, pc) writes C (mcp×ncp, row-major, at byte offset pc) = A·B for A
// packed as mcp/4 panels of kc×4 (at pa) and B as ncp/4 panels of kc×4 (at pb), each panel
// p-major; mcp and ncp are multiples of 4 and kc ≥ 1.

const I32 = 0x7f;
const V128 = 0x7b;

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
const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));

const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32 = (v: number) => [0x41, ...sleb(v)];
const I32_ADD = [0x6a];
const I32_SUB = [0x6b];
const I32_MUL = [0x6c];
const I32_LT_U = [0x49];
const LOOP = [0x03, 0x40];
const END = [0x0b];
const brIf = (depth: number) => [0x0d, ...uleb(depth)];
// SIMD instructions: prefix 0xfd, opcode, then memarg (alignment exponent 3, offset).
const v128Load = (offset: number) => [0xfd, ...uleb(0x00), 3, ...uleb(offset)];
const v128Store = (offset: number) => [0xfd, ...uleb(0x0b), 3, ...uleb(offset)];
const v128Load64Splat = (offset: number) => [0xfd, ...uleb(0x0a), 3, ...uleb(offset)];
const V128_ZERO = [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)];
const F64X2_ADD = [0xfd, ...uleb(0xf0)];
const F64X2_MUL = [0xfd, ...uleb(0xf2)];

/** Bytes of a module exporting `block` and its memory `mem` of `pages` 64 KiB pages. */
function assemble(pages: number): Uint8Array<ArrayBuffer> {
  // Locals: params 0 mcp, 1 ncp, 2 kc, 3 pa, 4 pb, 5 pc; i32 6 jr, 7 ir, 8 p, 9 ap, 10 bp, 11 cp;
  // v128 12..19 the 4×4 accumulators (two lanes each), 20..21 a row of B, 22 a splat of A.
  const acc = (i: number, half: number) => 12 + 2 * i + half;
  const B0 = 20;
  const AV = 22;
  const code: number[] = [];
  const emit = (...parts: number[][]) => {
    for (const p of parts) code.push(...p);
  };
  emit(i32(0), set(6));
  emit(LOOP); // over column panels jr
  emit(i32(0), set(7));
  emit(LOOP); // over row panels ir
  for (let k = 0; k < 8; k++) emit(V128_ZERO, set(12 + k));
  emit(get(3), get(7), get(2), I32_MUL, i32(8), I32_MUL, I32_ADD, set(9));
  emit(get(4), get(6), get(2), I32_MUL, i32(8), I32_MUL, I32_ADD, set(10));
  emit(get(2), set(8));
  emit(LOOP); // over p
  emit(get(10), v128Load(0), set(B0), get(10), v128Load(16), set(B0 + 1));
  for (let i = 0; i < 4; i++) {
    emit(get(9), v128Load64Splat(8 * i), set(AV));
    for (let h = 0; h < 2; h++) {
      emit(get(acc(i, h)), get(AV), get(B0 + h), F64X2_MUL, F64X2_ADD, set(acc(i, h)));
    }
  }
  emit(get(9), i32(32), I32_ADD, set(9), get(10), i32(32), I32_ADD, set(10));
  emit(get(8), i32(1), I32_SUB, tee(8), brIf(0));
  emit(END);
  emit(get(5), get(7), get(1), I32_MUL, get(6), I32_ADD, i32(8), I32_MUL, I32_ADD, set(11));
  for (let i = 0; i < 4; i++) {
    emit(get(11), get(acc(i, 0)), v128Store(0), get(11), get(acc(i, 1)), v128Store(16));
    emit(get(11), get(1), i32(8), I32_MUL, I32_ADD, set(11));
  }
  emit(get(7), i32(4), I32_ADD, tee(7), get(0), I32_LT_U, brIf(0));
  emit(END);
  emit(get(6), i32(4), I32_ADD, tee(6), get(1), I32_LT_U, brIf(0));
  emit(END);
  emit(END);
  const body = [
    ...vec([
      [...uleb(6), I32],
      [...uleb(11), V128],
    ]),
    ...code,
  ];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), ...vec([])]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, ...uleb(pages)]])),
    ...section(
      7,
      vec([
        [...name('block'), 0x00, 0],
        [...name('mem'), 0x02, 0],
      ]),
    ),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

export interface WasmBlock {
  block: (mcp: number, ncp: number, kc: number, pa: number, pb: number, pc: number) => void;
  memory: Float64Array;
}

/** The compiled kernel with `bytes` of memory, or null where WebAssembly SIMD is missing. */
export function createWasmBlock(bytes: number): WasmBlock | null {
  try {
    if (typeof WebAssembly !== 'object') return null;
    const module = new WebAssembly.Module(assemble(Math.ceil(bytes / 65536)));
    const instance = new WebAssembly.Instance(module);
    const exports = instance.exports as { block: WasmBlock['block']; mem: WebAssembly.Memory };
    return { block: exports.block, memory: new Float64Array(exports.mem.buffer) };
  } catch {
    return null;
  }
}
