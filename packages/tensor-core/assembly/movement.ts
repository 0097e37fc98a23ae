// Data movement that the backward pass does as often as the forward: axis
// permutations (attention's head split and merge) and rotary embeddings.

/**
 * out = a with axes permuted: shape[i] is output axis i's length and strides[i] its
 * stride in a (floats), both i32 arrays of ndim ≥ 1 entries; index holds ndim i32.
 */
export function permute(
  a: usize,
  out: usize,
  ndim: i32,
  shape: usize,
  strides: usize,
  index: usize,
): void {
  const last = ndim - 1;
  const len = load<i32>(shape + <usize>last * 4);
  const st = <usize>load<i32>(strides + <usize>last * 4);
  let total: i32 = 1;
  for (let i = 0; i < ndim; i++) {
    total *= load<i32>(shape + <usize>i * 4);
    store<i32>(index + <usize>i * 4, 0);
  }
  if (total === 0) return;
  let src: usize = 0;
  let o: usize = out;
  const rows = total / len;
  for (let r = 0; r < rows; r++) {
    const s = a + src * 4;
    if (st === 1) {
      let j = 0;
      for (; j + 4 <= len; j += 4) v128.store(o + <usize>j * 4, v128.load(s + <usize>j * 4));
      for (; j < len; j++) store<f32>(o + <usize>j * 4, load<f32>(s + <usize>j * 4));
    } else {
      for (let j = 0; j < len; j++) store<f32>(o + <usize>j * 4, load<f32>(s + <usize>j * st * 4));
    }
    o += <usize>len * 4;
    // Odometer over the outer axes.
    for (let axis = last - 1; axis >= 0; axis--) {
      const ip = index + <usize>axis * 4;
      const sa = <usize>load<i32>(strides + <usize>axis * 4);
      const i = load<i32>(ip) + 1;
      src += sa;
      if (i < load<i32>(shape + <usize>axis * 4)) {
        store<i32>(ip, i);
        break;
      }
      src -= sa * <usize>i;
      store<i32>(ip, 0);
    }
  }
}

/**
 * Rotate-half rotary embedding of rows × seq × dim (pairs i, i + dim/2), with the
 * angles' cos and sin given per position as seq × dim/2 tables; rows [r0, r1); out
 * may be x.
 */
export function rope(
  x: usize,
  out: usize,
  seq: i32,
  dim: i32,
  cos: usize,
  sin: usize,
  r0: i32,
  r1: i32,
): void {
  const half = dim / 2;
  for (let r = r0; r < r1; r++) {
    for (let t = 0; t < seq; t++) {
      const base = <usize>(r * seq + t) * <usize>dim * 4;
      const x1 = x + base;
      const x2 = x1 + <usize>half * 4;
      const o1 = out + base;
      const o2 = o1 + <usize>half * 4;
      const cs = <usize>(t * half) * 4;
      let i = 0;
      for (; i + 4 <= half; i += 4) {
        const o = <usize>i * 4;
        const a = v128.load(x1 + o);
        const b = v128.load(x2 + o);
        const c = v128.load(cos + cs + o);
        const s = v128.load(sin + cs + o);
        v128.store(o1 + o, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, s)));
        v128.store(o2 + o, f32x4.add(f32x4.mul(b, c), f32x4.mul(a, s)));
      }
      for (; i < half; i++) {
        const o = <usize>i * 4;
        const a = load<f32>(x1 + o);
        const b = load<f32>(x2 + o);
        const c = load<f32>(cos + cs + o);
        const s = load<f32>(sin + cs + o);
        store<f32>(o1 + o, a * c - b * s);
        store<f32>(o2 + o, b * c + a * s);
      }
    }
  }
}
