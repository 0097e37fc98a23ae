import { record } from '../autograd/record';
import { getBackend } from '../kernels/registry';
import { normalizeAxes, sizeOf } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';
import { div, equal, mul } from './arithmetic';
import { reduceKeep } from './broadcast';
import { expand, reshape } from './movement';

function dropAxes(shape: readonly number[], axes: number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

export function sum(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const ax = normalizeAxes(axes, x.ndim, 'sum');
  const kept = reduceKeep('sum', x, ax);
  const out = keepdims ? kept : kept.view(dropAxes(x.shape, ax));
  return record(out, 'sum', [x], (g) => [expand(reshape(g, kept.shape), x.shape)]);
}

export function mean(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const ax = normalizeAxes(axes, x.ndim, 'mean');
  const count = ax.reduce((n, a) => n * x.shape[a]!, 1);
  return div(sum(x, ax, keepdims), count);
}

function extremum(
  op: 'max' | 'min',
  x: Tensor,
  axes?: number | readonly number[],
  keepdims = false,
): Tensor {
  const ax = normalizeAxes(axes, x.ndim, op);
  const kept = reduceKeep(op, x, ax);
  const out = keepdims ? kept : kept.view(dropAxes(x.shape, ax));
  return record(out, op, [x], (g) => {
    // Ties share the gradient equally.
    const mask = equal(x, kept);
    const count = reduceKeep('sum', mask, ax);
    return [mul(expand(reshape(g, kept.shape), x.shape), div(mask, count))];
  });
}

export function max(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  return extremum('max', x, axes, keepdims);
}

export function min(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  return extremum('min', x, axes, keepdims);
}

/** Index of the first maximum along `axis` (as float32 values). */
export function argmax(x: Tensor, axis = -1, keepdims = false): Tensor {
  const [a] = normalizeAxes(axis, x.ndim, 'argmax');
  const outer = sizeOf(x.shape.slice(0, a));
  const inner = sizeOf(x.shape.slice(a! + 1));
  const be = getBackend();
  const data = be.argmax(x.kernelData(be), outer, x.shape[a!]!, inner);
  const shape = [...x.shape];
  shape[a!] = 1;
  return new Tensor(data, keepdims ? shape : dropAxes(x.shape, [a!]));
}
