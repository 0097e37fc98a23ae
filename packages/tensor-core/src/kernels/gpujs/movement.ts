import type { KernelData } from '../backend';
import { EXACT_INDEX_LIMIT, type KernelArg, view } from './context';
import { leadingCoordinates } from './coordinates';
import { KernelPlan, type PlanArg, type StepOutput, singleLaunch } from './plan';

function product(dims: readonly number[]): number {
  return dims.reduce((p, d) => p * d, 1);
}

/**
 * A copy where output axis k walks input axis `src[k]`, at input coordinate c + off[k];
 * permute, slice and pad are all this after their axes are coalesced.
 */
interface Gather {
  /** Input extents, outermost first, at least one axis. */
  inShape: number[];
  /** Output extents, outermost first, one per input axis read. */
  outShape: number[];
  src: number[];
  off: number[];
}

/**
 * Splits the input axes into the view's x, y and z extents, innermost axes first,
 * each extent below 2^24 so that a coordinate within it (Σ c·stride, formed in f32 in
 * webasm) is exact. Null when the axes do not fit in three such extents.
 */
function viewGroups(
  inShape: readonly number[],
): { group: number[]; stride: number[]; extents: number[] } | null {
  const extents = [1, 1, 1];
  const group: number[] = [];
  const stride: number[] = [];
  let g = 0;
  for (let a = inShape.length - 1; a >= 0; a--) {
    const d = inShape[a]!;
    if (g < 2 && extents[g]! * d >= EXACT_INDEX_LIMIT) g++;
    if (extents[g]! * d >= EXACT_INDEX_LIMIT) return null;
    group[a] = g;
    stride[a] = extents[g]!;
    extents[g]! *= d;
  }
  return { group, stride, extents };
}

/** View axis names by group: x holds the innermost input axes. */
const AXIS = ['x', 'y', 'z'] as const;

/**
 * Kernel source of a gather with one output axis per entry of `groups`, output axis k
 * stepping view axis `groups[k]` (0 = x, 1 = y, 2 = z). The output grid is [last axis, second-last, all leading axes], leading
 * coordinates coming from thread.z by division as in elementwise.ts. With `offsets`
 * each axis reads at c + o; with `bounds` a coordinate outside [0, n) gives `value`.
 */
function gatherSource(
  name: string,
  groups: readonly number[],
  offsets: boolean,
  bounds: boolean,
): string {
  const rank = groups.length;
  const lead = rank - 2;
  const params = ['a'];
  const lines: string[] = [];
  if (lead >= 1) {
    const lc = leadingCoordinates(lead);
    params.push(...lc.params);
    lines.push(...lc.lines);
  }
  if (rank >= 2) lines.push(`const c${rank - 2} = this.thread.y;`);
  lines.push(`const c${rank - 1} = this.thread.x;`);
  const terms: string[][] = [[], [], []];
  const outside: string[] = [];
  for (let k = 0; k < rank; k++) {
    params.push(`s${k}`);
    let t = `c${k}`;
    if (offsets) {
      params.push(`o${k}`);
      t = `t${k}`;
      lines.push(`const t${k} = c${k} + o${k};`);
    }
    if (bounds) {
      params.push(`n${k}`);
      outside.push(`t${k} < 0 || t${k} >= n${k}`);
    }
    terms[groups[k]!]!.push(`${t} * s${k}`);
  }
  if (bounds) {
    params.push('value');
    lines.push(`if (${outside.join(' || ')}) { return value; }`);
  }
  const at = (g: number): string => (terms[g]!.length > 0 ? terms[g]!.join(' + ') : '0');
  lines.push(`return a[${at(2)}][${at(1)}][${at(0)}];`);
  return `function ${name}(${params.join(', ')}) {\n${lines.join('\n')}\n}`;
}

/** One launch of `g`; null when an extent is outside exact indexing. */
function gatherLaunch(
  op: 'permute' | 'slice' | 'pad',
  a: KernelData,
  g: Gather,
  value = 0,
): KernelPlan | null {
  const { inShape, outShape, src, off } = g;
  const rank = outShape.length;
  const x = outShape[rank - 1]!;
  const y = rank >= 2 ? outShape[rank - 2]! : 1;
  const z = product(outShape.slice(0, Math.max(rank - 2, 0)));
  // Output x and y are single axes; z is split by division, which needs headroom.
  if (x >= EXACT_INDEX_LIMIT || y >= EXACT_INDEX_LIMIT || z >= EXACT_INDEX_LIMIT / 2) return null;
  const v = viewGroups(inShape);
  if (!v) return null;
  const offsets = op !== 'permute';
  const bounds = op === 'pad';
  const groups = src.map((s) => v.group[s]!);
  const args: KernelArg[] = [view(a, v.extents[0]!, v.extents[1]!, v.extents[2]!)];
  for (let k = 1; k < rank - 2; k++) args.push(outShape[k]!);
  for (let k = 0; k < rank; k++) {
    args.push(v.stride[src[k]!]!);
    if (offsets) args.push(off[k]!);
    if (bounds) args.push(inShape[src[k]!]!);
  }
  if (bounds) args.push(value);
  const layout = groups.map((gr) => AXIS[gr]).join('');
  return singleLaunch(
    `${op}:${layout}`,
    () => gatherSource(`${op}_${layout}`, groups, offsets, bounds),
    [x, y, z],
    ...args,
  );
}

