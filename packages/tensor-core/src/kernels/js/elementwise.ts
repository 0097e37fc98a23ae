import type { BinaryOp, UnaryOp } from '../backend';
import { bufferPool } from '../buffer-pool';

type Fn2 = (x: number, y: number) => number;

const binaryFns: Record<BinaryOp, Fn2> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  pow: (x, y) => x ** y,
  maximum: (x, y) => (x >= y || Number.isNaN(x) ? x : y),
  minimum: (x, y) => (x <= y || Number.isNaN(x) ? x : y),
  greater: (x, y) => (x > y ? 1 : 0),
  less: (x, y) => (x < y ? 1 : 0),
  equal: (x, y) => (x === y ? 1 : 0),
};

/** Strides of `shape` seen from `outShape` under broadcasting (0 on stretched axes). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const n = outShape.length;
  const strides = new Array<number>(n).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const axis = n - shape.length + i;
    strides[axis] = shape[i] === 1 ? 0 : s;
    s *= shape[i]!;
  }
  return strides;
}

/** Calls visit(outIndex, offsets...) over every output element, tracking input offsets. */
export function forEachBroadcast(
  outShape: readonly number[],
  inputShapes: readonly (readonly number[])[],
  visit: (o: number, offsets: Int32Array) => void,
): void {
  const n = outShape.length;
  const strides = inputShapes.map((s) => broadcastStrides(s, outShape));
  const offsets = new Int32Array(inputShapes.length);
  const index = new Int32Array(n);
  let total = 1;
  for (const d of outShape) total *= d;
  for (let o = 0; o < total; o++) {
    visit(o, offsets);
    for (let axis = n - 1; axis >= 0; axis--) {
      index[axis]!++;
      for (let k = 0; k < strides.length; k++) offsets[k]! += strides[k]![axis]!;
      if (index[axis]! < outShape[axis]!) break;
      for (let k = 0; k < strides.length; k++) offsets[k]! -= strides[k]![axis]! * outShape[axis]!;
      index[axis] = 0;
    }
  }
}

export function binary(
  op: BinaryOp,
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  outShape: readonly number[],
): Float32Array {
  const f = binaryFns[op];
  let total = 1;
  for (const d of outShape) total *= d;
  const out = bufferPool.acquire(total);
  if (a.length === total && b.length === total) {
    if (op === 'add') for (let i = 0; i < total; i++) out[i] = a[i]! + b[i]!;
    else if (op === 'mul') for (let i = 0; i < total; i++) out[i] = a[i]! * b[i]!;
    else if (op === 'sub') for (let i = 0; i < total; i++) out[i] = a[i]! - b[i]!;
    else for (let i = 0; i < total; i++) out[i] = f(a[i]!, b[i]!);
    return out;
  }
  if (b.length === 1 && a.length === total) {
    const y = b[0]!;
    for (let i = 0; i < total; i++) out[i] = f(a[i]!, y);
    return out;
  }
  if (a.length === total && total % b.length === 0 && isTrailing(bShape, outShape)) {
    // b repeats along leading axes (bias, norm weights): a tight modulo loop.
    const m = b.length;
    for (let i = 0; i < total; i += m) for (let j = 0; j < m; j++) out[i + j] = f(a[i + j]!, b[j]!);
    return out;
  }
  forEachBroadcast(outShape, [aShape, bShape], (o, off) => {
    out[o] = f(a[off[0]!]!, b[off[1]!]!);
  });
  return out;
}

/** True when `shape` equals the trailing dims of `outShape` (after dropping leading 1s). */
function isTrailing(shape: readonly number[], outShape: readonly number[]): boolean {
  let i = 0;
  while (i < shape.length && shape[i] === 1) i++;
  const tail = shape.slice(i);
  const outTail = outShape.slice(outShape.length - tail.length);
  return tail.every((d, k) => d === outTail[k]);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

const unaryFns: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  silu: (x) => x / (1 + Math.exp(-x)),
  // The tanh approximation, as in GPT-2 and PyTorch's gelu(approximate='tanh').
  gelu: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
  tanh: Math.tanh,
  relu: (x) => (x > 0 ? x : 0),
  square: (x) => x * x,
  sign: Math.sign,
  reciprocal: (x) => 1 / x,
  siluGrad: (x) => {
    const s = 1 / (1 + Math.exp(-x));
    return s * (1 + x * (1 - s));
  },
  geluGrad: (x) => {
    const inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
    const t = Math.tanh(inner);
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
  },
  step: (x) => (x > 0 ? 1 : 0),
};

export function unary(op: UnaryOp, a: Float32Array): Float32Array {
  const f = unaryFns[op];
  const out = bufferPool.acquire(a.length);
  for (let i = 0; i < a.length; i++) out[i] = f(a[i]!);
  return out;
}

export function clamp(a: Float32Array, lo: number, hi: number): Float32Array {
  const out = bufferPool.acquire(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    out[i] = x < lo ? lo : x > hi ? hi : x;
  }
  return out;
}

export function where(
  cond: Float32Array,
  condShape: readonly number[],
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  outShape: readonly number[],
): Float32Array {
  let total = 1;
  for (const d of outShape) total *= d;
  const out = bufferPool.acquire(total);
  forEachBroadcast(outShape, [condShape, aShape, bShape], (o, off) => {
    out[o] = cond[off[0]!] ? a[off[1]!]! : b[off[2]!]!;
  });
  return out;
}
