// Scaled dot-product attention with grouped-query heads, as gemm calls over blocks
// of query rows: a causal block only multiplies the keys its last row can see, so
// the masked upper triangle is (nearly) never computed. Work is split into units
// of (batch, kv head) so that each unit owns its slice of dK and dV.
//
// Two ways to keep what the gradient needs: the probabilities themselves (probs ≠ 0;
// needed with a mask, which the backward pass is not given), or only each row's
// log-sum-exp (lse), from which the backward pass recomputes the probabilities block
// by block, as FlashAttention does: 4 bytes per row instead of 4·tk.
import { gemm, gemmWorkspaceBytes } from './gemm';
import { hmax, hsum, logf, vexp } from './math';

const BLOCK: i32 = 32;

function align(p: usize): usize {
  return (p + 63) & ~(<usize>63);
}

/** Bytes of workspace one attention call (one thread) needs for tk keys. */
export function attentionWorkspaceBytes(tk: i32): i32 {
  return gemmWorkspaceBytes() + 2 * BLOCK * tk * 4 + BLOCK * 4 + 4 * 64;
}

// Keys visible to query row i (the KV-cache convention: up to i + tk − tq).
function visible(i: i32, tq: i32, tk: i32, causal: bool): i32 {
  if (!causal) return tk;
  return max(0, min(tk, i + tk - tq + 1));
}

function scaleRow(p: usize, n: i32, f: f32): void {
  const fv = f32x4.splat(f);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = p + <usize>j * 4;
    v128.store(o, f32x4.mul(v128.load(o), fv));
  }
  for (; j < n; j++) {
    const o = p + <usize>j * 4;
    store<f32>(o, load<f32>(o) * f);
  }
}

/**
 * out = softmax(scale·q·kᵀ + mask)·v for units [u0, u1) of batch × kvHeads. Saves
 * either the probabilities (probs ≠ 0, [batch, heads, tq, tk]) or the row
 * log-sum-exp (lse, [batch, heads, tq]). Mask strides are in floats.
 */
export function attentionForward(
  q: usize,
  k: usize,
  v: usize,
  mask: usize,
  out: usize,
  probs: usize,
  lse: usize,
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
  const scratch = align(work + <usize>gemmWorkspaceBytes());
  const rowInv = align(scratch + <usize>(BLOCK * tk) * 4);
  const ldP = <usize>tk;
  for (let u = u0; u < u1; u++) {
    const b = u / kvHeads;
    const kvh = u % kvHeads;
    const kB = k + <usize>u * <usize>tk * d * 4;
    const vB = v + <usize>u * <usize>tk * d * 4;
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      const bh = b * heads + h;
      const qB = q + <usize>bh * <usize>tq * d * 4;
      const oB = out + <usize>bh * <usize>tq * d * 4;
      for (let i0 = 0; i0 < tq; i0 += BLOCK) {
        const rows = min(BLOCK, tq - i0);
        const kmax = visible(i0 + rows - 1, tq, tk, causal);
        // The block's rows of P, in probs or in scratch, tk apart either way.
        const pBlk = probs ? probs + (<usize>bh * <usize>tq + <usize>i0) * ldP * 4 : scratch;
        // Without probs, only the first kmax columns are ever read.
        const width = probs ? tk : kmax;
        gemm(
          qB + <usize>i0 * d * 4,
          d,
          false,
          kB,
          d,
          true,
          pBlk,
          ldP,
          rows,
          dim,
          kmax,
          false,
          work,
        );
        for (let r = 0; r < rows; r++) {
          const i = i0 + r;
          const row = pBlk + <usize>r * ldP * 4;
          const limit = visible(i, tq, tk, causal);
          let mx: f32 = -Infinity;
          // pmax and `s > mx` skip NaN scores; they are tracked apart so that a NaN makes
          // the row NaN (as exact arithmetic does) instead of "fully masked" zeros.
          let nan = false;
          let j = 0;
          if (!hasMask) {
            let mv = f32x4.splat(-Infinity);
            let nanv = v128.splat<i32>(0);
            for (; j + 4 <= limit; j += 4) {
              const o = row + <usize>j * 4;
              const s = f32x4.mul(v128.load(o), sv);
              v128.store(o, s);
              mv = f32x4.pmax(mv, s);
              nanv = v128.or(nanv, f32x4.ne(s, s));
            }
            mx = hmax(mv);
            nan = v128.any_true(nanv);
          }
          const mRow = mask + <usize>(b * ms0 + h * ms1 + i * ms2) * 4;
          for (; j < limit; j++) {
            const o = row + <usize>j * 4;
            let s = load<f32>(o) * scale;
            if (hasMask) s += load<f32>(mRow + <usize>(j * ms3) * 4);
            store<f32>(o, s);
            if (s > mx) mx = s;
            // biome-ignore lint/suspicious/noGlobalIsNan: AssemblyScript's builtin isNaN<f32>
            else if (isNaN<f32>(s)) nan = true;
          }
          if (nan) mx = NaN;
          const lseAt = lse + (<usize>bh * <usize>tq + <usize>i) * 4;
          if (mx === -Infinity) {
            // A fully masked row attends to nothing: zeros rather than NaN.
            memory.fill(row, 0, <usize>width * 4);
            if (!probs) {
              store<f32>(rowInv + <usize>r * 4, 0);
              store<f32>(lseAt, -Infinity);
            }
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
          if (limit < width) memory.fill(row + <usize>limit * 4, 0, <usize>(width - limit) * 4);
          const inv = <f32>(1 / <f64>sum);
          if (probs) {
            scaleRow(row, limit, inv);
          } else {
            store<f32>(rowInv + <usize>r * 4, inv);
            store<f32>(lseAt, mx + logf(sum));
          }
        }
        const oBlk = oB + <usize>i0 * d * 4;
        gemm(pBlk, ldP, false, vB, d, false, oBlk, d, rows, kmax, dim, false, work);
        if (!probs) {
          // P·V from unnormalised exponentials, normalised per output row instead.
          for (let r = 0; r < rows; r++) {
            scaleRow(oBlk + <usize>r * d * 4, dim, load<f32>(rowInv + <usize>r * 4));
          }
        }
      }
    }
  }
}