/**
 * Drops unit axes and merges output axes that are also adjacent, in order, in the input:
 * a transpose of [batch, heads, seq, dim] to [batch, seq, heads, dim] stays four axes, a
 * [2, 3, 4] → [4, 2, 3] rotation becomes a 2-D transpose.
 */
function coalescePermute(shape: readonly number[], perm: readonly number[]): Gather {
  const kept = shape.map((_, a) => a).filter((a) => shape[a] !== 1);
  const runs: number[][] = [];
  for (const a of perm) {
    const r = kept.indexOf(a);
    if (r < 0) continue;
    const run = runs[runs.length - 1];
    if (run && run[run.length - 1] === r - 1) run.push(r);
    else runs.push([r]);
  }
  if (runs.length === 0) return { inShape: [1], outShape: [1], src: [0], off: [0] };
  const byInput = [...runs].sort((p, q) => p[0]! - q[0]!);
  const inShape = byInput.map((run) => product(run.map((r) => shape[kept[r]!]!)));
  const src = runs.map((run) => byInput.indexOf(run));
  return { inShape, outShape: src.map((s) => inShape[s]!), src, off: src.map(() => 0) };
}

/**
 * An axis a slice or pad copies whole merges into the kept axis before it, whose begin
 * (or padding) scales by its extent; a unit axis copied whole drops out.
 */
function coalesceBlocks(
  shape: readonly number[],
  whole: (axis: number) => boolean,
  begin: (axis: number) => number,
  extent: (axis: number) => number,
): Gather {
  const inShape: number[] = [];
  const outShape: number[] = [];
  const off: number[] = [];
  for (let a = 0; a < shape.length; a++) {
    const d = shape[a]!;
    const last = inShape.length - 1;
    if (whole(a) && d === 1) continue;
    if (whole(a) && last >= 0) {
      inShape[last]! *= d;
      outShape[last]! *= d;
      off[last]! *= d;
    } else {
      inShape.push(d);
      outShape.push(extent(a));
      off.push(begin(a));
    }
  }
  if (inShape.length === 0) return { inShape: [1], outShape: [1], src: [0], off: [0] };
  return { inShape, outShape, src: inShape.map((_, a) => a), off };
}

/** Axes reordered: out axis k is input axis perm[k]. */
export function permute(
  a: KernelData,
  shape: readonly number[],
  perm: readonly number[],
): KernelPlan | null {
  if (a.length === 0) return null;
  return gatherLaunch('permute', a, coalescePermute(shape, perm));
}

/** The block at `begin` of extent `size`. */
export function slice(
  a: KernelData,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
): KernelPlan | null {
  if (product(size) === 0) return null;
  const g = coalesceBlocks(
    shape,
    (k) => begin[k] === 0 && size[k] === shape[k],
    (k) => begin[k]!,
    (k) => size[k]!,
  );
  return gatherLaunch('slice', a, g);
}

/** `value` around the input, padding[k] = [before, after] entries on axis k. */
export function pad(
  a: KernelData,
  shape: readonly number[],
  padding: readonly (readonly [number, number])[],
  value: number,
): KernelPlan | null {
  if (a.length === 0 || padding.some(([b, e]) => b < 0 || e < 0)) return null;
  const g = coalesceBlocks(
    shape,
    (k) => padding[k]![0] === 0 && padding[k]![1] === 0,
    (k) => -padding[k]![0],
    (k) => shape[k]! + padding[k]![0] + padding[k]![1],
  );
  return gatherLaunch('pad', a, g, value);
}

/** Inputs one concat launch joins; later launches take the previous result and more. */
const CONCAT_FAN_IN = 4;

/**
 * Joins `pieces` (each [outer, len, inner], read as [inner, len, outer] views) along len:
 * thread.y picks the piece by comparing with the running ends e1, e2, ….
 */
function concatSource(pieces: number): string {
  const params = Array.from({ length: pieces }, (_, p) => `in${p}`);
  const lines: string[] = ['const j = this.thread.y;'];
  for (let p = 1; p < pieces; p++) params.push(`e${p}`);
  for (let p = 0; p < pieces; p++) {
    const row = p === 0 ? 'j' : `j - e${p}`;
    const read = `return in${p}[this.thread.z][${row}][this.thread.x];`;
    lines.push(p < pieces - 1 ? `if (j < e${p + 1}) { ${read} }` : read);
  }
  return `function concat_${pieces}(${params.join(', ')}) {\n${lines.join('\n')}\n}`;
}

