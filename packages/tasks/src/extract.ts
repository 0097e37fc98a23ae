/**
 * Answer extraction. Training text is `prompt + answer + '\n'`, so a model's
 * answer is what it writes before its first newline.
 */
export const ANSWER_END = '\n';

/** The output up to the first newline, trimmed. */
export function answerLine(output: string): string {
  const end = output.indexOf(ANSWER_END);
  return (end < 0 ? output : output.slice(0, end)).trim();
}

/** The first whitespace-separated token of the answer line, without trailing punctuation. */
export function extractToken(output: string): string {
  const token = answerLine(output).split(/\s+/)[0] ?? '';
  return token.replace(/[.,;:!?]+$/, '');
}

// A whole integer token: `47`, `= 47 apples`, `47.` but not `47x`, `x47` or `4.5`.
const INTEGER = /(?<![\w.])[-+]?\d+(?!\w|\.\d)/;

/** The first integer of the answer line in canonical form (`007` → `7`, `-0` → `0`), or ''. */
export function extractInteger(output: string): string {
  const match = INTEGER.exec(answerLine(output));
  if (!match) return '';
  let digits = match[0];
  const negative = digits.startsWith('-');
  digits = digits.replace(/^[-+]/, '').replace(/^0+(?=\d)/, '');
  return negative && digits !== '0' ? `-${digits}` : digits;
}
