import { writeFileSync } from 'node:fs';
import {
  getBackend,
  kernelCalls,
  registeredBackends,
  resetKernelCalls,
  setBackend,
} from '@t2/tensor-core';
import { UsageError } from './command';

/** `--backend NAME`, spread into a command's flags: every command takes it. */
export const BACKEND_FLAG = { backend: { type: 'string', default: 'auto' } } as const;

/** The line of `--help` that describes it, its text starting at column `column`. */
export function backendUsage(column = 25): string {
  return `${'  --backend NAME'.padEnd(column - 2)}  auto (default: the fastest backend here, measured), wasm, js\n`;
}

let reportTo: string | null = null;
let asked = 'auto';

/**
 * Makes `--backend NAME` the backend every op computes on ('auto' measures the candidates
 * and takes the fastest) and returns the name of the one chosen. With
 * `T2_BACKEND_REPORT=FILE` in the environment, the process writes to FILE at exit
 * `{"asked", "active", "kernelCalls"}`: the kernel calls each backend ran after this
 * choice, so a test can see what computed rather than what was asked for.
 */
export async function useBackend(name: string | undefined): Promise<string> {
  asked = name ?? 'auto';
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
