import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs the built `t2` CLI and returns its stdout (throws with stderr on failure). */
export async function t2(args: string[]): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, ['apps/cli/dist/main.js', ...args], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`t2 ${args.join(' ')} failed:\n${e.stderr ?? e.message}`);
  }
}

/** `t2 eval … --json`, parsed. */
export async function t2Eval(args: string[]): Promise<{ accuracy: number; n: number; correct: number }> {
  return JSON.parse((await t2(['eval', ...args, '--json'])).trim().split('\n').pop()!);
}

/** Seconds taken by `fn`. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = Date.now();
  const value = await fn();
  return [value, (Date.now() - start) / 1000];
}

/** Mean and a normal-approximation 95% confidence half-width of a sample. */
export function meanCi(xs: readonly number[]): { mean: number; ci95: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, ci95: 0 };
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { mean, ci95: (1.96 * sd) / Math.sqrt(n) };
}

/** Parses `--name value` flags with defaults. */
export function flags<T extends Record<string, string>>(defaults: T): T {
  const out: Record<string, string> = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!.replace(/^--/, '');
    if (!(key in defaults)) throw new Error(`unknown flag ${argv[i]} (known: ${Object.keys(defaults).join(', ')})`);
    out[key] = argv[++i]!;
  }
  return out as T;
}
