import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './command';
import { closestNames } from './suggest';

/** node:util parseArgs, with its errors reported as usage errors. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: false; strict: true }>
> {
  // `--steps -3` is a value, not an option: joined as `--steps=-3`, it reaches the flag's own
  // check ("--steps: expected an integer ≥ 1, got '-3'") instead of node's parser message.
  const args = argv.flatMap((arg, i) => {
    const prev = argv[i - 1];
    const name = prev?.startsWith('--') ? prev.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && /^-(\d|\.\d|Infinity)/.test(arg))
      return [];
    const next = argv[i + 1];
    if (
      arg.startsWith('--') &&
      options[arg.slice(2)]?.type === 'string' &&
      next !== undefined &&
      /^-(\d|\.\d|Infinity)/.test(next)
    )
      return [`${arg}=${next}`];
    return [arg];
  });
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true });
  } catch (err) {
    const message = (err as Error).message;
    // "Unknown option '--stpes'" → one line with the option it probably meant, instead of
    // node's advice about positional arguments (t2 takes none).
    const unknown = /^Unknown option '-{1,2}([^']+)'/.exec(message);
    if (unknown) {
      const guesses = closestNames(unknown[1]!, Object.keys(options));
      throw new UsageError(
        `unknown option '${message.split("'")[1]}'${
          guesses.length
            ? ` — did you mean ${guesses.map((g) => `'--${g}'`).join(' or ')}?`
            : ' (--help lists the options)'
        }`,
      );
    }
    throw new UsageError(message);
  }
}

/** "1,2,3" (commas and/or spaces) → token ids, checked against the vocabulary when given. */
export function parseTokenList(text: string, vocabSize?: number, flag = '--tokens'): number[] {
  const parts = text.split(/[\s,]+/).filter((p) => p.length > 0);
  if (parts.length === 0) throw new UsageError(`${flag}: no token ids in '${text}'`);
  return parts.map((p) => {
    const id = Number(p);
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(id))
      throw new UsageError(`${flag}: '${p}' is not a token id`);
    if (vocabSize !== undefined && id >= vocabSize) {
      throw new UsageError(`${flag}: token id ${id} is outside the vocabulary [0, ${vocabSize})`);
    }
    return id;
  });
}

/** A numeric flag value, checked. */
export function parseNumber(
  value: string | undefined,
  flag: string,
  opts: { integer?: boolean; min?: number; max?: number; fallback: number },
): number {
  if (value === undefined) return opts.fallback;
  const n = Number(value);
  const { integer = false, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY } = opts;
  if (
    value.trim() === '' ||
    !Number.isFinite(n) ||
    (integer && !Number.isInteger(n)) ||
    n < min ||
    n > max
  ) {
    const range = `${Number.isFinite(min) ? `≥ ${min}` : ''}${Number.isFinite(min) && Number.isFinite(max) ? ' and ' : ''}${Number.isFinite(max) ? `≤ ${max}` : ''}`;
    throw new UsageError(
      `${flag}: expected ${integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}, got '${value}'`,
    );
  }
  return n;
}
