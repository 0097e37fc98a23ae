import type { KernelData, ReduceOp } from '../backend';
import { EXACT_INDEX_LIMIT, view } from './context';
import { KernelPlan, type PlanArg, type StepOutput, singleLaunch } from './plan';

const REDUCE_BODY: Record<ReduceOp, string> = {
  // Two interleaved partial sums, as in the js backend, to keep float32 rounding low.
  sum: `let acc = 0;
    let acc2 = 0;
    for (let j = 0; j < pairs; j++) {
      acc += a[this.thread.y][2 * j][this.thread.x];
      acc2 += a[this.thread.y][2 * j + 1][this.thread.x];
    }
    if (len > 2 * pairs) { acc += a[this.thread.y][len - 1][this.thread.x]; }
    return acc + acc2;`,
  // A NaN anywhere wins, as in the js backend.
  max: `let acc = a[this.thread.y][0][this.thread.x];
    for (let j = 1; j < len; j++) {
      const v = a[this.thread.y][j][this.thread.x];
      if (v > acc || v !== v) { acc = v; }
    }
    return acc;`,
  min: `let acc = a[this.thread.y][0][this.thread.x];
    for (let j = 1; j < len; j++) {
      const v = a[this.thread.y][j][this.thread.x];
      if (v < acc || v !== v) { acc = v; }
    }
    return acc;`,
};

function fits(...extents: number[]): boolean {
  return extents.every((e) => e < EXACT_INDEX_LIMIT);
}

/** Reduces the middle axis of [outer, len, inner]: one thread per (outer, inner) cell. */
export function reduce(
  op: ReduceOp,
  a: KernelData,
  outer: number,
  len: number,
  inner: number,
): KernelPlan | null {
  if (outer * inner === 0 || len === 0 || !fits(outer, len, inner)) return null;
  return singleLaunch(
    `reduce:${op}`,
    () => `function reduce_${op}(a, len, pairs) {\n${REDUCE_BODY[op]}\n}`,
    [inner, outer],
    view(a, inner, len, outer),
    len,
    Math.floor(len / 2),
  );
}

/** Index of the first maximum along the middle axis of [outer, len, inner]. */
export function argmax(
  a: KernelData,
  outer: number,
  len: number,
  inner: number,
): KernelPlan | null {
  if (outer * inner === 0 || len === 0 || !fits(outer, len, inner)) return null;
  return singleLaunch(
    'argmax',
    () => `function argmax(a, len) {
      let best = a[this.thread.y][0][this.thread.x];
      let arg = 0;
      for (let j = 1; j < len; j++) {
        const v = a[this.thread.y][j][this.thread.x];
        if (v > best) {
          best = v;
          arg = j;
        }
      }
      return arg;
    }`,
    [inner, outer],
    view(a, inner, len, outer),
    len,
  );
}

/** Per-row maximum of a [cols, rows] kernel argument (−∞ for an all −∞ row). */
export function rowMax(plan: KernelPlan, a: PlanArg, rows: number, cols: number): StepOutput {
  return plan.launch(
    'rowMax',
    () => `function rowMax(a, cols, negInf) {
      let m = negInf;
      for (let c = 0; c < cols; c++) {
        const v = a[this.thread.x][c];
        if (v > m || v != v) { m = v; }
      }
      return m;
    }`,
    [rows],
    a,
    cols,
    Number.NEGATIVE_INFINITY,
  );
}

/**
 * Per-row Σ exp(a − max), with a row whose max is −∞ summing to 0 (it attends to
 * nothing), so every caller can tell "all masked" from "normal".
 */
export function rowSumExp(
  plan: KernelPlan,
  a: PlanArg,
  max: StepOutput,
  rows: number,
  cols: number,
): StepOutput {
  return plan.launch(
    'rowSumExp',
    () => `function rowSumExp(a, max, cols, negInf) {
      const m = max[this.thread.x];
      if (m === negInf) { return 0; }
      let s = 0;
      for (let c = 0; c < cols; c++) {
        s += Math.exp(a[this.thread.x][c] - m);
      }
      return s;
    }`,
    [rows],
    a,
    max,
    cols,
    Number.NEGATIVE_INFINITY,
  );
}

/** Row softmax / log-softmax: row max, row Σ exp, then one thread per cell. */
export function softmax(
  a: KernelData,
  rows: number,
  cols: number,
  log: boolean,
): KernelPlan | null {
  if (rows * cols === 0 || !fits(rows, cols)) return null;
  const plan = new KernelPlan();
  const x = view(a, cols, rows);
  const max = rowMax(plan, x, rows, cols);
  const sum = rowSumExp(plan, x, max, rows, cols);
  // The js backend shifts an all −∞ row by 0 instead of −∞; mirror it (the result is NaN either way).
  const out = log
    ? plan.launch(
        'logSoftmax',
        () => `function logSoftmax(a, max, sum, negInf) {
          let m = max[this.thread.y];
          if (m === negInf) { m = 0; }
          return a[this.thread.y][this.thread.x] - m - Math.log(sum[this.thread.y]);
        }`,
        [cols, rows],
        x,
        max,
        sum,
        Number.NEGATIVE_INFINITY,
      )
    : plan.launch(
        'softmax',
        () => `function softmax(a, max, sum, negInf) {
          let m = max[this.thread.y];
          if (m === negInf) { m = 0; }
          return Math.exp(a[this.thread.y][this.thread.x] - m) / sum[this.thread.y];
        }`,
        [cols, rows],
        x,
        max,
        sum,
        Number.NEGATIVE_INFINITY,
      );
  return plan.returns(out);
}
