import './style.css';
import { type App, createApp } from './app';
import { backendChoices, preferredBackend, probeCapabilities } from './backends';
import { WorkerClient } from './client';
import { collectDroppedFiles } from './drop';
import type { ModelSourceSpec } from './protocol';
import { chatView } from './ui/chat-view';
import { h, select } from './ui/dom';
import { kernelsView, runSelftestIn } from './ui/kernels-view';
import { svfView } from './ui/svf-view';
import { trainView } from './ui/train-view';

/** What the end-to-end tests read and drive (see test/e2e.test.ts). */
interface DemoHandle {
  app?: App;
  ready?: Promise<void>;
  [key: string]: unknown;
}
const handle: DemoHandle = {};
(window as unknown as { t2demo: DemoHandle }).t2demo = handle;

const params = new URLSearchParams(location.search);

function statusLine(): [HTMLElement, App['status']] {
  const el = h('div', { class: 'status', 'data-testid': 'status', role: 'status' });
  return [
    el,
    (text, kind = 'info') => {
      el.textContent = text;
      el.className = `status ${kind}`;
    },
  ];
}

function tabs(views: [id: string, label: string, view: HTMLElement][]): HTMLElement {
  const bar = h('nav', { class: 'tabs', role: 'tablist' });
  const show = (name: string) => {
    for (const [n, , v] of views) {
      v.hidden = n !== name;
      if (n === name) (v as HTMLElement & { onShow?: () => void }).onShow?.();
    }
    for (const b of bar.querySelectorAll('button'))
      b.setAttribute('aria-selected', String(b.dataset.tab === name));
  };
  for (const [name, label] of views) {
    bar.append(
      h(
        'button',
        {
          role: 'tab',
          dataset: { tab: name },
          'data-testid': `tab-${name}`,
          onclick: () => show(name),
        },
        label,
      ),
    );
  }
  show(views[0]![0]);
  return bar;
}

