// Scaled dot-product attention with grouped-query heads, as gemm calls over blocks
// of query rows: a causal block only multiplies the keys its last row can see, so
// the masked upper triangle is (nearly) never computed. Work is split into units
// of (batch, kv head) so that each unit owns its slice of dK and dV.
import { gemm, gemmWorkspaceBytes } from './gemm';
import { hmax, hsum, vexp } from './math';

const BLOCK: i32 = 32;

/** Bytes of workspace one attention call (one thread) needs for tk keys. */
export function attentionWorkspaceBytes(tk: i32): i32 {
  return gemmWorkspaceBytes() + BLOCK * tk * 4 + 64;
}

// Keys visible to query row i (the KV-cache convention: up to i + tk − tq).
function visible(i: i32, tq: i32, tk: i32, causal: bool): i32 {
  if (!causal) return tk;
  return max(0, min(tk, i + tk - tq + 1));
}

/**
 * out = softmax(scale·q·kᵀ + mask)·v; probs receives the probabilities. Handles
 * units [u0, u1) of batch × kvHeads. Mask strides are in floats (hasMask false: none).
 */
export function attentionForward(
  q: usize,
  k: usize,
  v: usize,
  mask: usize,
  out: usize,
  probs: usize,
  heads: i32,
  kvHeads: i32,
  tq: i32,
  tk: i32,
  dim: i32,
  scale: f32,
  causal: bool,
  hasMask: bool,
  ms0: i32,
  ms1: i32,
  ms2: i32,
  ms3: i32,
  u0: i32,
  u1: i32,
  work: usize,
): void {
  const group = heads / kvHeads;
  const d = <usize>dim;
  const sv = f32x4.splat(scale);
  for (let u = u0; u < u1; u++) {
    const b = u / kvHeads;
    const kvh = u % kvHeads;
    const kB = k + <usize>u * <usize>tk * d * 4;
    const vB = v + <usize>u * <usize>tk * d * 4;
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      const bh = b * heads + h;
      const qB = q + <usize>bh * <usize>tq * d * 4;
      const oB = out + <usize>bh * <usize>tq * d * 4;
      const pB = probs + <usize>bh * <usize>tq * <usize>tk * 4;
      for (let i0 = 0; i0 < tq; i0 += BLOCK) {
        const rows = min(BLOCK, tq - i0);
        const kmax = visible(i0 + rows - 1, tq, tk, causal);
        const pBlk = pB + <usize>i0 * <usize>tk * 4;
        gemm(qB + <usize>i0 * d * 4, d, false, kB, d, true, pBlk, <usize>tk, rows, dim, kmax, false, work);
        for (let r = 0; r < rows; r++) {
          const i = i0 + r;
          const row = pBlk + <usize>r * <usize>tk * 4;
          const limit = visible(i, tq, tk, causal);
          let mx: f32 = -Infinity;
          let j = 0;
          if (!hasMask) {
            let mv = f32x4.splat(-Infinity);
            for (; j + 4 <= limit; j += 4) {
              const o = row + <usize>j * 4;
              const s = f32x4.mul(v128.load(o), sv);
              v128.store(o, s);
              mv = f32x4.max(mv, s);
            }
            mx = hmax(mv);
          }
          const mRow = mask + <usize>(b * ms0 + h * ms1 + i * ms2) * 4;
          for (; j < limit; j++) {
            const o = row + <usize>j * 4;
            let s = load<f32>(o) * scale;
            if (hasMask) s += load<f32>(mRow + <usize>(j * ms3) * 4);
            store<f32>(o, s);
            if (s > mx) mx = s;
          }
          if (mx == -Infinity) {
            // A fully masked row attends to nothing: zeros rather than NaN.
            memory.fill(row, 0, <usize>tk * 4);
            continue;
          }
          const mxv = f32x4.splat(mx);
          let accv = f32x4.splat(0);
          j = 0;
          for (; j + 4 <= limit; j += 4) {
            const o = row + <usize>j * 4;
            const e = vexp(f32x4.sub(v128.load(o), mxv));
            v128.store(o, e);
            accv = f32x4.add(accv, e);
          }
          let sum = hsum(accv);
          for (; j < limit; j++) {
            const o = row + <usize>j * 4;
            const e = f32x4.extract_lane(vexp(f32x4.splat(load<f32>(o) - mx)), 0);
            store<f32>(o, e);
            sum += e;
          }
          const inv = f32x4.splat(<f32>(1 / <f64>sum));
          j = 0;
          for (; j + 4 <= limit; j += 4) {
            const o = row + <usize>j * 4;
            v128.store(o, f32x4.mul(v128.load(o), inv));
          }
          for (; j < limit; j++) {
            const o = row + <usize>j * 4;
            store<f32>(o, load<f32>(o) * f32x4.extract_lane(inv, 0));
          }
          if (limit < tk) memory.fill(row + <usize>limit * 4, 0, <usize>(tk - limit) * 4);
        }
        gemm(pBlk, <usize>tk, false, vB, d, false, oB + <usize>i0 * d * 4, d, rows, kmax, dim, false, work);
      }
    }
  }
}

