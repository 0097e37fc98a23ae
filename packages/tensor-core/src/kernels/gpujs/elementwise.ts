import type { BinaryOp, KernelData, UnaryOp } from '../backend';
import { broadcastStrides } from '../js/elementwise';
import { EXACT_INDEX_LIMIT, type KernelArg, view } from './context';
import { leadingCoordinates } from './coordinates';
import { type KernelPlan, singleLaunch } from './plan';

/** Each binary op as an expression in x (from a) and y (from b). */
const BINARY_EXPR: Record<BinaryOp, string> = {
  add: 'x + y',
  sub: 'x - y',
  mul: 'x * y',
  div: 'x / y',
  pow: 'Math.pow(x, y)',
  // NaN in x wins, as in the js backend (x !== x is the NaN test).
  maximum: '(x >= y || x !== x) ? x : y',
  minimum: '(x <= y || x !== x) ? x : y',
  greater: 'x > y ? 1 : 0',
  less: 'x < y ? 1 : 0',
  equal: 'x === y ? 1 : 0',
};

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Each unary op as kernel statements over x ending in a return. */
const UNARY_BODY: Record<UnaryOp, string> = {
  neg: 'return -x;',
  exp: 'return Math.exp(x);',
  log: 'return Math.log(x);',
  sqrt: 'return Math.sqrt(x);',
  rsqrt: 'return 1 / Math.sqrt(x);',
  abs: 'return Math.abs(x);',
  sigmoid: 'return 1 / (1 + Math.exp(-x));',
  silu: 'return x / (1 + Math.exp(-x));',
  // 0.5·(1 + tanh u) = 1 / (1 + e^(−2u)): the same tanh-approximate GELU, without the
  // float32 cancellation of 1 + tanh(u) for negative x.
  gelu: `const u = ${SQRT_2_OVER_PI} * (x + 0.044715 * x * x * x); return x / (1 + Math.exp(-2 * u));`,
  // WGSL's tanh (SwiftShader's, at least) forms e^|x| and gives NaN past |x| ≈ 88.7, where
  // that overflows; tanh rounds to ±1 in float32 from |x| = 10 on, so those return exactly.
  tanh: 'if (x > 10) { return 1; } if (x < -10) { return -1; } return Math.tanh(x);',
  relu: 'return x > 0 ? x : 0;',
  square: 'return x * x;',
  sign: 'return Math.sign(x);',
  reciprocal: 'return 1 / x;',
  siluGrad: 'const s = 1 / (1 + Math.exp(-x)); return s * (1 + x * (1 - s));',
  // With s = 0.5·(1 + tanh u): 1 − tanh²u = 4·s·(1 − s), and s·(1 − s) = 1 / ((1 + e^(−2u))(1 + e^(2u))).
  geluGrad: `const u = ${SQRT_2_OVER_PI} * (x + 0.044715 * x * x * x);
    const s = 1 / (1 + Math.exp(-2 * u));
    const ss = 1 / ((1 + Math.exp(-2 * u)) * (1 + Math.exp(2 * u)));
    return s + 2 * x * ss * ${SQRT_2_OVER_PI} * (1 + 3 * 0.044715 * x * x);`,
  step: 'return x > 0 ? 1 : 0;',
};

export function unary(op: UnaryOp, a: KernelData): KernelPlan | null {
  if (a.length === 0) return null;
  return singleLaunch(
    `unary:${op}`,
    () => `function unary_${op}(a) { const x = a[this.thread.x]; ${UNARY_BODY[op]} }`,
    [a.length],
    a,
  );
}

export function clamp(a: KernelData, lo: number, hi: number): KernelPlan | null {
  if (a.length === 0) return null;
  return singleLaunch(
    'clamp',
    () => `function clamp(a, lo, hi) {
      const x = a[this.thread.x];
      if (x < lo) { return lo; }
      if (x > hi) { return hi; }
      return x;
    }`,
    [a.length],
    a,
    lo,
    hi,
  );
}

/**
 * A broadcast over coalesced axes: adjacent output axes merge when every input
 * steps through them contiguously, so most real cases (same shape, bias add,
 * scalar) come down to one to three axes.
 */
interface BroadcastPlan {
  /** Output extents of the coalesced axes, outermost first, at least three. */
  dims: number[];
  /** Per input, per axis: true where the input is stretched (stride 0). */
  stretched: boolean[][];
}

function planBroadcast(
  outShape: readonly number[],
  shapes: readonly (readonly number[])[],
): BroadcastPlan {
  const strides = shapes.map((s) => broadcastStrides(s, outShape));
  const dims: number[] = [];
  const groupStrides: number[][] = [];
  for (let axis = 0; axis < outShape.length; axis++) {
    const d = outShape[axis]!;
    if (d === 1) continue;
    const s = strides.map((st) => st[axis]!);
    const last = dims.length - 1;
    // The previous (outer) group merges into this axis when each input's outer stride
    // is this axis's stride times its extent (which also holds for 0 = 0 · d).
    if (last >= 0 && groupStrides[last]!.every((outer, p) => outer === s[p]! * d)) {
      dims[last] = dims[last]! * d;
      groupStrides[last] = s;
    } else {
      dims.push(d);
      groupStrides.push(s);
    }
  }
  while (dims.length < 3) {
    dims.unshift(1);
    groupStrides.unshift(shapes.map(() => 0));
  }
  return { dims, stretched: shapes.map((_, p) => groupStrides.map((s) => s[p] === 0)) };
}

