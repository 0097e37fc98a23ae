import type { AttentionParams, KernelData } from '../backend';
import { EXACT_INDEX_LIMIT, view } from './context';
import { KernelPlan, type PlanArg, type StepOutput } from './plan';
import { rowMax, rowSumExp } from './reduce';

/**
 * Attention as a few one-thread-per-cell kernels over "rows" = (batch, head, query),
 * row r = (b·heads + h)·tq + i. A row's key/value head is kvz = b·kvHeads + ⌊h / group⌋
 * (grouped-query attention); these lines recover b, h, i and kvz from a row index.
 * ⌊(r + ½) / d⌋ is ⌊r / d⌋ for integers, and stays right where a GPU's float division
 * returns 2.9999… for 9 / 3.
 */
const ROW_COORDS = `
  const bh = Math.floor((row + 0.5) / tq);
  const i = row - bh * tq;
  const b = Math.floor((bh + 0.5) / heads);
  const h = bh - b * heads;
  const kvz = b * kvHeads + Math.floor((h + 0.5) / group);`;

function fits(p: AttentionParams): boolean {
  const rows = p.batch * p.heads * p.tq;
  return (
    rows < EXACT_INDEX_LIMIT / 2 &&
    p.tk < EXACT_INDEX_LIMIT &&
    p.batch * p.kvHeads < EXACT_INDEX_LIMIT
  );
}

/** Scaled scores S[row][j] (+ mask), −∞ where the causal limit hides key j. */
function scores(
  plan: KernelPlan,
  qv: PlanArg,
  kv: PlanArg,
  mask: KernelData | null,
  p: AttentionParams,
): StepOutput {
  const { batch, heads, kvHeads, tq, tk, dim, scale, causal, maskStrides } = p;
  const hasMask = mask !== null && maskStrides !== undefined;
  const key = `attnScores:${causal ? 'causal' : 'full'}:${hasMask ? 'mask' : 'nomask'}`;
  const tail = [tq, heads, kvHeads, heads / kvHeads, dim, scale, tk - tq, Number.NEGATIVE_INFINITY];
  const maskArgs = hasMask ? [mask, ...maskStrides] : [];
  return plan.launch(
    key,
    () => `function attnScores(q, k, ${hasMask ? 'mask, m0, m1, m2, m3, ' : ''}tq, heads, kvHeads, group, dim, scale, shift, negInf) {
      const row = this.thread.y;
      const j = this.thread.x;
      ${ROW_COORDS}
      ${causal ? 'if (j > i + shift) { return negInf; }' : ''}
      let s = 0;
      for (let d = 0; d < dim; d++) {
        s += q[row][d] * k[kvz][j][d];
      }
      s = s * scale;
      ${hasMask ? 's += mask[b * m0 + h * m1 + i * m2 + j * m3];' : ''}
      return s;
    }`,
    [tk, batch * heads * tq],
    qv,
    kv,
    ...maskArgs,
    ...tail,
  );
}

/** Forward attention; null when sizes need the js backend. */
export function attention(
  q: KernelData,
  k: KernelData,
  v: KernelData,
  mask: KernelData | null,
  p: AttentionParams,
): KernelPlan | null {
  const { batch, heads, kvHeads, tq, tk, dim } = p;
  const rows = batch * heads * tq;
  if (rows * tk * dim === 0 || !fits(p)) return null;
  // The mask is read through a flat index, which must stay exact in float32.
  if (mask && mask.length >= EXACT_INDEX_LIMIT) return null;
  const qv = view(q, dim, rows);
  const kv = view(k, dim, tk, batch * kvHeads);
  const vv = view(v, dim, tk, batch * kvHeads);
  const plan = new KernelPlan();
  const s = scores(plan, qv, kv, mask, p);
  const max = rowMax(plan, s, rows, tk);
  const sum = rowSumExp(plan, s, max, rows, tk);
  // A fully masked row (sum 0) attends to nothing and gets zeros rather than NaN; a NaN
  // score (rowMax keeps NaN) makes the sum NaN, which reaches every probability.
  const probs = plan.launch(
    'attnProbs',
    () => `function attnProbs(s, max, sum) {
      const total = sum[this.thread.y];
      if (total > 0) {
        return Math.exp(s[this.thread.y][this.thread.x] - max[this.thread.y]) / total;
      }
      if (total == 0) {
        return 0;
      }
      return total;
    }`,
    [tk, rows],
    s,
    max,
    sum,
  );
  const out = plan.launch(
    'attnOut',
    () => `function attnOut(probs, v, tq, heads, kvHeads, group, tk) {
      const row = this.thread.y;
      ${ROW_COORDS}
      let acc = 0;
      for (let j = 0; j < tk; j++) {
        acc += probs[row][j] * v[kvz][j][this.thread.x];
      }
      return acc;
    }`,
    [dim, rows],
    probs,
    vv,
    tq,
    heads,
    kvHeads,
    heads / kvHeads,
    tk,
  );
  return plan.returns(out, probs);
}