/**
 * Gradients of attention from dOut and the saved probabilities:
 * dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP))·scale, dQ = dS·K, dK = dSᵀ·Q.
 */
export function attentionBackward(
  dOut: usize,
  q: usize,
  k: usize,
  v: usize,
  probs: usize,
  dq: usize,
  dk: usize,
  dv: usize,
  heads: i32,
  kvHeads: i32,
  tq: i32,
  tk: i32,
  dim: i32,
  scale: f32,
  causal: bool,
  u0: i32,
  u1: i32,
  work: usize,
): void {
  const group = heads / kvHeads;
  const d = <usize>dim;
  const ds = ((work + <usize>gemmWorkspaceBytes() + 63) & ~(<usize>63));
  const gw = work;
  for (let u = u0; u < u1; u++) {
    const b = u / kvHeads;
    const kvh = u % kvHeads;
    const kvOff = <usize>u * <usize>tk * d * 4;
    memory.fill(dk + kvOff, 0, <usize>tk * d * 4);
    memory.fill(dv + kvOff, 0, <usize>tk * d * 4);
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      const bh = b * heads + h;
      const qOff = <usize>bh * <usize>tq * d * 4;
      const pB = probs + <usize>bh * <usize>tq * <usize>tk * 4;
      for (let i0 = 0; i0 < tq; i0 += BLOCK) {
        const rows = min(BLOCK, tq - i0);
        const kmax = visible(i0 + rows - 1, tq, tk, causal);
        if (kmax == 0) {
          memory.fill(dq + qOff + <usize>i0 * d * 4, 0, <usize>rows * d * 4);
          continue;
        }
        const pBlk = pB + <usize>i0 * <usize>tk * 4;
        const dO = dOut + qOff + <usize>i0 * d * 4;
        const ldS = <usize>kmax;
        gemm(dO, d, false, v + kvOff, d, true, ds, ldS, rows, dim, kmax, false, gw);
        for (let r = 0; r < rows; r++) {
          const pr = pBlk + <usize>r * <usize>tk * 4;
          const sr = ds + <usize>r * ldS * 4;
          let accv = f32x4.splat(0);
          let j = 0;
          for (; j + 4 <= kmax; j += 4) {
            const o = <usize>j * 4;
            accv = f32x4.add(accv, f32x4.mul(v128.load(pr + o), v128.load(sr + o)));
          }
          let dot = hsum(accv);
          for (let t = j; t < kmax; t++) dot += load<f32>(pr + <usize>t * 4) * load<f32>(sr + <usize>t * 4);
          const dotv = f32x4.splat(dot);
          const sv = f32x4.splat(scale);
          j = 0;
          for (; j + 4 <= kmax; j += 4) {
            const o = <usize>j * 4;
            const p = v128.load(pr + o);
            v128.store(sr + o, f32x4.mul(f32x4.mul(p, f32x4.sub(v128.load(sr + o), dotv)), sv));
          }
          for (; j < kmax; j++) {
            const o = <usize>j * 4;
            store<f32>(sr + o, load<f32>(pr + o) * (load<f32>(sr + o) - dot) * scale);
          }
        }
        gemm(ds, ldS, false, k + kvOff, d, false, dq + qOff + <usize>i0 * d * 4, d, rows, kmax, dim, false, gw);
        gemm(ds, ldS, true, q + qOff + <usize>i0 * d * 4, d, false, dk + kvOff, d, kmax, rows, dim, true, gw);
        gemm(pBlk, <usize>tk, true, dO, d, false, dv + kvOff, d, kmax, rows, dim, true, gw);
      }
    }
  }
}
