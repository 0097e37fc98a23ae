import { writeFileSync } from 'node:fs';
import {
  getBackend,
  kernelCalls,
  registeredBackends,
  resetKernelCalls,
  setBackend,
} from '@t2/tensor-core';
import { UsageError } from './command';

/**
 * `--backend NAME` and `--weights stored|f32`, spread into a command's flags: every
 * command takes them.
 */
export const BACKEND_FLAG = {
  backend: { type: 'string', default: 'auto' },
  weights: { type: 'string', default: 'stored' },
} as const;

/** The lines of `--help` that describe them, their text starting at column `column`. */
export function backendUsage(column = 25): string {
  return (
    `${'  --backend NAME'.padEnd(column - 2)}  auto (default: the fastest backend here, measured), wasm, js\n` +
    `${'  --weights stored|f32'.padEnd(column - 2)}  stored (default: BF16 weights stay BF16, half the memory) or f32\n`
  );
}

let reportTo: string | null = null;
let asked = 'auto';
let weights: 'stored' | 'f32' = 'stored';

/** Whether models load with BF16 weights kept as stored (`--weights stored`). */
export function keepStoredWeights(): boolean {
  return weights === 'stored';
}

/**
 * Makes `--backend NAME` the backend every op computes on ('auto' measures the candidates
 * and takes the fastest), notes `--weights`, and returns the name of the backend chosen. With
 * `T2_BACKEND_REPORT=FILE` in the environment, the process writes to FILE at exit
 * `{"asked", "active", "kernelCalls"}`: the kernel calls each backend ran after this
 * choice, so a test can see what computed rather than what was asked for.
 */
export async function useBackend(flags: { backend?: string; weights?: string }): Promise<string> {
  const w = flags.weights ?? 'stored';
  if (w !== 'stored' && w !== 'f32') {
    throw new UsageError(`--weights: 'stored' or 'f32', got '${w}'`);
  }
  weights = w;
  asked = flags.backend ?? 'auto';
  const known = ['auto', ...registeredBackends()];
  if (!known.includes(asked)) {
    throw new UsageError(`--backend: unknown backend '${asked}' (one of ${known.join(', ')})`);
  }
  try {
    await setBackend(asked);
  } catch (err) {
    throw new UsageError(`--backend ${asked}: ${(err as Error).message}`);
  }
  resetKernelCalls();
  const file = process.env.T2_BACKEND_REPORT;
  if (file && reportTo === null) {
    reportTo = file;
    process.once('exit', () => {
      const report = { asked, active: getBackend().name, kernelCalls: kernelCalls() };
      writeFileSync(file, `${JSON.stringify(report)}\n`);
    });
  }
  return getBackend().name;
}