/**
 * Concatenation along the middle axis of [outer, len_i, inner]. At most CONCAT_FAN_IN
 * inputs per launch keeps the kernel within GL's texture units; more inputs chain
 * launches, each copying the previous result and the next inputs.
 */
export function concat(
  inputs: readonly KernelData[],
  outer: number,
  lens: readonly number[],
  inner: number,
): KernelPlan | null {
  const totalLen = lens.reduce((s, l) => s + l, 0);
  if (outer * totalLen * inner === 0) return null;
  if (inner >= EXACT_INDEX_LIMIT || totalLen >= EXACT_INDEX_LIMIT) return null;
  if (outer >= EXACT_INDEX_LIMIT / 2) return null;
  // Empty inputs add nothing (and a zero-size view is no valid kernel argument).
  const parts = inputs.map((data, k) => ({ data, len: lens[k]! })).filter((part) => part.len > 0);
  const plan = new KernelPlan();
  let joined: StepOutput | null = null;
  let joinedLen = 0;
  let next = 0;
  while (next < parts.length) {
    const pieces: { arg: PlanArg; len: number }[] = joined ? [{ arg: joined, len: joinedLen }] : [];
    while (pieces.length < CONCAT_FAN_IN && next < parts.length) {
      const { data, len } = parts[next++]!;
      pieces.push({ arg: view(data, inner, len, outer), len });
    }
    const ends: number[] = [];
    joinedLen = 0;
    for (const piece of pieces) {
      joinedLen += piece.len;
      ends.push(joinedLen);
    }
    joined = plan.launch(
      `concat:${pieces.length}`,
      () => concatSource(pieces.length),
      [inner, joinedLen, outer],
      ...pieces.map((piece) => piece.arg),
      ...ends.slice(0, -1),
    );
  }
  // totalLen > 0, so some input was joined.
  return plan.returns(joined!);
}

/**
 * Whether indexSelect/indexAdd over [outer, len, inner] with `idx` can run exactly: not
 * empty, every index in [0, len), and every extent below 2^24 (exact in float32).
 */
function indexKernelFits(outer: number, len: number, inner: number, idx: Int32Array): boolean {
  if (outer * len * inner * idx.length === 0) return false;
  if (len >= EXACT_INDEX_LIMIT || idx.length >= EXACT_INDEX_LIMIT) return false;
  if (inner >= EXACT_INDEX_LIMIT || outer >= EXACT_INDEX_LIMIT / 2) return false;
  return idx.every((i) => i >= 0 && i < len);
}

/** out[o, j, i] = a[o, idx[j], i] for a viewed as [outer, len, inner]. */
export function indexSelect(
  a: KernelData,
  outer: number,
  len: number,
  inner: number,
  idx: Int32Array,
): KernelPlan | null {
  if (!indexKernelFits(outer, len, inner, idx)) return null;
  return singleLaunch(
    'indexSelect',
    () => `function indexSelect(a, idx) {
      return a[this.thread.z][idx[this.thread.y]][this.thread.x];
    }`,
    [inner, idx.length, outer],
    view(a, inner, len, outer),
    Float32Array.from(idx),
  );
}

/**
 * The adjoint of indexSelect: out[o, l, i] = Σ g[o, j, i] over j with idx[j] = l. The
 * j of each l are listed on the host (idx is host data) as order[first[l] … first[l+1]),
 * ascending, so each thread loops over its own terms only and adds them in the js
 * backend's order; Math.fround rounds each partial sum to float32 as its Float32Array
 * does (gpu.js's cpu mode sums in float64 otherwise).
 */
export function indexAdd(
  g: KernelData,
  outer: number,
  len: number,
  inner: number,
  idx: Int32Array,
): KernelPlan | null {
  if (!indexKernelFits(outer, len, inner, idx)) return null;
  const first = new Float32Array(len + 1);
  for (const l of idx) first[l + 1]! += 1;
  for (let l = 0; l < len; l++) first[l + 1]! += first[l]!;
  const order = new Float32Array(idx.length);
  const cursor = first.slice(0, len);
  idx.forEach((l, j) => {
    const at = cursor[l]!;
    order[at] = j;
    cursor[l] = at + 1;
  });
  return singleLaunch(
    'indexAdd',
    () => `function indexAdd(g, first, order) {
      const start = first[this.thread.y];
      const count = first[this.thread.y + 1] - start;
      let acc = 0;
      for (let u = 0; u < count; u++) {
        acc = Math.fround(acc + g[this.thread.z][order[start + u]][this.thread.x]);
      }
      return acc;
    }`,
    [inner, len, outer],
    view(g, inner, idx.length, outer),
    first,
    order,
  );
}
