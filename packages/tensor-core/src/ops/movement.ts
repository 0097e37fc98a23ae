import { record } from '../autograd/record';
import { getBackend } from '../kernels/registry';
import { formatShape, normalizeAxis, type Shape, shapesEqual, sizeOf } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';
import { broadcastTo } from './broadcast';

/** Same values, new shape (one dimension may be -1); no copy. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const resolved = [...shape];
  const unknown = resolved.indexOf(-1);
  if (unknown >= 0) {
    const known = sizeOf(resolved.filter((_, i) => i !== unknown));
    if (known === 0 || x.size % known !== 0) {
      throw new Error(
        `reshape: cannot infer -1 reshaping ${formatShape(x.shape)} to ${formatShape(shape)}`,
      );
    }
    resolved[unknown] = x.size / known;
  }
  if (sizeOf(resolved) !== x.size) {
    throw new Error(
      `reshape: ${formatShape(x.shape)} (${x.size} values) cannot become ${formatShape(shape)}`,
    );
  }
  if (shapesEqual(resolved, x.shape)) return x;
  return record(x.view(resolved), 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  if (
    perm.length !== x.ndim ||
    new Set(perm).size !== perm.length ||
    perm.some((p) => p < 0 || p >= x.ndim)
  ) {
    throw new Error(
      `permute: [${perm.join(', ')}] is not a permutation of the axes of ${formatShape(x.shape)}`,
    );
  }
  if (perm.every((p, i) => p === i)) return x;
  const outShape = perm.map((p) => x.shape[p]!);
  const be = getBackend();
  const out = new Tensor(be.permute(x.kernelData(be), x.shape, perm), outShape);
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inverse[p] = i;
  });
  return record(out, 'permute', [x], (g) => [permute(g, inverse)]);
}

/** Swaps two axes (by default the last two). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  const a = normalizeAxis(axis0, x.ndim, 'transpose');
  const b = normalizeAxis(axis1, x.ndim, 'transpose');
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** The block starting at `begin` with extent `size` (-1: to the end), like tf.slice. */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  if (begin.length !== x.ndim) {
    throw new Error(`slice: begin has ${begin.length} entries for a tensor of rank ${x.ndim}`);
  }
  const sz = x.shape.map((d, i) => {
    const s = size?.[i] ?? -1;
    return s === -1 ? d - begin[i]! : s;
  });
  x.shape.forEach((d, i) => {
    if (begin[i]! < 0 || sz[i]! < 0 || begin[i]! + sz[i]! > d) {
      throw new Error(`slice: [${begin}] + [${sz}] is outside ${formatShape(x.shape)}`);
    }
  });
  if (sz.every((s, i) => s === x.shape[i])) return x;
  const be = getBackend();
  const out = new Tensor(be.slice(x.kernelData(be), x.shape, begin, sz), sz);
  return record(out, 'slice', [x], (g) => [
    pad(
      g,
      x.shape.map((d, i) => [begin[i]!, d - begin[i]! - sz[i]!] as [number, number]),
    ),
  ]);
}

/** `length` entries of `axis` starting at `start`. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normalizeAxis(axis, x.ndim, 'narrow');
  const begin = x.shape.map((_, i) => (i === a ? start : 0));
  const size = x.shape.map((d, i) => (i === a ? length : d));
  return slice(x, begin, size);
}

/** Pads each axis with [before, after] entries of `value`. */
export function pad(x: Tensor, padding: readonly (readonly [number, number])[], value = 0): Tensor {
  if (padding.length !== x.ndim || padding.some(([b, a]) => b < 0 || a < 0)) {
    throw new Error(`pad: need ${x.ndim} non-negative [before, after] pairs`);
  }
  const outShape = x.shape.map((d, i) => d + padding[i]![0] + padding[i]![1]);
  const be = getBackend();
  const out = new Tensor(be.pad(x.kernelData(be), x.shape, padding, value), outShape);
  return record(out, 'pad', [x], (g) => [
    slice(
      g,
      padding.map((p) => p[0]),
      x.shape,
    ),
  ]);
}

/** Broadcasts to `shape` (NumPy rules), copying. */
export function expand(x: Tensor, shape: Shape): Tensor {
  return broadcastTo(x, shape, 'expand');
}

export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('concat: no tensors');
  const first = tensors[0]!;
  const a = normalizeAxis(axis, first.ndim, 'concat');
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(
        `concat: ${formatShape(t.shape)} does not match ${formatShape(first.shape)} off axis ${a}`,
      );
    }
  }
  const lens = tensors.map((t) => t.shape[a]!);
  const outer = sizeOf(first.shape.slice(0, a));
  const inner = sizeOf(first.shape.slice(a + 1));
  const outShape = [...first.shape];
  outShape[a] = lens.reduce((s, l) => s + l, 0);
  const be = getBackend();
  const data = be.concat(
    tensors.map((t) => t.kernelData(be)),
    outer,
    lens,
    inner,
  );
  const out = new Tensor(data, outShape);
  return record(out, 'concat', tensors, (g) => {
    let start = 0;
    return tensors.map((t, k) => {
      const piece = t.requiresGrad ? narrow(g, a, start, lens[k]!) : null;
      start += lens[k]!;
      return piece;
    });
  });
}

/** Joins tensors of one shape along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: no tensors');
  const first = tensors[0]!;
  const a = axis < 0 ? axis + first.ndim + 1 : axis;
  const shape = [...first.shape];
  shape.splice(a, 0, 1);
  return concat(
    tensors.map((t) => {
      if (!shapesEqual(t.shape, first.shape)) {
        throw new Error(`stack: ${formatShape(t.shape)} differs from ${formatShape(first.shape)}`);
      }
      return reshape(t, shape);
    }),
    a,
  );
}

/** Splits along an axis into `sections` equal parts or parts of the given sizes. */
export function split(x: Tensor, sections: number | readonly number[], axis = 0): Tensor[] {
  const a = normalizeAxis(axis, x.ndim, 'split');
  const len = x.shape[a]!;
  let sizes: number[];
  if (typeof sections === 'number') {
    if (len % sections !== 0)
      throw new Error(`split: axis of ${len} does not divide into ${sections}`);
    sizes = new Array(sections).fill(len / sections);
  } else {
    sizes = [...sections];
    if (sizes.reduce((s, v) => s + v, 0) !== len) {
      throw new Error(`split: sizes [${sizes}] do not add up to ${len}`);
    }
  }
  let start = 0;
  return sizes.map((s) => {
    const part = narrow(x, a, start, s);
    start += s;
    return part;
  });
}

/** Removes axes of size 1 (all of them, or the one given). */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const a = normalizeAxis(axis, x.ndim, 'squeeze');
  if (x.shape[a] !== 1)
    throw new Error(`squeeze: axis ${axis} of ${formatShape(x.shape)} is not 1`);
  return reshape(
    x,
    x.shape.filter((_, i) => i !== a),
  );
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.ndim + 1 : axis;
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}
