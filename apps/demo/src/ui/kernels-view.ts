import type { App } from '../app';
import type { SelftestReport } from '../selftest/selftest';
import { fmt, h } from './dom';

/** Runs tensor-core's kernel self-test on `backend`, in the worker or on this thread. */
export async function runSelftestIn(
  app: App,
  backend: string,
  thread: 'worker' | 'main',
  opts: { only?: string[]; variant?: 'page' | 'defaults' } = {},
): Promise<SelftestReport> {
  if (thread === 'worker') return app.client.request({ type: 'selftest', backend, ...opts });
  const { runSelftest } = await import('../selftest/selftest');
  return runSelftest(backend, 'main', opts);
}

/** How the kernels ran, e.g. "async kernels, intermediates on the GPU". */
function how(r: SelftestReport): string {
  const parts: string[] = [];
  if (r.async) parts.push('async kernels');
  if (r.pipelined !== undefined)
    parts.push(r.pipelined ? 'intermediates on the GPU' : 'intermediates read back');
  if (r.variant === 'defaults') parts.push("tensor-core's defaults");
  return parts.join(', ');
}

/** What a small LLaMA's training step read back, and how close it came to the js backend. */
function residencyLine(x: NonNullable<SelftestReport['residency']>): HTMLElement {
  const text = x.error
    ? `training step failed: ${x.error.split('\n')[0]}`
    : `training step of a small LLaMA: ${x.readbacksDuringPass} readbacks during forward + backward, ${x.readbacks} in all (loss and ${x.parameters} gradients), ${x.uploads} uploads, ${x.reshapes} zero-copy reshapes; loss ${fmt(x.loss, 5)} vs js ${fmt(x.referenceLoss, 5)}, gradients within ${x.gradError.toExponential(1)} (${fmt(x.ms, 0)} ms)`;
  return h(
    'p',
    {
      class: x.ok ? 'ok small' : 'error small',
      'data-testid': 'selftest-residency',
      dataset: { resident: String(x.resident) },
    },
    x.resident ? text : `${text} — results are read back after every op on this backend`,
  );
}

function reportTable(r: SelftestReport): HTMLElement {
  const where = r.thread === 'worker' ? 'the worker' : 'the main thread';
  if (r.unavailable) {
    return h(
      'p',
      { class: 'error', 'data-testid': 'selftest-unavailable', dataset: { backend: r.backend } },
      `${r.backend} (${where}): unavailable — ${r.unavailable}`,
    );
  }
  const failures = r.results.filter((x) => !x.ok);
  const detail = how(r);
  return h(
    'div',
    {
      class: 'report',
      'data-testid': 'selftest-report',
      dataset: { ok: String(r.ok), backend: r.backend, thread: r.thread, variant: r.variant },
    },
    h(
      'p',
      { class: r.ok ? 'ok' : 'error' },
      `${r.backend}${detail ? ` (${detail})` : ''} in ${where}: ${r.passed}/${r.results.length} cases match the js backend (${fmt(r.ms, 0)} ms)`,
    ),
    r.residency ? residencyLine(r.residency) : null,
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
            // A WGSL compile error carries the whole shader; its first lines say what failed.
            h('td', {}, x.error?.split('\n').slice(0, 3).join(' ') ?? (x.ok ? '✓' : '✗')),
          ),
        ),
      ),
    ),
    failures.length
      ? h('p', { class: 'muted' }, `Showing the ${failures.length} failing cases.`)
      : null,
  );
}

/** One line per backend run so far: the per-backend results at a glance. */
function summaryRow(r: SelftestReport): HTMLElement {
  return h(
    'tr',
    {
      class: r.ok ? 'ok' : 'error',
      'data-testid': 'selftest-summary-row',
      dataset: { backend: r.backend },
    },
    h('td', {}, r.backend),
    h('td', {}, r.thread),
    h('td', {}, how(r) || '—'),
    h(
      'td',
      {},
      r.unavailable ? `unavailable: ${r.unavailable}` : `${r.passed}/${r.results.length}`,
    ),
    h('td', {}, fmt(r.ms, 0)),
  );
}

/** View 4: the op suite, so a backend can be trusted before anything trains on it. */
export function kernelsView(app: App): HTMLElement {
  const summaryBody = h('tbody', {});
  const summary = h(
    'table',
    { 'data-testid': 'selftest-summary', hidden: true },
    h(
      'thead',
      {},
      h('tr', {}, ...['backend', 'thread', 'how', 'cases passed', 'ms'].map((t) => h('th', {}, t))),
    ),
    summaryBody,
  );
  const out = h('div', { 'data-testid': 'selftest-output' });
  /** Each backend/thread/variant keeps its latest report, so backends can be compared. */
  const runs = new Map<string, { row: HTMLElement; block: HTMLElement }>();
  const run =
    (target: () => string, thread: 'worker' | 'main', variant: 'page' | 'defaults' = 'page') =>
    async () => {
      const backend = target();
      const key = `${backend}/${thread}/${variant}`;
      let entry = runs.get(key);
      if (!entry) {
        entry = { row: h('tr', {}), block: h('div', {}) };
        runs.set(key, entry);
        summaryBody.append(entry.row);
        out.prepend(entry.block);
        summary.hidden = false;
      }
      const { row, block } = entry;
      block.replaceChildren(h('p', { class: 'muted' }, `running on ${backend} (${thread})…`));
      try {
        const report = await runSelftestIn(app, backend, thread, { variant });
        block.replaceChildren(reportTable(report));
        const next = summaryRow(report);
        row.replaceWith(next);
        entry.row = next;
      } catch (err) {
        block.replaceChildren(h('p', { class: 'error' }, `${backend}: ${(err as Error).message}`));
      }
    };
  const active = () => app.backend?.active ?? 'js';
  const webgpu = app.capabilities.webgpuAdapter;
  return h(
    'section',
    { class: 'view', 'data-view': 'kernels' },
    h(
      'p',
      { class: 'lead' },
      'Every kernel of a backend against the plain-JS reference on random inputs: matmul (all transposes, broadcast batch), broadcasting binary ops, unary ops, softmax, reductions, rmsNorm, rope, attention (GQA, KV cache, masks), cross-entropy and their gradients.',
    ),
    h(
      'div',
      { class: 'row' },
      h(
        'button',
        { onclick: run(active, 'worker'), 'data-testid': 'selftest-worker' },
        'Run on the active backend (worker)',
      ),
      h(
        'button',
        { onclick: run(active, 'main'), 'data-testid': 'selftest-main' },
        'Run on the main thread',
      ),
      h(
        'button',
        { onclick: run(active, 'worker', 'defaults'), 'data-testid': 'selftest-defaults' },
        "Run with tensor-core's defaults",
      ),
      h(
        'button',
        {
          onclick: run(() => 'webgpu', 'worker'),
          'data-testid': 'selftest-webgpu',
          disabled: !webgpu,
          title: webgpu
            ? `WebGPU adapter: ${webgpu}`
            : `no WebGPU adapter (${app.capabilities.webgpuMissing})`,
        },
        'Run on WebGPU',
      ),
    ),
    h(
      'p',
      { class: 'muted small' },
      "gpu.js WebGPU kernels return Promises, so WebGPU runs through tensor-core's asynchronous kernel set (the same kernels, each call awaited); the model itself computes on the synchronous backend shown at the top. On WebGL2 every op's result stays on the GPU as a texture until the host reads it (the training-step line counts the readbacks).",
    ),
    summary,
    out,
  );
}
