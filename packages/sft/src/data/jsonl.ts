import {
  DEFAULT_MAX_LINE_BYTES,
  InputError,
  readTextBounded,
  tooLongProblems,
} from '@t2/tensor-core';
import type { ChatMessage, SftExample } from '../types';

/** A JSONL file with bad lines; every problem is listed as `file:line: why`. */
export class SftDataError extends InputError {
  override name = 'SftDataError';
  constructor(
    readonly problems: string[],
    /** The lines that did parse, so nothing is lost. */
    readonly examples: SftExample[],
  ) {
    // One bad line is one line of message; more are listed under a count.
    super(
      problems.length === 1
        ? problems[0]!
        : `${problems.length} bad lines:\n${problems.slice(0, 20).join('\n')}${problems.length > 20 ? `\n… and ${problems.length - 20} more` : ''}`,
    );
  }
}

/**
 * Parses supervised data: one JSON object per line, either `{"prompt", "answer"}` (the name
 * t2's evaluation data uses; `"completion"` is accepted as an alias),
 * `{"messages": [{"role", "content"}, …]}` (rendered with the chat template) or
 * `{"text"}` (loss on every token, for pretraining). Blank lines are skipped.
 */
export function parseSftJsonl(text: string, fileName = '<input>'): SftExample[] {
  const examples: SftExample[] = [];
  const problems: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${fileName}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      problems.push(`${where}: invalid JSON (${(err as Error).message})`);
      return;
    }
    const why = validate(value);
    if (typeof why === 'string') problems.push(`${where}: ${why}`);
    else examples.push(why);
  });
  if (problems.length) throw new SftDataError(problems, examples);
  return examples;
}

function validate(value: unknown): SftExample | string {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'expected a JSON object';
  const v = value as Record<string, unknown>;
  if ('messages' in v) {
    if (!Array.isArray(v.messages) || v.messages.length === 0)
      return '"messages" must be a non-empty array';
    const messages: ChatMessage[] = [];
    for (const [k, m] of v.messages.entries()) {
      const mm = m as Record<string, unknown>;
      if (!mm || typeof mm.role !== 'string' || typeof mm.content !== 'string') {
        return `message ${k} needs string "role" and "content"`;
      }
      messages.push({ role: mm.role, content: mm.content });
    }
    if (messages[messages.length - 1]!.role !== 'assistant')
      return 'the last message must be from the assistant';
    return { kind: 'chat', messages };
  }
  if ('prompt' in v || 'answer' in v || 'completion' in v) {
    // "answer" is the name every t2 command reads (eval, rl, run --shots); "completion" is its alias.
    if (typeof v.prompt !== 'string') return '"prompt" must be a string';
    if ('answer' in v && 'completion' in v)
      return 'give one of "answer" and "completion", not both';
    const key = 'answer' in v ? 'answer' : 'completion';
    const answer = typeof v[key] === 'number' && Number.isFinite(v[key]) ? String(v[key]) : v[key];
    if (answer === undefined) return 'missing "answer" (or its alias "completion")';
    if (typeof answer !== 'string') return `"${key}" must be a string`;
    if (answer === '') return `"${key}" is empty`;
    return { kind: 'completion', prompt: v.prompt, completion: answer };
  }
  if ('text' in v) {
    if (typeof v.text !== 'string' || v.text === '') return '"text" must be a non-empty string';
    return { kind: 'text', text: v.text };
  }
  return 'expected {"prompt", "answer"} ("completion" is an alias of "answer"), {"messages"} or {"text"}';
}

/**
 * Reads and parses a JSONL file (Node). Lines are bounded in memory (`maxLineBytes`,
 * 1 MiB by default): a longer line is reported as a bad line without being read into memory
 * or tokenized; devices and folders are refused.
 */
export async function readSftJsonl(
  path: string,
  opts: { maxLineBytes?: number } = {},
): Promise<SftExample[]> {
  const read = await readTextBounded(path, opts);
  const long = tooLongProblems(path, read, opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  try {
    const examples = parseSftJsonl(read.text, path);
    if (long.length) throw new SftDataError(long, examples);
    return examples;
  } catch (err) {
    if (err instanceof SftDataError && long.length && err.problems !== long) {
      throw new SftDataError([...long, ...err.problems].sort(byLine), err.examples);
    }
    throw err;
  }
}

/** Orders "file:line: …" messages by line number. */
function byLine(a: string, b: string): number {
  const n = (s: string) => Number(/:(\d+): /.exec(s)?.[1] ?? 0);
  return n(a) - n(b);
}
