import type { Sample } from './types';

/** One bad line of a JSONL file. `line` is 1-based. */
export interface JsonlIssue {
  file: string;
  line: number;
  message: string;
}

// Enough to fix a file in one pass without flooding a terminal.
const MAX_LISTED_ISSUES = 20;

/**
 * A JSONL file with bad lines. The message names each bad line as
 * `file:line: why`; `issues` holds all of them and `samples` every good line,
 * so a caller may report the problems and still use the rest.
 */
export class JsonlError extends Error {
  override readonly name = 'JsonlError';

  constructor(
    readonly issues: readonly JsonlIssue[],
    readonly samples: readonly Sample[],
  ) {
    const listed = issues
      .slice(0, MAX_LISTED_ISSUES)
      .map((i) => `${i.file}:${i.line}: ${i.message}`);
    if (issues.length > MAX_LISTED_ISSUES) {
      listed.push(`... and ${issues.length - MAX_LISTED_ISSUES} more bad lines`);
    }
    super(listed.join('\n'));
  }
}

function parseLine(line: string): Sample | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return `invalid JSON (${(error as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'expected an object {"prompt": ..., "answer": ...}';
  }
  const record = value as Record<string, unknown>;
  // "completion" (the name of Hugging Face SFT data) is accepted as an alias of "answer".
  const { prompt, category } = record;
  const answer = 'answer' in record ? record.answer : record.completion;
  if (!('prompt' in record)) return 'missing "prompt"';
  if (typeof prompt !== 'string') return '"prompt" must be a string';
  if (prompt.trim() === '') return '"prompt" is empty';
  if ('answer' in record && 'completion' in record)
    return 'give one of "answer" and "completion", not both';
  if (!('answer' in record) && !('completion' in record)) return 'missing "answer"';
  if (typeof answer !== 'string' && !(typeof answer === 'number' && Number.isFinite(answer))) {
    return '"answer" must be a string or a number';
  }
  if (category !== undefined && typeof category !== 'string') {
    return '"category" must be a string when present';
  }
  const sample: Sample = { prompt, answer: String(answer) };
  if (category !== undefined) sample.category = category;
  return sample;
}

/**
 * Parses user data: one JSON object `{"prompt", "answer"}` per line, with an
 * optional string `"category"`; numeric answers become strings; blank lines and
 * other keys are ignored. Throws a `JsonlError` listing every bad line.
 */
export function parseJsonl(text: string, fileName = '<input>'): Sample[] {
  const samples: Sample[] = [];
  const issues: JsonlIssue[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const parsed = parseLine(line);
    if (typeof parsed === 'string')
      issues.push({ file: fileName, line: index + 1, message: parsed });
    else samples.push(parsed);
  });
  if (issues.length > 0) throw new JsonlError(issues, samples);
  return samples;
}
