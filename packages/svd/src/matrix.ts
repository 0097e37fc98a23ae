import { NonFiniteInputError } from './errors';

/**
 * A row-major matrix. A `@t2/tensor-core` Tensor (`shape`, `data`) fits the first form, so this
 * package reads tensors without depending on tensor-core.
 */
export type MatrixLike =
  | { readonly shape: readonly number[]; readonly data: ArrayLike<number> }
  | { readonly rows: number; readonly cols: number; readonly data: ArrayLike<number> };

/** A float64 copy of the input with its shape. */
export interface DenseMatrix {
  data: Float64Array;
  rows: number;
  cols: number;
  /** Largest absolute entry, used to rescale matrices whose squares would under- or overflow. */
  maxAbs: number;
}

export function matrixShape(a: MatrixLike, name: string): { rows: number; cols: number } {
  let rows: number;
  let cols: number;
  if ('shape' in a && a.shape !== undefined) {
    if (a.shape.length !== 2) {
      throw new Error(`svd: matrix "${name}" must be 2-D, got shape [${a.shape.join(', ')}]`);
    }
    rows = a.shape[0]!;
    cols = a.shape[1]!;
  } else if ('rows' in a) {
    rows = a.rows;
    cols = a.cols;
  } else {
    throw new Error(`svd: matrix "${name}" needs either shape or rows/cols`);
  }
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new Error(`svd: matrix "${name}" has an invalid shape ${rows}×${cols}`);
  }
  if (a.data.length !== rows * cols) {
    throw new Error(
      `svd: matrix "${name}" is ${rows}×${cols} but its data has ${a.data.length} entries`,
    );
  }
  return { rows, cols };
}

/** The input's shape and largest absolute entry; rejects NaN/Infinity with the matrix's name. */
export function scanMatrix(
  a: MatrixLike,
  name: string,
): { rows: number; cols: number; data: ArrayLike<number>; maxAbs: number } {
  const { rows, cols } = matrixShape(a, name);
  const src = a.data;
  let maxAbs = 0;
  for (let i = 0; i < rows; i++) {
    const ro = i * cols;
    for (let j = 0; j < cols; j++) {
      const x = src[ro + j]!;
      const ax = Math.abs(x);
      // `ax > maxAbs` is false for NaN, so the finiteness test has to be separate.
      if (!(ax <= Number.MAX_VALUE)) throw new NonFiniteInputError(name, i, j, x, rows, cols);
      if (ax > maxAbs) maxAbs = ax;
    }
  }
  return { rows, cols, data: src, maxAbs };
}

/** Copies into float64 and rejects NaN/Infinity with the matrix's name. */
export function readMatrix(a: MatrixLike, name: string): DenseMatrix {
  const { rows, cols, data, maxAbs } = scanMatrix(a, name);
  const out = new Float64Array(rows * cols);
  copyInto(data, out);
  return { data: out, rows, cols, maxAbs };
}

/** out[i] = src[i] as float64 (typed arrays natively, anything else entry by entry). */
export function copyInto(src: ArrayLike<number>, out: Float64Array): void {
  if (src instanceof Float64Array || src instanceof Float32Array) out.set(src);
  else for (let i = 0; i < src.length; i++) out[i] = src[i]!;
}

/** Row-major transpose of an r×c matrix (into `out` when given). */
export function transpose(
  a: ArrayLike<number>,
  r: number,
  c: number,
  out: Float64Array = new Float64Array(r * c),
): Float64Array {
  const B = 32;
  for (let i0 = 0; i0 < r; i0 += B) {
    const i1 = Math.min(r, i0 + B);
    for (let j0 = 0; j0 < c; j0 += B) {
      const j1 = Math.min(c, j0 + B);
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < j1; j++) out[j * r + i] = a[i * c + j]!;
      }
    }
  }
  return out;
}