async function main(): Promise<void> {
  const root = document.getElementById('app')!;
  const [status, setStatus] = statusLine();
  const capabilities = await probeCapabilities();
  const client = new WorkerClient();
  const app = createApp(client, capabilities, setStatus);
  handle.app = app;
  handle.capabilities = capabilities;
  handle.selftest = (
    backend: string,
    thread: 'worker' | 'main' = 'worker',
    opts: { only?: string[]; variant?: 'page' | 'defaults' } = {},
  ) => runSelftestIn(app, backend, thread, opts);
  // For scripts/bench-browser.ts: benchmarks in this page's worker.
  handle.bench = (seconds?: number, which?: 'matmul' | 'gl-training') =>
    client.request({ type: 'bench', seconds, which });

  // Backend: what runs, what was asked for, and a switch.
  const choices = backendChoices(capabilities);
  const backendSelect = select(
    choices.map((c) => ({
      value: c.name,
      label: c.available ? c.label : `${c.label} — unavailable`,
      disabled: !c.available,
      title: c.available ? undefined : c.why,
    })),
    { 'data-testid': 'backend-select' },
  );
  const activePill = h('span', { class: 'pill', 'data-testid': 'backend-active' }, '…');
  const backendNote = h('div', { class: 'note', 'data-testid': 'backend-note', hidden: true });
  const caps = h(
    'div',
    { class: 'muted small', 'data-testid': 'capabilities' },
    `WebGPU adapter: ${capabilities.webgpuAdapter ?? `none (${capabilities.webgpuMissing})`} · WebGL2: ${capabilities.webgl2 ? 'yes' : 'no'} · WebAssembly: ${capabilities.wasm ? 'yes' : 'no'}${capabilities.crossOriginIsolated ? ' · threads: yes' : ''}`,
  );
  const switchBackend = async (name: string) => {
    backendSelect.disabled = true;
    activePill.textContent = `${name}…`;
    try {
      const info = await client.request({
        type: 'setBackend',
        name,
        webgpuAdapter: capabilities.webgpuAdapter,
      });
      app.backend = info;
      handle.backend = info;
      activePill.textContent = info.active;
      backendSelect.value = info.requested;
      backendNote.hidden = !info.note;
      backendNote.textContent = info.note ?? '';
    } catch (err) {
      setStatus(`backend ${name}: ${(err as Error).message}`, 'error');
    } finally {
      backendSelect.disabled = false;
    }
  };
  backendSelect.onchange = () => void switchBackend(backendSelect.value);

  // Model: the bundled one, or a Hugging Face folder dropped on the page.
  const modelInfo = h('span', { 'data-testid': 'model-status' }, 'no model');
  const load = async (source: ModelSourceSpec) => {
    modelInfo.textContent = `loading ${source.name}…`;
    const off = client.on((e) => {
      if (e.event === 'progress') modelInfo.textContent = `${source.name}: ${e.text}…`;
    });
    try {
      const m = await client.request({ type: 'load', source });
      app.setModel(m);
      handle.model = m;
      modelInfo.textContent = `${m.name}: ${m.parameters.toLocaleString('en-US')} parameters, ${m.layers} layers, ${m.experts.length} experts (${(m.loadMs / 1000).toFixed(1)} s)`;
      setStatus(m.chatUnavailable ?? `loaded ${m.name}`, m.chatUnavailable ? 'error' : 'info');
    } catch (err) {
      modelInfo.textContent = `${source.name}: not loaded`;
      setStatus((err as Error).message, 'error');
      throw err;
    } finally {
      off();
    }
  };
  const bundledUrl = new URL(params.get('model') ?? 'models/t2-tiny/', document.baseURI).href;
  const bundledName = new URL(bundledUrl).pathname.split('/').filter(Boolean).pop() ?? 'model';
  const loadBundled = () => load({ kind: 'url', base: bundledUrl, name: bundledName });
  const folderInput = h('input', {
    type: 'file',
    webkitdirectory: true,
    multiple: true,
    hidden: true,
  });
  folderInput.onchange = () => {
    const files = [...(folderInput.files ?? [])].map((file) => ({
      path: file.webkitRelativePath || file.name,
      file,
    }));
    if (files.length)
      void load({ kind: 'files', name: files[0]!.path.split('/')[0]!, files }).catch(() => {});
  };
  const drop = h(
    'div',
    { class: 'dropzone', 'data-testid': 'dropzone' },
    'Drop a Hugging Face model folder here, or ',
    h(
      'button',
      { type: 'button', class: 'link', onclick: () => folderInput.click() },
      'choose one',
    ),
    folderInput,
  );
  drop.ondragover = (e) => {
    e.preventDefault();
    drop.classList.add('over');
  };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const { name, files } = await collectDroppedFiles(e.dataTransfer!);
    if (files.length) void load({ kind: 'files', name, files }).catch(() => {});
  };

  const views: [string, string, HTMLElement][] = [
    ['chat', 'chat', chatView(app)],
    ['train', 'train', trainView(app)],
    ['svf', 'inside SVF', svfView(app)],
    ['kernels', 'kernels', kernelsView(app)],
  ];
  root.replaceChildren(
    h(
      'header',
      {},
      h('h1', {}, 't2 ', h('span', { class: 'muted' }, 'Transformer² in the browser')),
      h(
        'div',
        { class: 'backend' },
        h('span', {}, 'Backend: '),
        activePill,
        backendSelect,
        caps,
        backendNote,
      ),
    ),
    h(
      'div',
      { class: 'model' },
      h(
        'button',
        { onclick: () => void loadBundled().catch(() => {}), 'data-testid': 'load-bundled' },
        'Load t2-tiny',
      ),
      modelInfo,
      drop,
    ),
    status,
    tabs(views),
    ...views.map(([, , v]) => v),
  );

  await switchBackend(params.get('backend') ?? preferredBackend(capabilities));
  await loadBundled().catch(() => {});
}

handle.ready = main().catch((err) => {
  document.body.append(h('pre', { class: 'error' }, String((err as Error).stack ?? err)));
  throw err;
});
