// Reductions of the middle axis of a tensor viewed as [outer, len, inner].

const SUM = 0;
const MAX = 1;
const _MIN = 2;

// acc op x with the js backend's rules: max/min take x when it is beyond acc or NaN.
function combine(op: i32, acc: v128, x: v128): v128 {
  if (op === SUM) return f32x4.add(acc, x);
  const nan = f32x4.ne(x, x);
  const take = op === MAX ? f32x4.gt(x, acc) : f32x4.lt(x, acc);
  return v128.bitselect(x, acc, v128.or(take, nan));
}

function combineScalar(op: i32, acc: f32, x: f32): f32 {
  return f32x4.extract_lane(combine(op, f32x4.splat(acc), f32x4.splat(x)), 0);
}

/** out[o, i] = op over j of a[o, j, i]; op 0 sum, 1 max, 2 min. */
export function reduce(op: i32, a: usize, out: usize, outer: i32, len: i32, inner: i32): void {
  for (let o = 0; o < outer; o++) {
    const base = a + <usize>o * <usize>len * <usize>inner * 4;
    const dst = out + <usize>o * <usize>inner * 4;
    if (inner === 1) {
      // A contiguous row: four lanes of partial results, then across the lanes.
      let j = 0;
      let r: f32 = op === SUM ? 0 : load<f32>(base);
      if (len >= 4) {
        let acc = op === SUM ? f32x4.splat(0) : v128.load(base);
        for (j = op === SUM ? 0 : 4; j + 4 <= len; j += 4) {
          acc = combine(op, acc, v128.load(base + <usize>j * 4));
        }
        r = f32x4.extract_lane(acc, 0);
        for (let l = 1; l < 4; l++) {
          const x =
            l === 1
              ? f32x4.extract_lane(acc, 1)
              : l === 2
                ? f32x4.extract_lane(acc, 2)
                : f32x4.extract_lane(acc, 3);
          r = combineScalar(op, r, x);
        }
      } else if (op !== SUM) {
        j = 1;
      }
      for (; j < len; j++) r = combineScalar(op, r, load<f32>(base + <usize>j * 4));
      store<f32>(dst, r);
      continue;
    }
    // Rows of inner values, combined a vector at a time (contiguous streams).
    const rowBytes = <usize>inner * 4;
    if (len === 0) {
      memory.fill(dst, 0, rowBytes);
      continue;
    }
    memory.copy(dst, base, rowBytes);
    for (let j = 1; j < len; j++) {
      const src = base + <usize>j * rowBytes;
      let i = 0;
      for (; i + 4 <= inner; i += 4) {
        const p = <usize>i * 4;
        v128.store(dst + p, combine(op, v128.load(dst + p), v128.load(src + p)));
      }
      for (; i < inner; i++) {
        const p = <usize>i * 4;
        store<f32>(dst + p, combineScalar(op, load<f32>(dst + p), load<f32>(src + p)));
      }
    }
  }
}
