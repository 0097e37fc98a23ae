import type { AttentionParams } from '../backend';
import { bufferPool } from '../buffer-pool';
import { splitRange } from './matmul';
import type { WasmRuntime } from './runtime';

/** Below this many multiply-adds of q·kᵀ and p·v, attention stays on one thread. */
const PARALLEL_MIN_MACS = 1e6;

/** Runs `kernel` over units [0, batch·kvHeads), chunked over the threads when large. */
function runUnits(
  rt: WasmRuntime,
  kernel: 'attentionForward' | 'attentionBackward',
  p: AttentionParams,
  args: number[],
  rangeIndex: number,
  wsBytes: number,
): void {
  const total = p.batch * p.kvHeads;
  const macs = 2 * p.batch * p.heads * p.tq * p.tk * p.dim;
  const fn = rt.ex[kernel] as (...v: number[]) => void;
  const workIndex = rangeIndex + 2;
  if (!rt.pool || rt.threads === 1 || total === 1 || macs < PARALLEL_MIN_MACS) {
    args[rangeIndex] = 0;
    args[rangeIndex + 1] = total;
    args[workIndex] = rt.alloc(wsBytes);
    fn(...args);
    return;
  }
  const chunks = splitRange(total, Math.min(total, 4 * rt.threads), 1);
  const work = Array.from({ length: rt.threads }, () => rt.alloc(wsBytes));
  rt.pool.run(kernel, { args, rangeIndex, chunks, workIndex, work }, (x) => fn(...x));
}

/**
 * Whether the forward pass keeps the probabilities for the gradient. It does with a
 * mask (attentionBackward is not given the mask, so it could not recompute them) and
 * when tk = 1 (where they would be as long as the row log-sum-exp); otherwise it
 * keeps the row log-sum-exp only, tk times smaller, and the backward pass
 * recomputes the probabilities from it (FlashAttention's trade).
 */
function keepsProbs(p: AttentionParams, hasMask: boolean): boolean {
  return hasMask || p.tk <= 1;
}

/**
 * Returns the output and what the gradient needs: the probabilities
 * [batch, heads, tq, tk] (as the js backend does) or, see keepsProbs, the row
 * log-sum-exp [batch, heads, tq]. attentionBackward of this backend accepts either.
 */
export function wasmAttention(
  rt: WasmRuntime,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  mask: Float32Array | null,
  p: AttentionParams,
): [Float32Array, Float32Array] {
  const { batch, heads, kvHeads, tq, tk, dim, scale, causal, maskStrides } = p;
  const hasMask = !!(mask && maskStrides);
  const withProbs = keepsProbs(p, hasMask);
  const out = bufferPool.acquire(batch * heads * tq * dim);
  const saved = bufferPool.acquire(batch * heads * tq * (withProbs ? tk : 1));
  rt.reset();
  const pq = rt.put(q);
  const pk = rt.put(k);
  const pv = rt.put(v);
  const pm = hasMask ? rt.put(mask!) : 0;
  const po = rt.alloc(out.length * 4);
  const ps = rt.alloc(saved.length * 4);
  const ms = hasMask ? maskStrides! : [0, 0, 0, 0];
  if (out.length > 0) {
    const args = [
      pq,
      pk,
      pv,
      pm,
      po,
      withProbs ? ps : 0,
      withProbs ? 0 : ps,
      heads,
      kvHeads,
      tq,
      tk,
      dim,
      scale,
      causal ? 1 : 0,
      hasMask ? 1 : 0,
      ms[0],
      ms[1],
      ms[2],
      ms[3],
      0,
      0,
      0,
    ];
    runUnits(rt, 'attentionForward', p, args, 19, rt.ex.attentionWorkspaceBytes(tk));
  }
  return [rt.read(po, out), rt.read(ps, saved)];
}

export function wasmAttentionBackward(
  rt: WasmRuntime,
  dOut: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  saved: Float32Array,
  p: AttentionParams,
): [Float32Array, Float32Array, Float32Array] {
  const { batch, heads, kvHeads, tq, tk, dim, scale, causal } = p;
  const rows = batch * heads * tq;
  let withProbs: boolean;
  if (saved.length === rows * tk) withProbs = true;
  else if (saved.length === rows) withProbs = false;
  else {
    throw new Error(
      `wasm attentionBackward: saved state has ${saved.length} values, expected probabilities (${rows * tk}) or row log-sum-exp (${rows})`,
    );
  }
  const dq = bufferPool.acquire(q.length);
  const dk = bufferPool.acquire(k.length);
  const dv = bufferPool.acquire(v.length);
  rt.reset();
  const pd = rt.put(dOut);
  const pq = rt.put(q);
  const pk = rt.put(k);
  const pv = rt.put(v);
  const ps = rt.put(saved);
  const pdq = rt.alloc(q.length * 4);
  const pdk = rt.alloc(k.length * 4);
  const pdv = rt.alloc(v.length * 4);
  if (q.length > 0 || k.length > 0) {
    const args = [
      pd,
      pq,
      pk,
      pv,
      withProbs ? ps : 0,
      withProbs ? 0 : ps,
      pdq,
      pdk,
      pdv,
      heads,
      kvHeads,
      tq,
      tk,
      dim,
      scale,
      causal ? 1 : 0,
      0,
      0,
      0,
    ];
    runUnits(rt, 'attentionBackward', p, args, 16, rt.ex.attentionWorkspaceBytes(tk));
  }
  return [rt.read(pdq, dq), rt.read(pdk, dk), rt.read(pdv, dv)];
}
