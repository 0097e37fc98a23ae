import type { KernelData, MatmulParams } from '../backend';
import { EXACT_INDEX_LIMIT, view } from './context';
import { type KernelPlan, singleLaunch } from './plan';

/**
 * One thread per output cell C[batch][i][j] = Σ_t A[i][t] · B[t][j]. The transposes and
 * whether each operand is batched (stride m·k) or shared (stride 0) are baked into the
 * source, so there are at most 16 compiled variants; the sizes are arguments. With no
 * batched operand the operands are read as 2-D, which saves an index term per load.
 */
function matmulSource(
  name: string,
  transA: boolean,
  transB: boolean,
  batchedA: boolean,
  batchedB: boolean,
): string {
  const batched = batchedA || batchedB;
  const za = batched ? `[${batchedA ? 'this.thread.z' : '0'}]` : '';
  const zb = batched ? `[${batchedB ? 'this.thread.z' : '0'}]` : '';
  const aAt = transA ? `a${za}[t][this.thread.y]` : `a${za}[this.thread.y][t]`;
  const bAt = transB ? `b${zb}[this.thread.x][t]` : `b${zb}[t][this.thread.x]`;
  return `function ${name}(a, b, k) {
    let sum = 0;
    for (let t = 0; t < k; t++) {
      sum += ${aAt} * ${bAt};
    }
    return sum;
  }`;
}

/** Batched matmul; null when the strides or sizes need the js backend. */
export function matmul(a: KernelData, b: KernelData, p: MatmulParams): KernelPlan | null {
  let { batch, m } = p;
  const { k, n, transA, transB, aBatchStride, bBatchStride } = p;
  if (batch * m * n === 0 || k === 0) return null;
  let batchedA = aBatchStride !== 0 && batch > 1;
  const batchedB = bBatchStride !== 0 && batch > 1;
  // Other strides (partial overlap) never come from the ops; leave them to the reference.
  if ((batchedA && aBatchStride !== m * k) || (batchedB && bBatchStride !== k * n)) return null;
  // x·Wᵀ over [batch, m, k] with one shared W is a single (batch·m)-row product.
  if (batchedA && !batchedB && !transA) {
    m *= batch;
    batch = 1;
    batchedA = false;
  }
  if (Math.max(m, k, n) >= EXACT_INDEX_LIMIT) return null;
  const aBatch = batchedA ? batch : 1;
  const bBatch = batchedB ? batch : 1;
  const flags = `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}${batchedA ? 'b' : 's'}${batchedB ? 'b' : 's'}`;
  const av = transA ? view(a, m, k, aBatch) : view(a, k, m, aBatch);
  const bv = transB ? view(b, k, n, bBatch) : view(b, n, k, bBatch);
  return singleLaunch(
    `matmul:${flags}`,
    () => matmulSource(`matmul_${flags}`, transA, transB, batchedA, batchedB),
    batch > 1 ? [n, m, batch] : [n, m],
    av,
    bv,
    k,
  );
}
