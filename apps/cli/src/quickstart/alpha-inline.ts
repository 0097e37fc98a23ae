/** α on one line, largest first: `arith 0.80 · logic 0.15 · string 0.05`; one-hot as the one name. */
export function inlineAlpha(alpha: Record<string, number> | null): string {
  if (alpha === null) return 'base model';
  const entries = Object.entries(alpha).sort((a, b) => b[1] - a[1]);
  if (entries[0] && entries[0][1] >= 0.995) return `α ${entries[0][0]} 1.00`;
  return `α ${entries
    .filter(([, a]) => a >= 0.005)
    .map(([name, a]) => `${name} ${a.toFixed(2)}`)
    .join(' · ')}`;
}
