/**
 * A one-line progress bar with rate and ETA. On a terminal it redraws in place; elsewhere
 * (CI logs, pipes) it prints a line every `everyPercent` percent so logs stay short.
 */
export class ProgressBar {
  private readonly start = Date.now();
  private lastPrinted = -1;

  constructor(
    private readonly total: number,
    private readonly write: (text: string) => void,
    private readonly isTTY: boolean,
    private readonly opts: {
      label?: string;
      unit?: string;
      width?: number;
      everyPercent?: number;
    } = {},
  ) {}

  update(done: number, fields: Record<string, string | number> = {}): void {
    const { label = '', unit = 'it', width = 24, everyPercent = 10 } = this.opts;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const percent = Math.floor(frac * 100);
    if (!this.isTTY && done < this.total && percent < this.lastPrinted + everyPercent) return;
    this.lastPrinted = percent;
    const elapsed = (Date.now() - this.start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (this.total - done) / rate : 0;
    const filled = Math.round(frac * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? formatNumber(v) : v}`)
      .join('  ');
    const line = `${label}${label ? ' ' : ''}${bar} ${done}/${this.total}  ${rate.toFixed(1)} ${unit}/s  ETA ${formatDuration(eta)}${extra ? `  ${extra}` : ''}`;
    this.write(this.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  finish(summary?: string): void {
    if (this.isTTY) this.write('\n');
    if (summary) this.write(`${summary}\n`);
  }
}

function formatNumber(v: number): string {
  return Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toPrecision(4);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