/**
 * Kernel source reading inputs `in0, in1, …` at the broadcast position of the output
 * cell. The output grid is [last axis, second-last, all leading axes]; leading-axis
 * coordinates come from thread.z by division (exact below 2^24), and each input is
 * read through its own 3-D view so gpu.js forms the flat index in integers.
 */
function broadcastSource(
  name: string,
  plan: BroadcastPlan,
  body: string,
  valueNames: readonly string[],
): string {
  const { dims, stretched } = plan;
  const lead = dims.length - 2;
  const params = valueNames.map((_, p) => `in${p}`);
  const lines: string[] = [];
  if (lead > 1) {
    const lc = leadingCoordinates(lead);
    params.push(...lc.params);
    lines.push(...lc.lines);
  }
  valueNames.forEach((v, p) => {
    const st = stretched[p]!;
    let z = '0';
    if (lead === 1) {
      z = st[0] ? '0' : 'this.thread.z';
    } else {
      const terms: string[] = [];
      for (let k = 0; k < lead; k++) {
        if (st[k]) continue;
        params.push(`s${p}_${k}`);
        terms.push(`c${k} * s${p}_${k}`);
      }
      if (terms.length > 0) z = terms.join(' + ');
    }
    const y = st[lead] ? '0' : 'this.thread.y';
    const x = st[lead + 1] ? '0' : 'this.thread.x';
    lines.push(`const ${v} = in${p}[${z}][${y}][${x}];`);
  });
  return `function ${name}(${params.join(', ')}) {\n${lines.join('\n')}\n${body}\n}`;
}

/** Kernel arguments matching broadcastSource's parameters, in the same order. */
function broadcastArgs(plan: BroadcastPlan, data: readonly KernelData[]): KernelArg[] {
  const { dims, stretched } = plan;
  const lead = dims.length - 2;
  const args: KernelArg[] = data.map((d, p) => {
    const st = stretched[p]!;
    let z = 1;
    for (let k = 0; k < lead; k++) if (!st[k]) z *= dims[k]!;
    return view(d, st[lead + 1] ? 1 : dims[lead + 1]!, st[lead] ? 1 : dims[lead]!, z);
  });
  if (lead > 1) {
    for (let k = 1; k < lead; k++) args.push(dims[k]!);
    data.forEach((_, p) => {
      const st = stretched[p]!;
      // Stride of leading axis k within the input's own z extent.
      let s = 1;
      const strides: number[] = new Array(lead).fill(0);
      for (let k = lead - 1; k >= 0; k--) {
        if (st[k]) continue;
        strides[k] = s;
        s *= dims[k]!;
      }
      for (let k = 0; k < lead; k++) if (!st[k]) args.push(strides[k]!);
    });
  }
  return args;
}

function planKey(plan: BroadcastPlan): string {
  return `${plan.dims.length}:${plan.stretched.map((st) => st.map((b) => (b ? 1 : 0)).join('')).join('/')}`;
}

/** A broadcast elementwise kernel; null when the shape is outside exact indexing. */
function broadcastLaunch(
  opKey: string,
  body: string,
  valueNames: readonly string[],
  data: readonly KernelData[],
  shapes: readonly (readonly number[])[],
  outShape: readonly number[],
): KernelPlan | null {
  let total = 1;
  for (const d of outShape) total *= d;
  if (total === 0) return null;
  const plan = planBroadcast(outShape, shapes);
  const { dims } = plan;
  const lead = dims.length - 2;
  let z = 1;
  for (let k = 0; k < lead; k++) z *= dims[k]!;
  // The x axis is a true integer thread id; y and z (and their products) go through f32.
  if (dims[lead]! >= EXACT_INDEX_LIMIT || z >= EXACT_INDEX_LIMIT / 2) return null;
  const name = opKey.replace(/[^A-Za-z0-9]/g, '_');
  return singleLaunch(
    `${opKey}:${planKey(plan)}`,
    () => broadcastSource(name, plan, body, valueNames),
    [dims[lead + 1]!, dims[lead]!, z],
    ...broadcastArgs(plan, data),
  );
}

/** Elementwise binary op with NumPy broadcasting; null when the js backend must take it. */
export function binary(
  op: BinaryOp,
  a: KernelData,
  aShape: readonly number[],
  b: KernelData,
  bShape: readonly number[],
  outShape: readonly number[],
): KernelPlan | null {
  return broadcastLaunch(
    `binary_${op}`,
    `return ${BINARY_EXPR[op]};`,
    ['x', 'y'],
    [a, b],
    [aShape, bShape],
    outShape,
  );
}

/** cond ? a : b with broadcasting (a NaN condition counts as false, as in JS). */
export function where(
  cond: KernelData,
  condShape: readonly number[],
  a: KernelData,
  aShape: readonly number[],
  b: KernelData,
  bShape: readonly number[],
  outShape: readonly number[],
): KernelPlan | null {
  return broadcastLaunch(
    'where',
    'return (c > 0 || c < 0) ? x : y;',
    ['c', 'x', 'y'],
    [cond, a, b],
    [condShape, aShape, bShape],
    outShape,
  );
}
