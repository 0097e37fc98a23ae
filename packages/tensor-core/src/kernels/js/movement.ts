import { bufferPool } from '../buffer-pool';

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function permute(
  a: Float32Array,
  shape: readonly number[],
  perm: readonly number[],
): Float32Array {
  const n = shape.length;
  const inStrides = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]!);
  const stride = perm.map((p) => inStrides[p]!);
  const out = bufferPool.acquire(a.length);
  if (n === 0) {
    out.set(a);
    return out;
  }
  // Walk the output in order; the innermost axis is a strided copy from the input.
  const last = n - 1;
  const innerLen = outShape[last]!;
  const innerStride = stride[last]!;
  const index = new Int32Array(n);
  let src = 0;
  for (let o = 0; o < a.length; o += innerLen) {
    for (let j = 0; j < innerLen; j++) out[o + j] = a[src + j * innerStride]!;
    for (let axis = last - 1; axis >= 0; axis--) {
      index[axis]!++;
      src += stride[axis]!;
      if (index[axis]! < outShape[axis]!) break;
      src -= stride[axis]! * outShape[axis]!;
      index[axis] = 0;
    }
  }
  return out;
}

export function slice(
  a: Float32Array,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
): Float32Array {
  const n = shape.length;
  const inStrides = stridesOf(shape);
  let total = 1;
  for (const d of size) total *= d;
  const out = bufferPool.acquire(total);
  if (total === 0) return out;
  if (n === 0) {
    out[0] = a[0]!;
    return out;
  }
  const last = n - 1;
  const innerLen = size[last]!;
  const index = new Int32Array(n);
  let src = 0;
  for (let k = 0; k < n; k++) src += begin[k]! * inStrides[k]!;
  for (let o = 0; o < total; o += innerLen) {
    for (let j = 0; j < innerLen; j++) out[o + j] = a[src + j]!;
    for (let axis = last - 1; axis >= 0; axis--) {
      index[axis]!++;
      src += inStrides[axis]!;
      if (index[axis]! < size[axis]!) break;
      src -= inStrides[axis]! * size[axis]!;
      index[axis] = 0;
    }
  }
  return out;
}

export function pad(
  a: Float32Array,
  shape: readonly number[],
  padding: readonly (readonly [number, number])[],
  value: number,
): Float32Array {
  const outShape = shape.map((d, i) => d + padding[i]![0] + padding[i]![1]);
  let total = 1;
  for (const d of outShape) total *= d;
  const out = bufferPool.acquire(total);
  out.fill(value);
  if (a.length === 0) return out;
  const n = shape.length;
  const outStrides = stridesOf(outShape);
  const last = n - 1;
  const innerLen = shape[last]!;
  const index = new Int32Array(n);
  let dst = 0;
  for (let k = 0; k < n; k++) dst += padding[k]![0] * outStrides[k]!;
  for (let s = 0; s < a.length; s += innerLen) {
    for (let j = 0; j < innerLen; j++) out[dst + j] = a[s + j]!;
    for (let axis = last - 1; axis >= 0; axis--) {
      index[axis]!++;
      dst += outStrides[axis]!;
      if (index[axis]! < shape[axis]!) break;
      dst -= outStrides[axis]! * shape[axis]!;
      index[axis] = 0;
    }
  }
  return out;
}

export function concat(
  inputs: readonly Float32Array[],
  outer: number,
  lens: readonly number[],
  inner: number,
): Float32Array {
  const totalLen = lens.reduce((x, y) => x + y, 0);
  const out = bufferPool.acquire(outer * totalLen * inner);
  for (let o = 0; o < outer; o++) {
    let dst = o * totalLen * inner;
    inputs.forEach((x, k) => {
      const span = lens[k]! * inner;
      out.set(x.subarray(o * span, (o + 1) * span), dst);
      dst += span;
    });
  }
  return out;
}

export function indexSelect(
  a: Float32Array,
  outer: number,
  len: number,
  inner: number,
  idx: Int32Array,
): Float32Array {
  const out = bufferPool.acquire(outer * idx.length * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < idx.length; j++) {
      const src = (o * len + idx[j]!) * inner;
      out.set(a.subarray(src, src + inner), (o * idx.length + j) * inner);
    }
  }
  return out;
}

export function indexAdd(
  g: Float32Array,
  outer: number,
  len: number,
  inner: number,
  idx: Int32Array,
): Float32Array {
  const out = bufferPool.acquireZeroed(outer * len * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < idx.length; j++) {
      const dst = (o * len + idx[j]!) * inner;
      const src = (o * idx.length + j) * inner;
      for (let i = 0; i < inner; i++) out[dst + i]! += g[src + i]!;
    }
  }
  return out;
}
