import { pairedComparison, type TaskFamily } from '@t2/tasks';
import type { StrategyEvaluation } from '@t2/transformer2-runtime';

/** What the table shows for one strategy. */
export interface TableRow {
  name: string;
  result: StrategyEvaluation;
}

/**
 * Accuracy per family (columns) for each strategy (rows), with the overall accuracy, its gain
 * over the first row (the base model) on the same problems with a 95% paired-bootstrap
 * interval, how often pass 1 named the right category, and the time per prompt. Held-out
 * families are starred.
 */
export function renderAccuracyTable(
  rows: readonly TableRow[],
  fams: readonly TaskFamily[],
): string[] {
  const columns = [
    ...fams.map((f) => `${f.name}${f.heldOut ? '*' : ''}`),
    'all',
    'gain [95% CI]',
    'routing',
    'ms/prompt',
  ];
  const scores = (r: TableRow) => r.result.evaluation.results.map((x) => (x.correct ? 1 : 0));
  const base = rows[0] ? scores(rows[0]) : [];
  const pts = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
  const gain = (r: TableRow, i: number): string => {
    if (i === 0 || base.length === 0) return '—';
    const c = pairedComparison(base, scores(r), { resamples: 2000 });
    return `${pts(c.diff)} [${pts(c.ci95[0])}, ${pts(c.ci95[1])}]`;
  };
  const cells = rows.map((r, i) => {
    const e = r.result.evaluation;
    return [
      ...fams.map((f) => (e.perFamily[f.name]?.accuracy ?? 0).toFixed(2)),
      e.accuracy.toFixed(2),
      gain(r, i),
      r.result.routing ? r.result.routing.accuracy.toFixed(2) : '—',
      r.result.timings.totalMs.toFixed(0),
    ];
  });
  const nameWidth = Math.max('strategy'.length, ...rows.map((r) => r.name.length));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (name: string, values: string[]) =>
    `${name.padEnd(nameWidth)}  ${values.map((v, i) => v.padStart(widths[i]!)).join('  ')}`;
  const lines = [line('strategy', columns), ...rows.map((r, i) => line(r.name, cells[i]!))];
  if (fams.some((f) => f.heldOut)) {
    lines.push(
      `* held out: no expert was trained on it; the oracle and routing count its nearest category (${fams
        .filter((f) => f.heldOut)
        .map((f) => `${f.name} → ${f.category}`)
        .join(', ')})`,
    );
  }
  lines.push(
    "gain: points over the base row on the same problems, 95% paired-bootstrap interval; routing: how often pass 1 named the prompt's category (prompt, classifier)",
  );
  return lines;
}
