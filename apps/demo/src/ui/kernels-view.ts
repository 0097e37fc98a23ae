import type { App } from '../app';
import type { SelftestReport } from '../selftest/selftest';
import { fmt, h } from './dom';

/** Runs tensor-core's kernel self-test on the active backend, in the worker or on this thread. */
export async function runSelftestIn(
  app: App,
  backend: string,
  thread: 'worker' | 'main',
  opts: { only?: string[]; variant?: 'page' | 'defaults' } = {},
): Promise<SelftestReport> {
  if (thread === 'worker') return app.client.request({ type: 'selftest', backend, ...opts });
  const [{ runSelftest }, { installPageBackends }] = await Promise.all([
    import('../selftest/selftest'),
    import('../page-backends'),
  ]);
  installPageBackends();
  return runSelftest(backend, 'main', opts);
}

function reportTable(r: SelftestReport): HTMLElement {
  if (r.unavailable) {
    return h('p', { class: 'error' }, `${r.backend} (${r.thread}): unavailable — ${r.unavailable}`);
  }
  const failures = r.results.filter((x) => !x.ok);
  return h(
    'div',
    { class: 'report', 'data-testid': 'selftest-report', dataset: { ok: String(r.ok) } },
    h(
      'p',
      { class: r.ok ? 'ok' : 'error' },
      `${r.backend}${r.pipelined === undefined ? '' : r.pipelined ? ' (intermediates on the GPU)' : ' (intermediates read back)'} in the ${r.thread === 'worker' ? 'worker' : 'main thread'}: ${r.passed}/${r.results.length} cases match the js backend (${fmt(r.ms, 0)} ms)`,
    ),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h('tr', {}, ...['kernel', 'case', 'max |Δ|', 'bad', 'ms', ''].map((t) => h('th', {}, t))),
      ),
      h(
        'tbody',
        {},
        ...(failures.length ? failures : r.results).map((x) =>
          h(
            'tr',
            { class: x.ok ? 'ok' : 'error' },
            h('td', {}, x.kernel),
            h('td', {}, x.name),
            h('td', {}, fmt(x.maxAbsErr, 6)),
            h('td', {}, String(x.mismatches)),
            h('td', {}, fmt(x.ms, 1)),
            h('td', {}, x.error ?? (x.ok ? '✓' : '✗')),
          ),
        ),
      ),
    ),
    failures.length
      ? h('p', { class: 'muted' }, `Showing the ${failures.length} failing cases.`)
      : null,
  );
}

/** View 4: the op suite, so a backend can be trusted before anything trains on it. */
export function kernelsView(app: App): HTMLElement {
  const out = h('div', { 'data-testid': 'selftest-output' });
  const run =
    (thread: 'worker' | 'main', variant: 'page' | 'defaults' = 'page') =>
    async () => {
      const backend = app.backend?.active ?? 'js';
      out.replaceChildren(h('p', { class: 'muted' }, `running on ${backend} (${thread})…`));
      try {
        out.replaceChildren(reportTable(await runSelftestIn(app, backend, thread, { variant })));
      } catch (err) {
        out.replaceChildren(h('p', { class: 'error' }, (err as Error).message));
      }
    };
  return h(
    'section',
    { class: 'view', 'data-view': 'kernels' },
    h(
      'p',
      { class: 'lead' },
      'Every kernel of the active backend against the plain-JS reference on random inputs: matmul (all transposes, broadcast batch), broadcasting binary ops, unary ops, softmax, reductions, rmsNorm, rope, attention (GQA, KV cache, masks), cross-entropy and their gradients.',
    ),
    h(
      'div',
      { class: 'row' },
      h(
        'button',
        { onclick: run('worker'), 'data-testid': 'selftest-worker' },
        'Run in the worker',
      ),
      h(
        'button',
        { onclick: run('main'), 'data-testid': 'selftest-main' },
        'Run on the main thread',
      ),
      h(
        'button',
        { onclick: run('worker', 'defaults'), 'data-testid': 'selftest-defaults' },
        "Run with tensor-core's defaults",
      ),
    ),
    h(
      'p',
      { class: 'muted small' },
      "The page's WebGL backends read intermediate results back to the CPU: with tensor-core's default (intermediates kept on the GPU) the attention kernels currently fail after softmax has run, because both share the rowMax/rowSumExp kernels and gpu.js cannot switch a compiled kernel from arrays to textures.",
    ),
    out,
  );
}
