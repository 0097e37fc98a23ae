/** One line on a panel. */
export interface Series {
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Dashed horizontal reference lines (e.g. the threshold loss). */
  hLines?: readonly { y: number; label: string }[];
  /** Fixed y range; by default 0 to the largest value. */
  yRange?: readonly [number, number];
}

const PANEL_W = 460;
const PANEL_H = 320;
const MARGIN = { left: 56, right: 16, top: 34, bottom: 46 };
const LEGEND_ROW_H = 22;

/**
 * A dependency-free SVG (titled, for screen readers) of line charts side by side with a shared legend (the series of
 * the first panel). Values above the y range are clipped to the plot area, so one
 * method's high start does not squash the others.
 */
export function lineChartsSvg(title: string, panels: readonly Panel[]): string {
  const width = panels.length * PANEL_W;
  const legend = layoutLegend(panels[0]?.series ?? [], width);
  const height = PANEL_H + legend.rows * LEGEND_ROW_H + 10;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  panels.forEach((panel, i) => {
    parts.push(panelSvg(panel, i * PANEL_W, i));
  });
  for (const { series: s, x, row } of legend.items) {
    const y = PANEL_H + row * LEGEND_ROW_H + LEGEND_ROW_H / 2;
    parts.push(
      `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${s.color}" stroke-width="2.5"/>`,
      `<text x="${x + 28}" y="${y + 4}">${escapeXml(s.name)}</text>`,
    );
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Legend entries left to right, wrapping to a new row when the next would not fit. */
function layoutLegend(series: readonly Series[], width: number) {
  // Without a text renderer, widths are estimated from the character count.
  const itemWidth = (s: Series) => 28 + s.name.length * 6.6 + 24;
  const items: { series: Series; x: number; row: number }[] = [];
  let x = MARGIN.left;
  let row = 0;
  for (const s of series) {
    if (x + itemWidth(s) > width - MARGIN.right && x > MARGIN.left) {
      row++;
      x = MARGIN.left;
    }
    items.push({ series: s, x, row });
    x += itemWidth(s);
  }
  return { items, rows: row + 1 };
}

function panelSvg(panel: Panel, offsetX: number, index: number): string {
  const all = panel.series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map(([x]) => x));
  const [yMin, yMax] = panel.yRange ?? [0, niceCeil(Math.max(1e-9, ...all.map(([, y]) => y)))];
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  const x0 = offsetX + MARGIN.left;
  const y0 = MARGIN.top;
  const sx = (x: number) => x0 + (x / xMax) * plotW;
  const sy = (y: number) => y0 + plotH - ((y - yMin) / (yMax - yMin)) * plotH;
  const clipId = `plot${index}`;
  const out: string[] = [
    `<clipPath id="${clipId}"><rect x="${x0}" y="${y0}" width="${plotW}" height="${plotH}"/></clipPath>`,
    `<text x="${x0 + plotW / 2}" y="${y0 - 14}" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(panel.title)}</text>`,
  ];
  for (const t of ticks(yMin, yMax, 6)) {
    out.push(
      `<line x1="${x0}" y1="${fmt(sy(t))}" x2="${x0 + plotW}" y2="${fmt(sy(t))}" stroke="#e5e5e5"/>`,
      `<text x="${x0 - 6}" y="${fmt(sy(t) + 4)}" text-anchor="end">${t}</text>`,
    );
  }
  for (const t of ticks(0, xMax, 6)) {
    out.push(
      `<line x1="${fmt(sx(t))}" y1="${y0 + plotH}" x2="${fmt(sx(t))}" y2="${y0 + plotH + 5}" stroke="black"/>`,
      `<text x="${fmt(sx(t))}" y="${y0 + plotH + 18}" text-anchor="middle">${t}</text>`,
    );
  }
  out.push(
    `<rect x="${x0}" y="${y0}" width="${plotW}" height="${plotH}" fill="none" stroke="black"/>`,
    `<text x="${x0 + plotW / 2}" y="${PANEL_H - 8}" text-anchor="middle">${escapeXml(panel.xLabel)}</text>`,
    `<text transform="translate(${offsetX + 16} ${y0 + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(panel.yLabel)}</text>`,
  );
  for (const h of panel.hLines ?? []) {
    out.push(
      `<line x1="${x0}" y1="${fmt(sy(h.y))}" x2="${x0 + plotW}" y2="${fmt(sy(h.y))}" stroke="#555" stroke-dasharray="5 4"/>`,
      `<text x="${x0 + plotW - 4}" y="${fmt(sy(h.y) - 5)}" text-anchor="end" fill="#555">${escapeXml(h.label)}</text>`,
    );
  }
  for (const s of panel.series) {
    const pts = s.points.map(([x, y]) => `${fmt(sx(x))},${fmt(sy(y))}`).join(' ');
    out.push(
      `<polyline clip-path="url(#${clipId})" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round" points="${pts}"><title>${escapeXml(s.name)}</title></polyline>`,
    );
  }
  return out.join('\n');
}

/** Round numbers from lo to hi, about `count` of them. */
function ticks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Number(t.toPrecision(6)));
  }
  return out;
}

function niceCeil(v: number): number {
  const mag = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= v) ?? 10 * mag) as number;
}

const fmt = (v: number) => v.toFixed(1);

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
