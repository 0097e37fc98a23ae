import type { ExpertInfo } from '../lib/runtime';

/** The experts as a table: what each serves and how many singular values it scales. */
export function renderExperts(experts: readonly ExpertInfo[]): string[] {
  const rows = experts.map((e) => [
    e.name,
    e.role === 'classifier' ? '—' : e.label,
    e.role === 'classifier' ? 'pass 1 of the classifier strategy' : 'pass 2 (mixed by α)',
    String(e.targets),
    e.values.toLocaleString('en-US'),
  ]);
  const header = ['expert', 'category', 'used in', 'weights', 'z values'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
