/** Edit distance between two short words (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The names a mistyped `word` probably meant, closest first: within two edits (one for
 * short names), or starting with it.
 */
export function closestNames(word: string, names: readonly string[]): string[] {
  return names
    .map((name) => ({ name, d: editDistance(word, name) }))
    .filter((c) => c.d <= Math.min(2, Math.max(1, c.name.length - 2)) || c.name.startsWith(word))
    .sort((a, b) => a.d - b.d)
    .map((c) => c.name);
}
