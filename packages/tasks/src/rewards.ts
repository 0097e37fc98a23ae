import { answerLine } from './extract';
import type { Reward, RewardFn } from './types';

/** +1 when the answer line of the output equals the answer (both trimmed), else −1. */
export const exactMatchReward: RewardFn = (_prompt, output, answer): Reward =>
  answerLine(output) === answer.trim() ? 1 : -1;

const NUMBER = /[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/;

/**
 * +1 when the first number of the answer line is within `tolerance` (absolute)
 * of the numeric answer, else −1. Throws when the answer itself is not a number,
 * since that is a mistake in the data rather than in the model.
 */
export function numericReward(tolerance = 0): RewardFn {
  if (!(tolerance >= 0)) throw new Error(`numericReward: tolerance must be >= 0, got ${tolerance}`);
  return (_prompt, output, answer): Reward => {
    const expected = Number(answer.trim());
    if (answer.trim() === '' || !Number.isFinite(expected)) {
      throw new Error(`numericReward: answer "${answer}" is not a number`);
    }
    const match = NUMBER.exec(answerLine(output));
    if (!match) return -1;
    return Math.abs(Number(match[0]) - expected) <= tolerance ? 1 : -1;
  };
}

function withoutStatefulFlags(pattern: RegExp): RegExp {
  // `g` and `y` make `test` remember `lastIndex` between calls.
  return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
}

function anchored(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

/**
 * +1 when the answer line of the output matches, else −1. With `pattern`, every
 * sample is held to it; without, each sample's answer is the pattern. A string
 * pattern must match the whole answer line; a RegExp is used as written.
 */
export function regexReward(pattern?: RegExp | string): RewardFn {
  if (pattern !== undefined) {
    const re = typeof pattern === 'string' ? anchored(pattern) : withoutStatefulFlags(pattern);
    return (_prompt, output): Reward => (re.test(answerLine(output)) ? 1 : -1);
  }
  const compiled = new Map<string, RegExp>();
  return (_prompt, output, answer): Reward => {
    let re = compiled.get(answer);
    if (!re) {
      re = anchored(answer);
      compiled.set(answer, re);
    }
    return re.test(answerLine(output)) ? 1 : -1;
  };
}

/**
 * Wraps a user reward (`reward(prompt, output, answer)`, as exported by a reward
 * module) so that it always yields a finite number: `true`/`false` become +1/−1.
 */
export function userReward(fn: (...args: string[]) => unknown, name = 'reward'): RewardFn {
  return (prompt, output, answer) => {
    const value = fn(prompt, output, answer);
    if (typeof value === 'boolean') return value ? 1 : -1;
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (value instanceof Promise) {
      value.catch(() => {}); // its outcome is dropped; keep a rejection from going unhandled
      throw new Error(`${name}: must return a number synchronously, not a Promise`);
    }
    throw new Error(`${name}: must return a finite number or a boolean, got ${String(value)}`);
  };
}
