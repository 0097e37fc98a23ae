import { record } from '../autograd/record';
import { getBackend } from '../kernels/registry';
import { normalizeAxis } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';
import { exp, mul, sub } from './arithmetic';
import { transpose } from './movement';
import { sum } from './reduction';

function rowwise(x: Tensor, axis: number, log: boolean): Tensor {
  const a = normalizeAxis(axis, x.ndim, log ? 'logSoftmax' : 'softmax');
  if (a !== x.ndim - 1) return transpose(rowwise(transpose(x, a, -1), -1, log), a, -1);
  const cols = x.shape[a]!;
  const rows = x.size / cols;
  const be = getBackend();
  const out = new Tensor(be.softmax(x.kernelData(be), rows, cols, log), x.shape);
  return record(out, log ? 'logSoftmax' : 'softmax', [x], (g) => {
    if (log) return [sub(g, mul(exp(out), sum(g, -1, true)))];
    return [mul(out, sub(g, sum(mul(g, out), -1, true)))];
  });
}

/** Numerically stable softmax along `axis` (default: last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return rowwise(x, axis, false);
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return rowwise(x, axis, true);
}
