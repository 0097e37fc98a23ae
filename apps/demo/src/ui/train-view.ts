import { families } from '@t2/tasks';
import type { App } from '../app';
import type { TrainMethod, TrainResult } from '../protocol';
import { drawChart, type Series } from './chart';
import { field, fmt, h, select } from './dom';
import { methodChoice } from './method-choice';

export interface TrainingLog {
  method: TrainMethod | null;
  /** Steps asked for (the x range of the charts). */
  steps: number;
  losses: [number, number][];
  rewards: [number, number][];
  evals: [number, number][];
  result: TrainResult | null;
  error?: string;
}

function download(name: string, bytes: Uint8Array, type: string): HTMLAnchorElement {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  return h('a', { href: url, download: name, class: 'file' }, name);
}

/** View 2: train an adapter on a task and watch its curves; download it as PEFT files. */
export function trainView(app: App): HTMLElement {
  // The choices come from the worker, which reads them off the @t2/tuners registry.
  const methods = methodChoice(app.client, { 'data-testid': 'method' });
  const method = methods.select;
  const task = select(
    families.map((f) => ({
      value: f.name,
      label: `${f.name} (${f.category}${f.heldOut ? ', held out' : ''})`,
    })),
    { 'data-testid': 'task' },
  );
  // A held-out family: the base model has never seen it, so learning shows at once.
  task.value = 'count';
  const num = (value: number, testid: string, step = 'any') =>
    h('input', {
      type: 'number',
      value: String(value),
      step,
      'data-testid': testid,
      style: 'width:6em',
    });
  const steps = num(40, 'steps', '1');
  const batch = num(8, 'batch', '1');
  const lr = num(1e-2, 'lr');
  const r = num(4, 'rank', '1');
  const evalEvery = num(10, 'eval-every', '1');
  const summary = h('div', { class: 'muted small', 'data-testid': 'method-summary' });
  const showMethod = () => {
    const m = methods.current();
    if (!m) return;
    lr.value = String(m.defaultLr);
    r.disabled = !m.usesRank;
    summary.textContent = `${m.summary} · ${
      m.trainer === 'reinforce'
        ? 'learns from ±1 rewards (REINFORCE)'
        : 'learns from the answers (next-token loss)'
    }`;
  };
  method.onchange = showMethod;
  methods.ready.then(showMethod, (err: Error) =>
    app.status(`training methods: ${err.message}`, 'error'),
  );
  const start = h('button', { 'data-testid': 'train-start' }, 'Start');
  const stop = h('button', { 'data-testid': 'train-stop', disabled: true }, 'Stop');
  const dl = h('button', { 'data-testid': 'train-download', disabled: true }, 'Download adapter');
  const use = h(
    'button',
    {
      'data-testid': 'train-use',
      disabled: true,
      title: 'Replace the expert of this category in chat',
    },
    'Use expert in chat',
  );
  const files = h('span', { class: 'files', 'data-testid': 'train-files' });
  const progress = h('div', { class: 'muted', 'data-testid': 'train-progress' }, 'idle');
  const lossChart = h('div', { class: 'chart-host', 'data-testid': 'loss-chart' });
  const rewardChart = h('div', { class: 'chart-host', 'data-testid': 'reward-chart' });
  const accuracy = h('div', { class: 'accuracy', 'data-testid': 'accuracy' });

  const log: TrainingLog = {
    method: null,
    steps: 0,
    losses: [],
    rewards: [],
    evals: [],
    result: null,
  };
  (window as unknown as { t2demo: { training: TrainingLog } }).t2demo.training = log;

  const redraw = () => {
    const rl = methods.get(log.method)?.trainer === 'reinforce';
    drawChart(
      lossChart,
      [{ name: rl ? 'policy loss' : 'loss', color: '#2563eb', points: log.losses }],
      {
        title: rl ? 'REINFORCE loss per step' : 'Next-token loss per step',
        xLabel: 'step',
        xMin: 0,
        xMax: log.steps,
      },
    );
    const series: Series[] = [];
    if (rl) series.push({ name: 'mean reward', color: '#d97706', points: log.rewards });
    series.push({ name: 'val. accuracy', color: '#059669', points: log.evals, dots: true });
    drawChart(rewardChart, series, {
      title: rl ? 'Reward and validation accuracy' : 'Validation accuracy (greedy)',
      xLabel: 'step',
      xMin: 0,
      xMax: log.steps,
      yMin: rl ? -1 : 0,
      yMax: 1,
    });
    const last = log.evals.at(-1);
    accuracy.textContent = last
      ? `validation accuracy at step ${last[0]}: ${(100 * last[1]).toFixed(1)}%`
      : '';
  };

  app.client.on((ev) => {
    if (ev.event === 'trainStep') {
      log.losses.push([ev.step, ev.loss]);
      if (ev.reward !== undefined) log.rewards.push([ev.step, ev.reward]);
      progress.textContent = `step ${ev.step}/${ev.steps} · loss ${fmt(ev.loss)}${
        ev.reward !== undefined ? ` · reward ${fmt(ev.reward, 2)}` : ''
      } · ${fmt(ev.ms, 0)} ms/step`;
      redraw();
    } else if (ev.event === 'trainEval') {
      log.evals.push([ev.step, ev.accuracy]);
      redraw();
    }
  });

  start.onclick = async () => {
    const chosen = methods.current();
    if (!app.model || !chosen) return;
    const m = chosen.name;
    const total = Math.max(1, Number(steps.value) | 0);
    Object.assign(log, {
      method: m,
      steps: total,
      losses: [],
      rewards: [],
      evals: [],
      result: null,
    });
    delete log.error;
    redraw();
    start.disabled = true;
    stop.disabled = false;
    dl.disabled = true;
    use.disabled = true;
    files.replaceChildren();
    progress.textContent = 'starting…';
    try {
      const result = await app.client.request({
        type: 'train',
        settings: {
          method: m,
          task: task.value,
          steps: total,
          batchSize: Math.max(1, Number(batch.value) | 0),
          lr: Number(lr.value),
          r: Math.max(1, Number(r.value) | 0),
          evalEvery: Math.max(0, Number(evalEvery.value) | 0),
          evalSize: 32,
          seed: 0,
        },
      });
      log.result = result;
      progress.textContent = `${result.stopped ? 'stopped' : 'done'} after ${result.steps} steps in ${fmt(result.ms / 1000, 1)} s · ${result.trainable.toLocaleString('en-US')} trainable values`;
      dl.disabled = false;
      // Only REINFORCE (SVF) leaves an expert that chat can use.
      use.disabled = chosen.trainer !== 'reinforce';
    } catch (err) {
      log.error = (err as Error).message;
      progress.replaceChildren(h('span', { class: 'error' }, log.error));
    } finally {
      start.disabled = false;
      stop.disabled = true;
    }
  };
  stop.onclick = () => {
    stop.disabled = true;
    progress.textContent = 'stopping after this step…';
    void app.client.request({ type: 'stopTraining' });
  };
  dl.onclick = async () => {
    try {
      const list = await app.client.request({ type: 'download' });
      const links = list.map((f) => download(f.name, f.bytes, f.type));
      files.replaceChildren(h('span', { class: 'muted' }, 'Files: '), ...links);
      for (const a of links) a.click();
    } catch (err) {
      app.status((err as Error).message, 'error');
    }
  };
  use.onclick = async () => {
    use.disabled = true;
    try {
      app.setModel(await app.client.request({ type: 'useTrainedExpert' }));
      app.status('the trained expert now answers its category in chat');
    } catch (err) {
      app.status((err as Error).message, 'error');
    }
  };
  app.onModel((m) => {
    start.disabled = !m;
  });
  start.disabled = true;
  redraw();

  return h(
    'section',
    { class: 'view', 'data-view': 'train' },
    h(
      'p',
      { class: 'lead' },
      'Pick a method and a task, press Start and watch it learn. Adapters with PEFT files learn from the answers (next-token loss); SVF learns a singular-value mask from ±1 rewards (REINFORCE).',
    ),
    h(
      'div',
      { class: 'row' },
      field('Method', method),
      field('Task', task),
      field('Steps', steps),
      field('Batch', batch),
      field('Learning rate', lr),
      field('Rank / block', r),
      field('Eval every', evalEvery),
    ),
    summary,
    h('div', { class: 'row' }, start, stop, dl, use, files),
    progress,
    h('div', { class: 'charts' }, lossChart, rewardChart),
    accuracy,
  );
}
