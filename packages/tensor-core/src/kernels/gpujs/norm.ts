import { EXACT_INDEX_LIMIT, type GpuJsContext, type KernelArg, view } from './context';

/** Per-row 1 / sqrt(mean(x²) + eps) of a [cols, rows] argument. */
function rowInvRms(
  ctx: GpuJsContext,
  x: KernelArg,
  rows: number,
  cols: number,
  eps: number,
): KernelArg {
  const k = ctx.kernel(
    'rowInvRms',
    () => `function rowInvRms(x, cols, eps) {
      let ss = 0;
      for (let c = 0; c < cols; c++) {
        const v = x[this.thread.x][c];
        ss += v * v;
      }
      return 1 / Math.sqrt(ss / cols + eps);
    }`,
    { intermediate: true },
  );
  return k.runIntermediate([rows], x, cols, eps);
}

/** y = x · inv_rms(row) · w: a row statistic, then one thread per cell. */
export function rmsNorm(
  ctx: GpuJsContext,
  x: Float32Array,
  w: Float32Array,
  rows: number,
  cols: number,
  eps: number,
): Float32Array | null {
  if (rows * cols === 0 || rows >= EXACT_INDEX_LIMIT || cols >= EXACT_INDEX_LIMIT) return null;
  const xv = view(x, cols, rows);
  const inv = rowInvRms(ctx, xv, rows, cols, eps);
  const k = ctx.kernel(
    'rmsNorm',
    () => `function rmsNorm(x, inv, w) {
      return x[this.thread.y][this.thread.x] * inv[this.thread.y] * w[this.thread.x];
    }`,
  );
  return k.run([cols, rows], xv, inv, w);
}

/**
 * With x̂ = x·inv and g = dy·w: dx = inv · (g − x̂ · mean(g · x̂)), dw = Σ_rows dy · x̂.
 * Row statistics first, then dx per cell and dw per column.
 */
export function rmsNormBackward(
  ctx: GpuJsContext,
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  rows: number,
  cols: number,
  eps: number,
): [Float32Array, Float32Array] | null {
  if (rows * cols === 0 || rows >= EXACT_INDEX_LIMIT || cols >= EXACT_INDEX_LIMIT) return null;
  const xv = view(x, cols, rows);
  const dyv = view(dy, cols, rows);
  const inv = rowInvRms(ctx, xv, rows, cols, eps);
  const meanKernel = ctx.kernel(
    'rmsNormGradDot',
    () => `function rmsNormGradDot(dy, x, w, inv, cols) {
      const r = inv[this.thread.x];
      let dot = 0;
      for (let c = 0; c < cols; c++) {
        dot += dy[this.thread.x][c] * w[c] * (x[this.thread.x][c] * r);
      }
      return dot / cols;
    }`,
    { intermediate: true },
  );
  const dot = meanKernel.runIntermediate([rows], dyv, xv, w, inv, cols);
  const dxKernel = ctx.kernel(
    'rmsNormGradX',
    () => `function rmsNormGradX(dy, x, w, inv, dot) {
      const r = inv[this.thread.y];
      const xhat = x[this.thread.y][this.thread.x] * r;
      return r * (dy[this.thread.y][this.thread.x] * w[this.thread.x] - xhat * dot[this.thread.y]);
    }`,
  );
  const dx = dxKernel.run([cols, rows], dyv, xv, w, inv, dot);
  const dwKernel = ctx.kernel(
    'rmsNormGradW',
    () => `function rmsNormGradW(dy, x, inv, rows) {
      let acc = 0;
      for (let r = 0; r < rows; r++) {
        acc += dy[r][this.thread.x] * (x[r][this.thread.x] * inv[r]);
      }
      return acc;
    }`,
  );
  const dw = dwKernel.run([cols], dyv, xv, inv, rows);
  return [dx, dw];
}
