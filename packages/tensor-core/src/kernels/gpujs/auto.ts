import { type Backend, hostValues, type MatmulParams } from '../backend';
import { createJsBackend } from '../js/index';

/** One timed probe: what `auto` measures on every candidate backend. */
interface Probe {
  name: string;
  /** Reads the result back, so device backends are timed to values on the host. */
  run(b: Backend): Float32Array;
}

/** Deterministic inputs in [−1, 1) so every candidate sees the same data. */
function probeData(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function makeProbes(): Probe[] {
  const size = 256;
  const a = probeData(size * size, 1);
  const b = probeData(size * size, 2);
  const p: MatmulParams = {
    batch: 1,
    m: size,
    k: size,
    n: size,
    transA: false,
    transB: true,
    aBatchStride: 0,
    bBatchStride: 0,
  };
  const logits = probeData(64 * 512, 3);
  return [
    { name: `matmul ${size}³`, run: (be) => hostValues(be.matmul(a, b, p)) },
    { name: 'softmax 64×512', run: (be) => hostValues(be.softmax(logits, 64, 512, false)) },
  ];
}

/** Agreement with the reference to float32 accumulation error. */
function agrees(got: Float32Array, want: Float32Array): boolean {
  if (got.length !== want.length) return false;
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= 1e-4 * (Math.abs(want[i]!) + scale))) return false;
  }
  return true;
}

export interface AutoMeasurement {
  backend: string;
  /** Milliseconds for one pass over the probes (after a warm-up pass); null when excluded. */
  ms: number | null;
  /** Why the backend was left out, if it was. */
  excluded?: string;
}

/** Timed passes per candidate at most; its figure is the fastest (preemption only adds time). */
const PASSES = 3;

/**
 * Times the probes on each candidate (a warm-up pass compiles the kernels, then up to
 * three timed passes, of which the fastest counts) and checks the results against the js
 * backend. One pass alone is at the mercy of a busy machine: on a loaded 2-core VM a
 * single pass of the wasm backend (its second thread waiting for a core) measured slower
 * than js one time in four. A candidate already 3× slower than the best so far is not
 * timed again, and one whose warm-up alone exceeds `budgetMs` is not timed at all.
 */
export function measureBackends(
  candidates: readonly { name: string; backend: Backend }[],
  budgetMs = 600,
): AutoMeasurement[] {
  const probes = makeProbes();
  const ref = createJsBackend();
  const want = probes.map((pr) => pr.run(ref));
  let best = Number.POSITIVE_INFINITY;
  return candidates.map(({ name, backend }) => {
    try {
      const start = performance.now();
      const got = probes.map((pr) => pr.run(backend));
      const warm = performance.now() - start;
      const bad = probes.find((_, i) => !agrees(got[i]!, want[i]!));
      if (bad)
        return { backend: name, ms: null, excluded: `${bad.name} disagrees with the js backend` };
      if (warm > budgetMs)
        return { backend: name, ms: null, excluded: `warm-up took ${warm.toFixed(0)} ms` };
      let ms = Number.POSITIVE_INFINITY;
      for (let pass = 0; pass < PASSES && (pass === 0 || ms < 3 * best); pass++) {
        const t0 = performance.now();
        for (const pr of probes) pr.run(backend);
        ms = Math.min(ms, performance.now() - t0);
      }
      best = Math.min(best, ms);
      return { backend: name, ms };
    } catch (e) {
      return { backend: name, ms: null, excluded: (e as Error).message };
    }
  });
}

/** The fastest measured backend ('js' when nothing else qualifies). */
export function fastest(measurements: readonly AutoMeasurement[]): string {
  let best = 'js';
  let bestMs = Number.POSITIVE_INFINITY;
  for (const m of measurements) {
    if (m.ms !== null && m.ms < bestMs) {
      best = m.backend;
      bestMs = m.ms;
    }
  }
  return best;
}
