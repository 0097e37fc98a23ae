/**
 * A one-line progress bar with rate and ETA. On a terminal it redraws in place; elsewhere
 * (CI logs, pipes) it prints a line every `everyPercent` percent so logs stay short.
 */
export class ProgressBar {
  private readonly start: number;
  private lastPrinted = -1;
  /** Units done before this run (a resumed run's earlier steps): not part of the rate. */
  private base = 0;

  constructor(
    private readonly total: number,
    private readonly write: (text: string) => void,
    private readonly isTTY: boolean,
    private readonly opts: {
      label?: string;
      unit?: string;
      width?: number;
      everyPercent?: number;
      /** Clock in milliseconds (tests); default Date.now. */
      now?: () => number;
    } = {},
  ) {
    this.start = this.now();
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  /**
   * The count this run starts from (a resumed run's step): rate and ETA count only what is
   * done after it, since the bar was made.
   */
  resumeFrom(done: number): void {
    this.base = Math.max(0, Math.min(done, this.total));
  }

  update(done: number, fields: Record<string, string | number> = {}): void {
    const { label = '', unit = 'it', width = 24, everyPercent = 10 } = this.opts;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const percent = Math.floor(frac * 100);
    if (!this.isTTY && done < this.total && percent < this.lastPrinted + everyPercent) return;
    this.lastPrinted = percent;
    const elapsed = (this.now() - this.start) / 1000;
    const rate = elapsed > 0 ? Math.max(0, done - this.base) / elapsed : 0;
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

/** What a training loop reports per step (@t2/sft's StepInfo, the fields the bar uses). */
interface StepReport {
  step: number;
  loss: number;
  tokensPerSecond: number;
  lr?: number;
}

/**
 * `onStep`/`onEval` of a training run (`t2 train`, `t2 pretrain`): with `json`, one JSON line
 * per event on stdout; otherwise the bar, whose rate and ETA count only this run's steps (a
 * resumed run starts after its checkpoint), with the last eval loss as a column on a terminal
 * and as a log line elsewhere.
 */
export function trainingHooks<S extends StepReport>(
  bar: ProgressBar,
  io: { stdout: (t: string) => void; stderr: (t: string) => void; isTTY: boolean },
  json: boolean,
  columns: (s: S) => Record<string, number> = (s) => ({
    loss: s.loss,
    'tok/s': Math.round(s.tokensPerSecond),
    ...(s.lr !== undefined && { lr: s.lr }),
  }),
) {
  let fields: Record<string, number> = {};
  let evalLoss: number | undefined;
  let first = true;
  return {
    onStep: (s: S) => {
      if (json) {
        io.stdout(`${JSON.stringify({ event: 'step', ...s })}\n`);
        return;
      }
      if (first) bar.resumeFrom(s.step - 1);
      first = false;
      fields = columns(s);
      bar.update(s.step, { ...fields, ...(evalLoss !== undefined && { eval: evalLoss }) });
    },
    onEval: (step: number, loss: number) => {
      if (json) {
        io.stdout(`${JSON.stringify({ event: 'eval', step, loss })}\n`);
      } else if (io.isTTY) {
        // The bar redraws in place: the eval loss is one of its columns.
        evalLoss = loss;
        bar.update(step, { ...fields, eval: loss });
      } else {
        io.stderr(`eval at step ${step}: loss ${loss.toFixed(4)}\n`);
      }
    },
  };
}
