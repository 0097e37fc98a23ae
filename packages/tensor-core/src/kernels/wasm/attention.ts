import type { AttentionParams } from '../backend';
import { bufferPool } from '../buffer-pool';
import { splitRange } from './matmul';
import type { WasmRuntime } from './runtime';

/** Below this many multiply-adds of q·kᵀ and p·v, attention stays on one thread. */
const PARALLEL_MIN_MACS = 1e6;

function units(rt: WasmRuntime, p: AttentionParams): [number, number][] {
  const total = p.batch * p.kvHeads;
  const macs = 2 * p.batch * p.heads * p.tq * p.tk * p.dim;
  return splitRange(total, macs >= PARALLEL_MIN_MACS ? rt.threads : 1, 1);
}

function runUnits(
  rt: WasmRuntime,
  kernel: 'attentionForward' | 'attentionBackward',
  slices: [number, number][],
  argsFor: (u0: number, u1: number, work: number) => number[],
  wsBytes: number,
): void {
  const args = slices.map(([u0, u1]) => argsFor(u0, u1, rt.alloc(wsBytes)));
  const fn = rt.ex[kernel] as (...v: number[]) => void;
  const local = (x: number[]) => fn(...x);
  if (args.length === 1 || !rt.pool) for (const x of args) local(x);
  else rt.pool.run(kernel, args, local);
}

export function wasmAttention(
  rt: WasmRuntime,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  mask: Float32Array | null,
  p: AttentionParams,
): [Float32Array, Float32Array] {
  const { batch, heads, kvHeads, tq, tk, dim, scale, causal, maskStrides } = p;
  const out = bufferPool.acquire(batch * heads * tq * dim);
  const probs = bufferPool.acquire(batch * heads * tq * tk);
  rt.reset();
  const pq = rt.put(q);
  const pk = rt.put(k);
  const pv = rt.put(v);
  const pm = mask && maskStrides ? rt.put(mask) : 0;
  const po = rt.alloc(out.length * 4);
  const pp = rt.alloc(probs.length * 4);
  const ms = mask && maskStrides ? maskStrides : [0, 0, 0, 0];
  if (out.length > 0) {
    runUnits(
      rt,
      'attentionForward',
      units(rt, p),
      (u0, u1, work) => [
        pq,
        pk,
        pv,
        pm,
        po,
        pp,
        heads,
        kvHeads,
        tq,
        tk,
        dim,
        scale,
        causal ? 1 : 0,
        pm ? 1 : 0,
        ms[0],
        ms[1],
        ms[2],
        ms[3],
        u0,
        u1,
        work,
      ],
      rt.ex.attentionWorkspaceBytes(tk),
    );
  }
  return [rt.read(po, out), rt.read(pp, probs)];
}

export function wasmAttentionBackward(
  rt: WasmRuntime,
  dOut: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  probs: Float32Array,
  p: AttentionParams,
): [Float32Array, Float32Array, Float32Array] {
  const { heads, kvHeads, tq, tk, dim, scale, causal } = p;
  const dq = bufferPool.acquire(q.length);
  const dk = bufferPool.acquire(k.length);
  const dv = bufferPool.acquire(v.length);
  rt.reset();
  const pd = rt.put(dOut);
  const pq = rt.put(q);
  const pk = rt.put(k);
  const pv = rt.put(v);
  const pp = rt.put(probs);
  const pdq = rt.alloc(q.length * 4);
  const pdk = rt.alloc(k.length * 4);
  const pdv = rt.alloc(v.length * 4);
  if (q.length > 0 || k.length > 0) {
    runUnits(
      rt,
      'attentionBackward',
      units(rt, p),
      (u0, u1, work) => [
        pd,
        pq,
        pk,
        pv,
        pp,
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
        u0,
        u1,
        work,
      ],
      rt.ex.attentionWorkspaceBytes(tk),
    );
  }
  return [rt.read(pdq, dq), rt.read(pdk, dk), rt.read(pdv, dv)];
}
