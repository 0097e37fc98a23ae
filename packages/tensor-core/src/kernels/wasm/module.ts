import { KERNELS_WASM, KERNELS_WASM_SHARED, SHARED_MAX_PAGES } from './generated/kernels-wasm';

/** The kernel entry points (pointers are byte offsets into the memory, sizes in floats). */
export interface KernelExports {
  matmul(
    a: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    transA: number,
    transB: number,
    aStride: number,
    bStride: number,
    b0: number,
    b1: number,
    r0: number,
    r1: number,
    c0: number,
    c1: number,
    work: number,
  ): void;
  gemmWorkspaceBytes(): number;
  gemv(
    w: number,
    x: number,
    y: number,
    bias: number,
    cols: number,
    r0: number,
    r1: number,
    work: number,
  ): void;
  gemvBatch(
    w: number,
    x: number,
    y: number,
    bias: number,
    cols: number,
    rows: number,
    m: number,
    r0: number,
    r1: number,
    work: number,
  ): void;
  /** gemv and gemvBatch over bfloat16 weights (same arguments). */
  gemvBf16: KernelExports['gemv'];
  gemvBatchBf16: KernelExports['gemvBatch'];
  widenBf16(src: number, dst: number, n: number): void;
  addBias(y: number, bias: number, rows: number, cols: number): void;
  addInto(a: number, b: number, n: number): void;
  swiglu(g: number, u: number, out: number, n: number): void;
  ropeOne(x: number, heads: number, dim: number, cos: number, sin: number): void;
  cacheWrite(
    src: number,
    cache: number,
    kvHeads: number,
    dim: number,
    capacity: number,
    at: number,
  ): void;
  attendOne(...args: number[]): void;
  attentionWorkspaceBytes(tk: number): number;
  attentionForward(...args: number[]): void;
  attentionBackward(...args: number[]): void;
  // Kernels that take a range ([r0, r1) rows, [i0, i1) elements, [c0, c1) columns)
  // compute only that part, so that threads can share them.
  unary(op: number, a: number, out: number, i0: number, i1: number): void;
  binary(
    op: number,
    a: number,
    aRow: number,
    aCol: number,
    b: number,
    bRow: number,
    bCol: number,
    out: number,
    cols: number,
    r0: number,
    r1: number,
    c0: number,
    c1: number,
  ): void;
  softmax(a: number, out: number, cols: number, log: number, r0: number, r1: number): void;
  permute(
    a: number,
    out: number,
    ndim: number,
    shape: number,
    strides: number,
    index: number,
  ): void;
  rope(
    x: number,
    out: number,
    seq: number,
    dim: number,
    cos: number,
    sin: number,
    r0: number,
    r1: number,
  ): void;
  reduce(op: number, a: number, out: number, outer: number, len: number, inner: number): void;
  rmsNorm(x: number, w: number, out: number, rows: number, cols: number, eps: number): void;
  rmsNormRows(
    x: number,
    w: number,
    out: number,
    cols: number,
    eps: number,
    r0: number,
    r1: number,
  ): void;
  rmsNormBackwardRows(
    dy: number,
    x: number,
    w: number,
    dx: number,
    inv: number,
    cols: number,
    eps: number,
    r0: number,
    r1: number,
  ): void;
  rmsNormBackwardDw(
    dy: number,
    x: number,
    inv: number,
    dw: number,
    rows: number,
    cols: number,
    c0: number,
    c1: number,
  ): void;
  rmsNormBackward(
    dy: number,
    x: number,
    w: number,
    dx: number,
    dw: number,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  crossEntropy(
    logits: number,
    targets: number,
    out: number,
    cols: number,
    ignoreIndex: number,
    r0: number,
    r1: number,
  ): void;
  crossEntropyBackward(
    logits: number,
    targets: number,
    rowGrad: number,
    out: number,
    cols: number,
    ignoreIndex: number,
    r0: number,
    r1: number,
  ): void;
}

/** Kernels that worker threads run (by index, in this order). */
export const PARALLEL_KERNELS = [
  'matmul',
  'attentionForward',
  'attentionBackward',
  'gemv',
  'gemvBatch',
  'gemvBf16',
  'gemvBatchBf16',
  'unary',
  'binary',
  'softmax',
  'rmsNormRows',
  'rmsNormBackwardRows',
  'rmsNormBackwardDw',
  'crossEntropy',
  'crossEntropyBackward',
  'rope',
] as const;
export type ParallelKernel = (typeof PARALLEL_KERNELS)[number];

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

const compiled = new Map<boolean, Promise<WebAssembly.Module>>();

/**
 * The compiled kernels module (cached). Compilation is asynchronous because browsers
 * refuse synchronous compilation of more than 4 KB on the main thread.
 */
export function kernelsModule(shared: boolean): Promise<WebAssembly.Module> {
  let m = compiled.get(shared);
  if (!m) {
    m = WebAssembly.compile(decodeBase64(shared ? KERNELS_WASM_SHARED : KERNELS_WASM));
    compiled.set(shared, m);
    m.catch(() => compiled.delete(shared));
  }
  return m;
}

export function createMemory(shared: boolean, initialPages: number): WebAssembly.Memory {
  return shared
    ? new WebAssembly.Memory({ initial: initialPages, maximum: SHARED_MAX_PAGES, shared: true })
    : new WebAssembly.Memory({ initial: initialPages });
}

export { SHARED_MAX_PAGES };
