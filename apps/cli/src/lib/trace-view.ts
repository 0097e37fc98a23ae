import type { Trace } from '@t2/transformer2-runtime';
import type { CommandIO } from './command';
import { formatDuration, ProgressBar } from './progress';
import type { ExpertInfo } from './runtime';

/** `math   ████████░░ 0.80`: one bar per expert. */
export function alphaBars(
  alpha: Record<string, number>,
  experts: readonly ExpertInfo[],
  width = 10,
): string[] {
  const names = Object.keys(alpha);
  const title = (name: string) => {
    const label = experts.find((e) => e.name === name)?.label;
    return label && label !== name ? `${name} (${label})` : name;
  };
  const pad = Math.max(...names.map((n) => title(n).length));
  return names.map((name) => {
    const a = alpha[name]!;
    const filled = Math.max(0, Math.min(width, Math.round(a * width)));
    return `${title(name).padEnd(pad)}  ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${a.toFixed(2)}`;
  });
}

function ms(value: number): string {
  return value >= 10_000 ? formatDuration(value / 1000) : `${Math.round(value)} ms`;
}

/** The trace as indented lines for the terminal: strategy, pass 1, α bars, timings. */
export function renderTrace(trace: Trace, experts: readonly ExpertInfo[]): string[] {
  const lines: string[] = [];
  const row = (key: string, value: string) => lines.push(`  ${key.padEnd(10)} ${value}`);
  row('strategy', trace.strategy);
  if (trace.pass1Output !== undefined) {
    row(
      'pass 1',
      `${JSON.stringify(trace.pass1Output)} → ${trace.label} (${ms(trace.timings.pass1Ms)})`,
    );
  } else if (trace.label !== undefined) {
    row('label', `${trace.label} (given)`);
  }
  if (trace.task !== undefined) {
    row(
      'task',
      `${trace.task}: α ${trace.alphaSource === 'cache' ? 'from the cache' : `searched now (${ms(trace.timings.adaptMs)})`}`,
    );
  }
  if (trace.alpha === null) {
    row(
      'α',
      trace.label !== undefined ? `no expert serves '${trace.label}': base model` : 'base model',
    );
  } else {
    const [first, ...rest] = alphaBars(trace.alpha, experts);
    row('α', first!);
    for (const line of rest) row('', line);
    if (trace.alphaPerLayer) {
      row(
        '',
        `(mean over ${trace.alphaPerLayer[0]?.length ?? 0} adapted weights; --json has each)`,
      );
    }
  }
  const t = trace.timings;
  row(
    'timings',
    `pass 1 ${ms(t.pass1Ms)} · adapt ${ms(t.adaptMs)} · compose ${ms(t.composeMs)}${trace.cacheHit && trace.alpha ? ' (cached)' : ''} · pass 2 ${ms(t.pass2Ms)} · total ${ms(t.totalMs)}`,
  );
  return lines;
}

/**
 * A CEM progress bar on stderr: the `onIteration` hook, and `finish` (a no-op if no search
 * ran). With `erase`, a terminal's bar is wiped when done, for reports that print a summary.
 */
export function cemProgress(
  io: CommandIO,
  label: string,
  iterations: number,
  opts: { erase?: boolean } = {},
) {
  const bar = new ProgressBar(iterations, io.stderr, io.isTTY, { label, unit: 'iter' });
  let started = false;
  return {
    onIteration: (p: { iteration: number; best: { accuracy: number; logLik: number } }) => {
      started = true;
      bar.update(p.iteration + 1, { best: p.best.accuracy, 'log p': p.best.logLik });
    },
    finish: () => {
      if (!started) return;
      if (opts.erase) eraseProgress(io, bar);
      else bar.finish();
    },
  };
}

/** Ends a progress bar: on a terminal its line is wiped, elsewhere it is left as logged. */
export function eraseProgress(io: CommandIO, bar: ProgressBar): void {
  if (io.isTTY) io.stderr('\r\x1b[2K');
  else bar.finish();
}
