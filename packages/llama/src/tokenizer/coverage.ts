import type { TextTokenizer } from './tokenizer';

/**
 * Characters of the samples the tokenizer cannot represent (it maps them to its unknown
 * token, or drops them), as a one-line reason; null when every text round-trips. Whole
 * prompts and answers are checked (a word-level vocabulary reads `w461` though it has no
 * token for `4`); the characters named are those of the failing texts that fail alone.
 */
export function tokenizerCoverageProblem(
  tokenizer: TextTokenizer,
  samples: readonly { prompt: string; answer: string }[],
): string | null {
  const unkText = tokenizer.tokenizerConfig.unk_token;
  const unkToken =
    typeof unkText === 'string'
      ? unkText
      : typeof (unkText as { content?: unknown } | undefined)?.content === 'string'
        ? (unkText as { content: string }).content
        : '<unk>';
  const unkId = tokenizer.tokenToId(unkToken);
  // Whitespace may be normalised away (SentencePiece's leading space): compare without it.
  const squeeze = (t: string) => t.replace(/\s+/g, '');
  const fails = (text: string): boolean => {
    if (squeeze(text) === '') return false;
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    if (ids.length === 0) return true;
    if (unkId !== undefined && ids.includes(unkId)) return true;
    return squeeze(tokenizer.decode(ids, { skipSpecialTokens: true })) !== squeeze(text);
  };
  const failing: string[] = [];
  const seen = new Set<string>();
  for (const s of samples) {
    for (const text of [s.prompt, s.answer]) {
      if (seen.has(text)) continue;
      seen.add(text);
      if (fails(text)) failing.push(text);
    }
  }
  if (failing.length === 0) return null;
  const missing = [...new Set(failing.flatMap((t) => [...t]))].filter((c) => fails(c));
  if (missing.length === 0) {
    return `the tokenizer cannot encode ${failing.length} of the samples' texts faithfully (e.g. ${JSON.stringify(failing[0])})`;
  }
  const shown = missing
    .slice(0, 8)
    .map((c) => JSON.stringify(c))
    .join(' ');
  const at = samples.find((s) => [...(s.prompt + s.answer)].some((c) => c === missing[0]));
  return `the tokenizer has no token for ${missing.length} character${missing.length === 1 ? '' : 's'} the samples use: ${shown}${missing.length > 8 ? ' …' : ''} (e.g. in ${JSON.stringify(at ? `${at.prompt}${at.answer}` : '')})`;
}
