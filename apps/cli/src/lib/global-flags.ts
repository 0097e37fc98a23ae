import { setFiniteChecks } from '@t2/tensor-core';

/** Flags every command accepts; they are taken out before the command parses its own. */
export const GLOBAL_FLAGS_USAGE =
  '  --skip-finite-check    do not scan loaded weights, adapters and experts for NaN/Infinity (faster)\n';

/**
 * Applies and removes the global flags from a command's arguments. `--skip-finite-check`
 * turns off the NaN/Infinity scan of loaded weights; `resetGlobalFlags` turns it back on.
 */
export function applyGlobalFlags(args: string[]): string[] {
  const rest = args.filter((a) => a !== '--skip-finite-check');
  setFiniteChecks(rest.length === args.length);
  return rest;
}

export function resetGlobalFlags(): void {
  setFiniteChecks(true);
}
