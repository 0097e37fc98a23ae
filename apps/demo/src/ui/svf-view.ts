import type { App } from '../app';
import type { Spectrum } from '../protocol';
import { drawChart, type Series } from './chart';
import { field, fmt, h, select } from './dom';

const PALETTE = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0891b2'];

/** View 3: the singular values of a weight and the mask each expert learned on them. */
export function svfView(app: App): HTMLElement {
  const weight = select([], { 'data-testid': 'svf-weight' });
  const spectrumChart = h('div', { class: 'chart-host', 'data-testid': 'spectrum-chart' });
  const maskChart = h('div', { class: 'chart-host', 'data-testid': 'mask-chart' });
  const scaledChart = h('div', { class: 'chart-host', 'data-testid': 'scaled-chart' });
  const summary = h('div', { class: 'muted', 'data-testid': 'svf-summary' });
  let current: Spectrum | null = null;
  (window as unknown as { t2demo: { spectrum: () => Spectrum | null } }).t2demo.spectrum = () =>
    current;

  const render = (s: Spectrum) => {
    const k = s.singularValues.length;
    drawChart(
      spectrumChart,
      [
        {
          name: 'σ',
          color: '#475569',
          bars: true,
          points: s.singularValues.map((v, i) => [i + 1, v]),
        },
      ],
      { title: `Singular values of ${s.weight} (${s.shape[0]}×${s.shape[1]})`, xLabel: 'index i' },
    );
    const masks: Series[] = s.masks.map((m, j) => ({
      name: m.label === m.expert ? m.expert : `${m.expert} (${m.label})`,
      color: PALETTE[j % PALETTE.length]!,
      points: m.values.map((v, i) => [i + 1, v]),
    }));
    // The y range follows the masks (within [0, maxMult]) so small differences show.
    drawChart(maskChart, masks, {
      title: `Learned mask m = sigmoid(z)·${s.maxMult} per expert`,
      xLabel: 'index i',
    });
    drawChart(
      scaledChart,
      [
        { name: 'σ', color: '#94a3b8', points: s.singularValues.map((v, i) => [i + 1, v]) },
        ...s.masks.map((m, j) => ({
          name: m.expert,
          color: PALETTE[j % PALETTE.length]!,
          points: m.values.map((v, i) => [i + 1, v * s.singularValues[i]!] as [number, number]),
        })),
      ],
      { title: 'What each expert keeps: σ ⊙ m', xLabel: 'index i', logY: true },
    );
    const total = s.singularValues.reduce((a, b) => a + b, 0);
    summary.textContent = `${k} singular values, σ₁ = ${fmt(s.singularValues[0] ?? 0)}, σ_k = ${fmt(s.singularValues[k - 1] ?? 0)}. ${
      s.masks.length
        ? s.masks
            .map((m) => {
              const kept = m.values.reduce((a, v, i) => a + v * s.singularValues[i]!, 0);
              return `${m.expert}: Σσm/Σσ = ${fmt(kept / total, 2)}`;
            })
            .join(' · ')
        : 'No expert adapts this weight.'
    }`;
  };

  const load = async () => {
    if (!weight.value) return;
    summary.textContent = 'computing…';
    try {
      current = await app.client.request({ type: 'spectrum', weight: weight.value });
      render(current);
    } catch (err) {
      summary.replaceChildren(h('span', { class: 'error' }, (err as Error).message));
    }
  };
  weight.onchange = load;
  let shown = false;
  app.onModel((m) => {
    weight.replaceChildren(...(m?.svfTargets ?? []).map((t) => h('option', { value: t }, t)));
    const mlp = (m?.svfTargets ?? []).find((t) => t.endsWith('up_proj'));
    if (mlp) weight.value = mlp;
    current = null;
    if (shown) void load();
  });

  const view = h(
    'section',
    { class: 'view', 'data-view': 'svf' },
    h(
      'p',
      { class: 'lead' },
      'SVF trains one number per singular value: W′ = U diag(σ ⊙ m) Vᵀ. Pick a weight to see its spectrum and how each expert rescales it.',
    ),
    h('div', { class: 'row' }, field('Weight', weight)),
    summary,
    h('div', { class: 'charts' }, spectrumChart, maskChart, scaledChart),
  );
  // Computed when the view is first shown, not at load (the SVD of a big weight takes a while).
  (view as HTMLElement & { onShow?: () => void }).onShow = () => {
    shown = true;
    if (!current) void load();
  };
  return view;
}