/**
 * Gradients of attention from dOut and the saved probabilities (probs ≠ 0) or row
 * log-sum-exp (lse, the probabilities recomputed as exp(scale·q·kᵀ − lse)):
 * dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP))·scale, dQ = dS·K, dK = dSᵀ·Q.
 */
export function attentionBackward(
  dOut: usize,
  q: usize,
  k: usize,
  v: usize,
  probs: usize,
  lse: usize,
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
  const pScratch = align(work + <usize>gemmWorkspaceBytes());
  const ds = align(pScratch + <usize>(BLOCK * tk) * 4);
  const sv = f32x4.splat(scale);
  for (let u = u0; u < u1; u++) {
    const b = u / kvHeads;
    const kvh = u % kvHeads;
    const kvOff = <usize>u * <usize>tk * d * 4;
    memory.fill(dk + kvOff, 0, <usize>tk * d * 4);
    memory.fill(dv + kvOff, 0, <usize>tk * d * 4);
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      const bh = b * heads + h;
      const qOff = <usize>bh * <usize>tq * d * 4;
      for (let i0 = 0; i0 < tq; i0 += BLOCK) {
        const rows = min(BLOCK, tq - i0);
        const kmax = visible(i0 + rows - 1, tq, tk, causal);
        if (kmax === 0) {
          memory.fill(dq + qOff + <usize>i0 * d * 4, 0, <usize>rows * d * 4);
          continue;
        }
        const qBlk = q + qOff + <usize>i0 * d * 4;
        const ldP = <usize>tk;
        let pBlk: usize;
        if (probs) {
          pBlk = probs + (<usize>bh * <usize>tq + <usize>i0) * ldP * 4;
        } else {
          pBlk = pScratch;
          gemm(qBlk, d, false, k + kvOff, d, true, pBlk, ldP, rows, dim, kmax, false, work);
          for (let r = 0; r < rows; r++) {
            const i = i0 + r;
            const row = pBlk + <usize>r * ldP * 4;
            const limit = visible(i, tq, tk, causal);
            const l = load<f32>(lse + (<usize>bh * <usize>tq + <usize>i) * 4);
            if (l === -Infinity) {
              memory.fill(row, 0, <usize>kmax * 4);
              continue;
            }
            const lv = f32x4.splat(l);
            let j = 0;
            for (; j + 4 <= limit; j += 4) {
              const o = row + <usize>j * 4;
              v128.store(o, vexp(f32x4.sub(f32x4.mul(v128.load(o), sv), lv)));
            }
            for (; j < limit; j++) {
              const o = row + <usize>j * 4;
              const s = f32x4.splat(load<f32>(o) * scale - l);
              store<f32>(o, f32x4.extract_lane(vexp(s), 0));
            }
            if (limit < kmax) memory.fill(row + <usize>limit * 4, 0, <usize>(kmax - limit) * 4);
          }
        }
        const dO = dOut + qOff + <usize>i0 * d * 4;
        const ldS = <usize>kmax;
        gemm(dO, d, false, v + kvOff, d, true, ds, ldS, rows, dim, kmax, false, work);
        for (let r = 0; r < rows; r++) {
          const pr = pBlk + <usize>r * ldP * 4;
          const sr = ds + <usize>r * ldS * 4;
          let accv = f32x4.splat(0);
          let j = 0;
          for (; j + 4 <= kmax; j += 4) {
            const o = <usize>j * 4;
            accv = f32x4.add(accv, f32x4.mul(v128.load(pr + o), v128.load(sr + o)));
          }
          let dot = hsum(accv);
          for (let t = j; t < kmax; t++) {
            dot += load<f32>(pr + <usize>t * 4) * load<f32>(sr + <usize>t * 4);
          }
          const dotv = f32x4.splat(dot);
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
        const dqBlk = dq + qOff + <usize>i0 * d * 4;
        gemm(ds, ldS, false, k + kvOff, d, false, dqBlk, d, rows, kmax, dim, false, work);
        gemm(ds, ldS, true, qBlk, d, false, dk + kvOff, d, kmax, rows, dim, true, work);
        gemm(pBlk, ldP, true, dO, d, false, dv + kvOff, d, kmax, rows, dim, true, work);
      }
    }
  }
}
