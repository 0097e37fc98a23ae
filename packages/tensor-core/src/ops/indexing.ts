import { record } from '../autograd/record';
import { releaseKernelData } from '../kernels/backend';
import { getBackend } from '../kernels/registry';
import { broadcastShapes, normalizeAxis, sizeOf } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';
import { mul, sub } from './arithmetic';
import { sumToShape } from './broadcast';
import { toIndices } from './creation';
import { reshape } from './movement';

/** Entries `indices` of `axis` (torch.index_select). */
export function indexSelect(x: Tensor, axis: number, indices: Tensor | ArrayLike<number>): Tensor {
  const a = normalizeAxis(axis, x.ndim, 'indexSelect');
  const len = x.shape[a]!;
  const idx = toIndices(indices, len, 'indexSelect');
  const outer = sizeOf(x.shape.slice(0, a));
  const inner = sizeOf(x.shape.slice(a + 1));
  const shape = [...x.shape];
  shape[a] = idx.length;
  const be = getBackend();
  const out = new Tensor(be.indexSelect(x.kernelData(be), outer, len, inner, idx), shape);
  return record(out, 'indexSelect', [x], (g) => {
    const gb = getBackend();
    return [new Tensor(gb.indexAdd(g.kernelData(gb), outer, len, inner, idx), x.shape)];
  });
}

/**
 * Embedding lookup: rows of `table` ([num, dim]) for each index; the result has the
 * indices' shape followed by dim.
 */
export function gather(
  table: Tensor,
  indices: Tensor | ArrayLike<number>,
  indexShape?: readonly number[],
): Tensor {
  if (table.ndim !== 2) throw new Error(`gather: table must be [num, dim], got [${table.shape}]`);
  const shape = indexShape ?? (indices instanceof Tensor ? indices.shape : [indices.length]);
  return reshape(indexSelect(table, 0, indices), [...shape, table.shape[1]!]);
}

/** cond ? a : b elementwise, with broadcasting; cond is non-zero for true. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const outShape = broadcastShapes(broadcastShapes(cond.shape, a.shape, 'where'), b.shape, 'where');
  const be = getBackend();
  const data = be.where(
    cond.kernelData(be),
    cond.shape,
    a.kernelData(be),
    a.shape,
    b.kernelData(be),
    b.shape,
    outShape,
  );
  const out = new Tensor(data, outShape);
  return record(out, 'where', [a, b], (g) => {
    // |sign(cond)|: 1 where cond selects a, computed where cond is.
    const gb = getBackend();
    const sign = gb.unary('sign', cond.kernelData(gb));
    const c = new Tensor(gb.unary('abs', sign), cond.shape);
    releaseKernelData(sign);
    return [
      a.requiresGrad ? sumToShape(mul(g, c), a.shape) : null,
      b.requiresGrad ? sumToShape(mul(g, sub(1, c)), b.shape) : null,
    ];
  });
}
