import type { TextTokenizer } from '@t2/llama';
import {
  families,
  getFamily,
  JsonlError,
  mixture,
  parseJsonl,
  type Sample,
  type Split,
  sampleTask,
  type TaskFamily,
} from '@t2/tasks';
import { readTextBounded, tooLongProblems } from '@t2/tensor-core';
import { UsageError } from './command';

/** `--task arith` or `--task arith,string,logic` (a uniform mixture). */
export function parseFamilies(spec: string): TaskFamily[] {
  const names = spec.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new UsageError(`--task: empty family name in '${spec}'`);
  return names.map((name) => {
    try {
      return getFamily(name);
    } catch {
      throw new UsageError(
        `--task: unknown task family '${name}' (known: ${families.map((f) => f.name).join(', ')})`,
      );
    }
  });
}

/** `n` problems of `split` from the families; each family alone, or a seeded mixture. */
export function drawSamples(
  fams: readonly TaskFamily[],
  opts: { n: number; seed: number; split: Split; unique?: boolean },
): Sample[] {
  try {
    return fams.length === 1 ? sampleTask(fams[0]!, opts) : mixture(fams, opts);
  } catch (err) {
    throw new UsageError(`--task: ${(err as Error).message}`);
  }
}

/** A user JSONL file of `{"prompt", "answer"}`; bad lines are reported as `file:line: why`. */
export async function readDataFile(path: string): Promise<Sample[]> {
  try {
    // Lines are bounded in memory (1 MiB each); devices and folders are refused.
    const read = await readTextBounded(path);
    const long = tooLongProblems(path, read);
    let samples: Sample[];
    try {
      samples = parseJsonl(read.text, path);
    } catch (err) {
      if (err instanceof JsonlError && long.length)
        throw new UsageError(`${long.join('\n')}\n${err.message}`);
      throw err;
    }
    if (long.length) throw new UsageError(long.join('\n'));
    return samples;
  } catch (err) {
    if (err instanceof JsonlError) throw new UsageError(err.message);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`--data ${path}: no such file`);
    throw err;
  }
}

/** The category a family set trains: its shared category, or the family names joined. */
export function defaultLabel(fams: readonly TaskFamily[]): string {
  const categories = [...new Set(fams.map((f) => f.category))];
  return categories.length === 1 ? categories[0]! : fams.map((f) => f.name).join('+');
}

/** Answer budget for user data: the longest answer in tokens, its newline, and a little slack. */
export function answerBudget(tokenizer: TextTokenizer, samples: readonly Sample[]): number {
  let longest = 0;
  for (const s of samples) {
    longest = Math.max(longest, tokenizer.encode(s.answer, { addSpecialTokens: false }).length);
  }
  return Math.max(8, longest + 2);
}

/**
 * Task answers: a composite answer is at most 10 characters (`ABCDE 198`), 15 in its
 * distractor form (`"ABCDE" 198.0`); with the newline that ends it this leaves room.
 */
export const TASK_MAX_NEW_TOKENS = 16;
