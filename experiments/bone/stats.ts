/** Small statistics over loss histories and repeated runs. */

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (0 for a single value). */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Trailing moving average: entry i averages losses[max(0, i−window+1) ..= i]. */
export function movingAverage(losses: readonly number[], window: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < losses.length; i++) {
    sum += losses[i]!;
    if (i >= window) sum -= losses[i - window]!;
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}

/**
 * First optimizer step (1-based) at which the trailing `window`-step mean training loss is at
 * or below `threshold`; null when it never gets there. Single batches are noisy, so the
 * mean over a full window is required.
 */
export function stepsToThreshold(
  losses: readonly number[],
  threshold: number,
  window: number,
): number | null {
  const smooth = movingAverage(losses, window);
  for (let i = window - 1; i < smooth.length; i++) if (smooth[i]! <= threshold) return i + 1;
  return null;
}

/** `mean ± std` with `digits` decimals (just the value for one run). */
export function formatMeanStd(xs: readonly number[], digits: number): string {
  if (xs.length === 0) return '–';
  const m = mean(xs).toFixed(digits);
  return xs.length > 1 ? `${m} ± ${std(xs).toFixed(digits)}` : m;
}
