import { fmt } from './dom';

const SVG = 'http://www.w3.org/2000/svg';

export interface Series {
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
  /** Draw dots only (sparse measurements such as accuracy). */
  dots?: boolean;
  /** Bars from the baseline instead of a line. */
  bars?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel?: string;
  yMin?: number;
  yMax?: number;
  /** Fixed x range (e.g. 0 … the run's steps while it is still going). */
  xMin?: number;
  xMax?: number;
  logY?: boolean;
  width?: number;
  height?: number;
}

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** ~5 round tick values covering [lo, hi]; `minStep` keeps step axes on whole numbers. */
function ticks(lo: number, hi: number, count = 5, minStep = 0): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = Math.max(minStep, (hi - lo) / count);
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
  return out;
}

/**
 * A line chart drawn as inline SVG: axes with round ticks, one polyline (or dots, or
 * bars) per series, and a legend. Redrawn whole on each update; series are small.
 */
export function drawChart(
  host: HTMLElement,
  series: readonly Series[],
  opts: ChartOptions,
): SVGSVGElement {
  const W = opts.width ?? 520;
  const H = opts.height ?? 220;
  const m = { l: 52, r: 12, t: 40, b: 34 };
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    width: '100%',
    role: 'img',
    'aria-label': opts.title,
    class: 'chart',
  });
  root.append(svg('text', { x: m.l, y: 16, class: 'chart-title' }, opts.title));
  const all = series.flatMap((s) => s.points);
  const tf = (y: number) => (opts.logY ? Math.log10(Math.max(y, 1e-12)) : y);
  let xMin = opts.xMin ?? Math.min(...all.map((p) => p[0]));
  let xMax = opts.xMax ?? Math.max(...all.map((p) => p[0]));
  let yMin = opts.yMin ?? Math.min(...all.map((p) => tf(p[1])));
  let yMax = opts.yMax ?? Math.max(...all.map((p) => tf(p[1])));
  if (all.length === 0) {
    xMin = opts.xMin ?? 0;
    xMax = opts.xMax ?? 1;
    yMin = opts.yMin ?? 0;
    yMax = opts.yMax ?? 1;
  }
  if (xMax === xMin) xMax = xMin + 1;
  if (yMax === yMin) {
    yMax += 0.5;
    yMin -= 0.5;
  }
  const pad = (yMax - yMin) * 0.05;
  if (opts.yMin === undefined) yMin -= pad;
  if (opts.yMax === undefined) yMax += pad;
  const px = (x: number) => m.l + ((x - xMin) / (xMax - xMin)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((tf(y) - yMin) / (yMax - yMin)) * (H - m.t - m.b);
  const pyRaw = (v: number) => H - m.b - ((v - yMin) / (yMax - yMin)) * (H - m.t - m.b);

  const axes = svg('g', { class: 'chart-axes' });
  const yTicks = ticks(yMin, yMax);
  // Enough decimals to tell neighbouring ticks apart.
  const step = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : 1;
  const digits = Math.min(6, Math.max(0, 1 - Math.floor(Math.log10(step))));
  for (const v of yTicks) {
    const y = pyRaw(v);
    axes.append(svg('line', { x1: m.l, x2: W - m.r, y1: y, y2: y, class: 'grid' }));
    const label = opts.logY ? fmt(10 ** v, 2) : v.toFixed(digits);
    axes.append(svg('text', { x: m.l - 6, y: y + 4, 'text-anchor': 'end' }, label));
  }
  for (const v of ticks(xMin, xMax, 6, 1)) {
    const x = px(v);
    axes.append(svg('line', { x1: x, x2: x, y1: H - m.b, y2: H - m.b + 4, class: 'tick' }));
    axes.append(
      svg('text', { x, y: H - m.b + 16, 'text-anchor': 'middle' }, String(Math.round(v))),
    );
  }
  axes.append(svg('line', { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b, class: 'axis' }));
  axes.append(svg('line', { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b, class: 'axis' }));
  axes.append(svg('text', { x: W - m.r, y: H - 4, 'text-anchor': 'end' }, opts.xLabel));
  if (opts.yLabel)
    axes.append(svg('text', { x: 8, y: m.t - 8, 'text-anchor': 'start' }, opts.yLabel));
  root.append(axes);

  const barWidth = Math.max(1, ((W - m.l - m.r) / Math.max(1, xMax - xMin + 1)) * 0.8);
  for (const s of series) {
    const g = svg('g', { class: 'series', 'data-name': s.name });
    if (s.bars) {
      const base = pyRaw(Math.max(yMin, Math.min(yMax, opts.logY ? yMin : 0)));
      for (const [x, y] of s.points) {
        const top = py(y);
        g.append(
          svg('rect', {
            x: px(x) - barWidth / 2,
            y: Math.min(top, base),
            width: barWidth,
            height: Math.abs(base - top),
            fill: s.color,
          }),
        );
      }
    } else if (s.dots) {
      for (const [x, y] of s.points)
        g.append(svg('circle', { cx: px(x), cy: py(y), r: 3.5, fill: s.color }));
    } else if (s.points.length > 0) {
      const d = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      g.append(svg('polyline', { points: d, fill: 'none', stroke: s.color, 'stroke-width': 2 }));
    }
    root.append(g);
  }
  // The legend is a line under the title; style (not the fill attribute) beats the CSS.
  let lx = m.l;
  for (const s of series) {
    root.append(svg('text', { x: lx, y: 31, style: `fill:${s.color}` }, `■ ${s.name}`));
    lx += 14 + 6.2 * (s.name.length + 2);
  }
  host.replaceChildren(root);
  return root;
}
