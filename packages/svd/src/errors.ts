/** An input matrix holds NaN or ±Infinity; names the matrix and the first offending entry. */
export class NonFiniteInputError extends Error {
  override readonly name = 'NonFiniteInputError';

  constructor(
    readonly matrixName: string,
    readonly row: number,
    readonly col: number,
    readonly value: number,
    readonly rows: number,
    readonly cols: number,
  ) {
    super(
      `svd: matrix "${matrixName}" (${rows}×${cols}) has a non-finite entry ${value} at [${row}, ${col}]`,
    );
  }
}

/**
 * The iterative part of the decomposition ran out of iterations. Raised instead of returning
 * factors that do not reconstruct the input.
 */
export class SvdConvergenceError extends Error {
  override readonly name = 'SvdConvergenceError';

  constructor(
    readonly matrixName: string,
    /** Which iteration gave up: the bidiagonal QR sweeps or a divide-and-conquer secular root. */
    readonly stage: 'bidiagonal QR' | 'secular equation',
    readonly iterations: number,
    readonly maxIterations: number,
    /** Superdiagonal entries (QR) or roots (secular equation) left unconverged. */
    readonly unconverged: number,
  ) {
    super(
      `svd: "${matrixName}" did not converge: ${stage} stopped after ${iterations} iterations ` +
        `(limit ${maxIterations}) with ${unconverged} ${stage === 'bidiagonal QR' ? 'superdiagonal entries' : 'roots'} left`,
    );
  }
}
