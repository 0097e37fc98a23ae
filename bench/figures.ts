/**
 * The machine-readable side of the package benches. When `T2_BENCH_JSON_DIR` is set (the
 * root `npm run bench`, scripts/bench.mjs, sets it), a bench also writes its figures to
 * `$T2_BENCH_JSON_DIR/<source>.json` as `{ source, env, figures }`; its usual output is
 * unchanged. `T2_BENCH_QUICK=1` asks for short timings (a smoke test, not figures).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One measured number of one implementation on one case. */
export interface Figure {
  /** `<what>/<case>/<implementation>`, e.g. `matmul/512x512x512/tfjs-wasm`; stable across runs. */
  name: string;
  value: number;
  /** e.g. `GFLOP/s`, `tokens/s`, `ms`. */
  unit: string;
  better: 'higher' | 'lower';
  /** Whatever else helps read the figure: threads, repetitions, CPU time, error. */
  [detail: string]: unknown;
}

export const benchQuick = process.env.T2_BENCH_QUICK === '1';

/** Writes the figures when `T2_BENCH_JSON_DIR` is set; does nothing otherwise. */
export function writeFigures(
  source: string,
  figures: Figure[],
  env: Record<string, unknown> = {},
): void {
  const dir = process.env.T2_BENCH_JSON_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${source}.json`),
    `${JSON.stringify({ source, env, figures }, null, 2)}\n`,
  );
}
