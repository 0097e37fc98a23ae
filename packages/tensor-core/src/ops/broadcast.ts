// Broadcasting and its gradient, below the other ops (tfjs's broadcast_util plays this part):
// arithmetic, movement and reduction all need "sum a broadcast gradient back", and importing it
// from one another made an import circle.
import { record } from '../autograd/record';
import { type ReduceOp, releaseKernelData } from '../kernels/backend';
import { getBackend } from '../kernels/registry';
import { formatShape, type Shape, shapesEqual, sizeOf } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';

/** Reduces each axis in turn as the middle of [outer, len, inner]; keeps dims of size 1. */
export function reduceKeep(op: ReduceOp, x: Tensor, axes: readonly number[]): Tensor {
  if (axes.length === 0) return new Tensor(Float32Array.from(x.data), x.shape);
  const be = getBackend();
  const input = x.kernelData(be);
  let data = input;
  const shape = [...x.shape];
  for (const axis of axes) {
    const outer = sizeOf(shape.slice(0, axis));
    const inner = sizeOf(shape.slice(axis + 1));
    const next = be.reduce(op, data, outer, shape[axis]!, inner);
    if (data !== input) releaseKernelData(data);
    data = next;
    shape[axis] = 1;
  }
  return new Tensor(data, shape);
}

/** Sums a broadcast gradient back to the shape of the input it came from. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length ? reduceKeep('sum', g, axes) : g;
  const out = summed.view([...shape]);
  return record(out, 'sumToShape', [g], (dy) => [broadcastTo(dy, g.shape)]);
}

/** Broadcasts to `shape` (NumPy rules), copying; `expand` in movement is this op. */
export function broadcastTo(x: Tensor, shape: Shape, name = 'expand'): Tensor {
  if (shapesEqual(x.shape, shape)) return x;
  const n = shape.length;
  if (x.ndim > n || x.shape.some((d, i) => d !== 1 && d !== shape[n - x.ndim + i])) {
    throw new Error(`${name}: ${formatShape(x.shape)} cannot broadcast to ${formatShape(shape)}`);
  }
  const zero = new Float32Array(1);
  const be = getBackend();
  const out = new Tensor(be.binary('add', x.kernelData(be), x.shape, zero, [], shape), shape);
  return record(out, 'expand', [x], (g) => [sumToShape(g, x.shape)]);
}