/**
 * dP = dO · Vᵀ, rowDot = Σ_j P ⊙ dP, dS = P ⊙ (dP − rowDot) · scale;
 * dQ = dS · K, dK = Σ_(heads in group) dSᵀ · Q, dV = Σ_(heads in group) Pᵀ · dO.
 * dS is recomputed inside the dQ/dK kernels rather than stored.
 */
export function attentionBackward(
  dOut: KernelData,
  q: KernelData,
  k: KernelData,
  v: KernelData,
  probs: KernelData,
  p: AttentionParams,
): KernelPlan | null {
  const { batch, heads, kvHeads, tq, tk, dim, scale } = p;
  const rows = batch * heads * tq;
  if (rows * tk * dim === 0 || !fits(p)) return null;
  const group = heads / kvHeads;
  const qv = view(q, dim, rows);
  const kv = view(k, dim, tk, batch * kvHeads);
  const vv = view(v, dim, tk, batch * kvHeads);
  const dov = view(dOut, dim, rows);
  const pv = view(probs, tk, rows);
  const plan = new KernelPlan();

  const dP = plan.launch(
    'attnGradP',
    () => `function attnGradP(dO, v, tq, heads, kvHeads, group, dim) {
      const row = this.thread.y;
      ${ROW_COORDS}
      let acc = 0;
      for (let d = 0; d < dim; d++) {
        acc += dO[row][d] * v[kvz][this.thread.x][d];
      }
      return acc;
    }`,
    [tk, rows],
    dov,
    vv,
    tq,
    heads,
    kvHeads,
    group,
    dim,
  );

  const rowDot = plan.launch(
    'attnGradRowDot',
    () => `function attnGradRowDot(probs, dP, tk) {
      let acc = 0;
      for (let j = 0; j < tk; j++) {
        acc += probs[this.thread.x][j] * dP[this.thread.x][j];
      }
      return acc;
    }`,
    [rows],
    pv,
    dP,
    tk,
  );

  const dq = plan.launch(
    'attnGradQ',
    () => `function attnGradQ(probs, dP, rowDot, k, tq, heads, kvHeads, group, tk, scale) {
      const row = this.thread.y;
      ${ROW_COORDS}
      const rd = rowDot[row];
      let acc = 0;
      for (let j = 0; j < tk; j++) {
        acc += probs[row][j] * (dP[row][j] - rd) * k[kvz][j][this.thread.x];
      }
      return acc * scale;
    }`,
    [dim, rows],
    pv,
    dP,
    rowDot,
    kv,
    tq,
    heads,
    kvHeads,
    group,
    tk,
    scale,
  );

  // dK and dV: one thread per (kv row, key j, d), summing over the group's heads and queries.
  const KV_COORDS = `
      const z = this.thread.z;
      const b = Math.floor((z + 0.5) / kvHeads);
      const kvh = z - b * kvHeads;
      const j = this.thread.y;`;
  const dk = plan.launch(
    'attnGradK',
    () => `function attnGradK(probs, dP, rowDot, q, tq, heads, kvHeads, group, scale) {
      ${KV_COORDS}
      let acc = 0;
      for (let g = 0; g < group; g++) {
        const base = (b * heads + kvh * group + g) * tq;
        for (let i = 0; i < tq; i++) {
          const row = base + i;
          acc += probs[row][j] * (dP[row][j] - rowDot[row]) * q[row][this.thread.x];
        }
      }
      return acc * scale;
    }`,
    [dim, tk, batch * kvHeads],
    pv,
    dP,
    rowDot,
    qv,
    tq,
    heads,
    kvHeads,
    group,
    scale,
  );

  const dv = plan.launch(
    'attnGradV',
    () => `function attnGradV(probs, dO, tq, heads, kvHeads, group) {
      ${KV_COORDS}
      let acc = 0;
      for (let g = 0; g < group; g++) {
        const base = (b * heads + kvh * group + g) * tq;
        for (let i = 0; i < tq; i++) {
          const row = base + i;
          acc += probs[row][j] * dO[row][this.thread.x];
        }
      }
      return acc;
    }`,
    [dim, tk, batch * kvHeads],
    pv,
    dov,
    tq,
    heads,
    kvHeads,
    group,
  );
  return plan.returns(dq, dk, dv);
}
