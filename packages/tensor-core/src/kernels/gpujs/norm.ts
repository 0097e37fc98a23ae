import type { KernelData } from '../backend';
import { EXACT_INDEX_LIMIT, view } from './context';
import { KernelPlan, type PlanArg, type StepOutput } from './plan';

/** Per-row 1 / sqrt(mean(x²) + eps) of a [cols, rows] argument. */
function rowInvRms(
  plan: KernelPlan,
  x: PlanArg,
  rows: number,
  cols: number,
  eps: number,
): StepOutput {
  return plan.launch(
    'rowInvRms',
    () => `function rowInvRms(x, cols, eps) {
      let ss = 0;
      for (let c = 0; c < cols; c++) {
        const v = x[this.thread.x][c];
        ss += v * v;
      }
      return 1 / Math.sqrt(ss / cols + eps);
    }`,
    [rows],
    x,
    cols,
    eps,
  );
}

/** y = x · inv_rms(row) · w: a row statistic, then one thread per cell. */
export function rmsNorm(
  x: KernelData,
  w: KernelData,
  rows: number,
  cols: number,
  eps: number,
): KernelPlan | null {
  if (rows * cols === 0 || rows >= EXACT_INDEX_LIMIT || cols >= EXACT_INDEX_LIMIT) return null;
  const plan = new KernelPlan();
  const xv = view(x, cols, rows);
  const inv = rowInvRms(plan, xv, rows, cols, eps);
  const y = plan.launch(
    'rmsNorm',
    () => `function rmsNorm(x, inv, w) {
      return x[this.thread.y][this.thread.x] * inv[this.thread.y] * w[this.thread.x];
    }`,
    [cols, rows],
    xv,
    inv,
    w,
  );
  return plan.returns(y);
}

/**
 * With x̂ = x·inv and g = dy·w: dx = inv · (g − x̂ · mean(g · x̂)), dw = Σ_rows dy · x̂.
 * Row statistics first, then dx per cell and dw per column.
 */
export function rmsNormBackward(
  dy: KernelData,
  x: KernelData,
  w: KernelData,
  rows: number,
  cols: number,
  eps: number,
): KernelPlan | null {
  if (rows * cols === 0 || rows >= EXACT_INDEX_LIMIT || cols >= EXACT_INDEX_LIMIT) return null;
  const plan = new KernelPlan();
  const xv = view(x, cols, rows);
  const dyv = view(dy, cols, rows);
  const inv = rowInvRms(plan, xv, rows, cols, eps);
  const dot = plan.launch(
    'rmsNormGradDot',
    () => `function rmsNormGradDot(dy, x, w, inv, cols) {
      const r = inv[this.thread.x];
      let dot = 0;
      for (let c = 0; c < cols; c++) {
        dot += dy[this.thread.x][c] * w[c] * (x[this.thread.x][c] * r);
      }
      return dot / cols;
    }`,
    [rows],
    dyv,
    xv,
    w,
    inv,
    cols,
  );
  const dx = plan.launch(
    'rmsNormGradX',
    () => `function rmsNormGradX(dy, x, w, inv, dot) {
      const r = inv[this.thread.y];
      const xhat = x[this.thread.y][this.thread.x] * r;
      return r * (dy[this.thread.y][this.thread.x] * w[this.thread.x] - xhat * dot[this.thread.y]);
    }`,
    [cols, rows],
    dyv,
    xv,
    w,
    inv,
    dot,
  );
  const dw = plan.launch(
    'rmsNormGradW',
    () => `function rmsNormGradW(dy, x, inv, rows) {
      let acc = 0;
      for (let r = 0; r < rows; r++) {
        acc += dy[r][this.thread.x] * (x[r][this.thread.x] * inv[r]);
      }
      return acc;
    }`,
    [cols],
    dyv,
    xv,
    inv,
    rows,
  );
  return plan.returns(dx, dw);
}
