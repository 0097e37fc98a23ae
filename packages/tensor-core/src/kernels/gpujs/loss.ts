import type { KernelData } from '../backend';
import { EXACT_INDEX_LIMIT, view } from './context';
import { KernelPlan } from './plan';
import { rowMax, rowSumExp } from './reduce';

/** Targets as float32 for the kernels (class ids are far below 2^24). */
function targetValues(targets: Int32Array): Float32Array {
  return Float32Array.from(targets);
}

function fits(rows: number, cols: number): boolean {
  return rows > 0 && cols > 0 && rows < EXACT_INDEX_LIMIT && cols < EXACT_INDEX_LIMIT;
}

/** Per-row −log softmax(logits)[target] = max + log Σ exp(x − max) − x[target]. */
export function crossEntropy(
  logits: KernelData,
  targets: Int32Array,
  rows: number,
  cols: number,
  ignoreIndex: number,
): KernelPlan | null {
  if (!fits(rows, cols)) return null;
  const plan = new KernelPlan();
  const x = view(logits, cols, rows);
  const max = rowMax(plan, x, rows, cols);
  const sum = rowSumExp(plan, x, max, rows, cols);
  const loss = plan.launch(
    'crossEntropy',
    () => `function crossEntropy(x, max, sum, targets, ignoreIndex) {
      const t = targets[this.thread.x];
      if (t === ignoreIndex) { return 0; }
      return max[this.thread.x] + Math.log(sum[this.thread.x]) - x[this.thread.x][t];
    }`,
    [rows],
    x,
    max,
    sum,
    targetValues(targets),
    ignoreIndex,
  );
  return plan.returns(loss);
}

/** d loss / d logits = (softmax − onehot(target)) · rowGrad, zero on ignored rows. */
export function crossEntropyBackward(
  logits: KernelData,
  targets: Int32Array,
  rows: number,
  cols: number,
  ignoreIndex: number,
  rowGrad: KernelData,
): KernelPlan | null {
  if (!fits(rows, cols)) return null;
  const plan = new KernelPlan();
  const x = view(logits, cols, rows);
  const max = rowMax(plan, x, rows, cols);
  const sum = rowSumExp(plan, x, max, rows, cols);
  const grad = plan.launch(
    'crossEntropyGrad',
    () => `function crossEntropyGrad(x, max, sum, targets, rowGrad, ignoreIndex) {
      const r = this.thread.y;
      const t = targets[r];
      const g = rowGrad[r];
      if (t === ignoreIndex || g === 0) { return 0; }
      const p = Math.exp(x[r][this.thread.x] - max[r]) * (g / sum[r]);
      if (this.thread.x === t) { return p - g; }
      return p;
    }`,
    [cols, rows],
    x,
    max,
    sum,
    targetValues(targets),
    rowGrad,
    ignoreIndex,
  );
  return plan.returns(grad);
}
