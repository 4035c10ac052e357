/** Tiny inline-SVG charts for the benchmark report: no dependencies, readable without JavaScript. */

export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** Drawn thicker, on top. */
  readonly highlight?: boolean;
}

const PALETTE = [
  '#d62728',
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#17becf',
];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceTicks(low: number, high: number, count = 5): number[] {
  if (!(high > low)) return [low];
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step =
    [1, 2, 2.5, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= raw) ?? raw;
  const ticks: number[] = [];
  for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9; value += step)
    ticks.push(Number(value.toPrecision(10)));
  return ticks;
}

function formatTick(value: number): string {
  if (Math.abs(value) >= 1000) return `${(value / 1000).toFixed(value % 1000 === 0 ? 0 : 1)}k`;
  return Number(value.toPrecision(3)).toString();
}

/** A line chart with one line per series, a legend, and optionally a log₁₀ y axis. */
export function lineChart(options: {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly logY?: boolean;
  readonly width?: number;
  readonly height?: number;
}): string {
  const width = options.width ?? 520;
  const height = options.height ?? 300;
  const margin = { top: 30, right: 150, bottom: 42, left: 58 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const transform = (value: number) => (options.logY ? Math.log10(Math.max(value, 1e-3)) : value);
  const points = options.series.flatMap((series) => series.points).filter(([, y]) => Number.isFinite(y));
  if (points.length === 0) return `<p>${escapeXml(options.title)}: no data</p>`;
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => transform(y));
  const xLow = Math.min(...xs);
  const xHigh = Math.max(...xs);
  let yLow = options.logY ? Math.floor(Math.min(...ys)) : Math.min(0, ...ys);
  let yHigh = options.logY ? Math.ceil(Math.max(...ys)) : Math.max(...ys);
  if (yHigh === yLow) {
    yHigh += 1;
    yLow -= options.logY ? 1 : 0;
  }
  const x = (value: number) =>
    margin.left + (xHigh === xLow ? plotWidth / 2 : ((value - xLow) / (xHigh - xLow)) * plotWidth);
  const y = (value: number) =>
    margin.top + plotHeight - ((transform(value) - yLow) / (yHigh - yLow)) * plotHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(options.title)}">`,
    `<text x="${margin.left}" y="18" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>`,
    `<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#ccc"/>`,
  ];
  const yTicks = options.logY
    ? Array.from({ length: yHigh - yLow + 1 }, (_, index) => 10 ** (yLow + index))
    : niceTicks(yLow, yHigh);
  for (const tick of yTicks) {
    const position = y(tick);
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${position.toFixed(1)}" y2="${position.toFixed(1)}" stroke="#eee"/>`,
      `<text x="${margin.left - 6}" y="${(position + 4).toFixed(1)}" font-size="11" text-anchor="end">${formatTick(tick)}</text>`,
    );
  }
  for (const tick of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(
      `<text x="${x(tick).toFixed(1)}" y="${margin.top + plotHeight + 16}" font-size="11" text-anchor="middle">${formatTick(tick)}</text>`,
    );
  }
  parts.push(
    `<text x="${margin.left + plotWidth / 2}" y="${height - 6}" font-size="12" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text x="14" y="${margin.top + plotHeight / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${margin.top + plotHeight / 2})">${escapeXml(options.yLabel)}</text>`,
  );
  const ordered = [...options.series.entries()].sort(
    ([, left], [, right]) => Number(left.highlight ?? false) - Number(right.highlight ?? false),
  );
  for (const [index, series] of ordered) {
    const color = PALETTE[index % PALETTE.length] ?? '#000';
    const valid = series.points.filter(([, value]) => Number.isFinite(value));
    const path = valid
      .map(([px, py], position) => `${position === 0 ? 'M' : 'L'}${x(px).toFixed(1)},${y(py).toFixed(1)}`)
      .join(' ');
    parts.push(
      `<path d="${path}" fill="none" stroke="${color}" stroke-width="${series.highlight ? 3 : 1.5}"/>`,
    );
    for (const [px, py] of valid)
      parts.push(
        `<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="${series.highlight ? 3.5 : 2.5}" fill="${color}"/>`,
      );
  }
  options.series.forEach((series, index) => {
    const color = PALETTE[index % PALETTE.length] ?? '#000';
    const legendY = margin.top + 8 + index * 16;
    parts.push(
      `<line x1="${width - margin.right + 10}" x2="${width - margin.right + 28}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="${series.highlight ? 3 : 1.5}"/>`,
      `<text x="${width - margin.right + 32}" y="${legendY + 4}" font-size="11"${series.highlight ? ' font-weight="bold"' : ''}>${escapeXml(series.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Horizontal bars, one per label, with a reference line (e.g. 1.0 = parity). */
export function barChart(options: {
  readonly title: string;
  readonly bars: readonly { readonly label: string; readonly value: number; readonly highlight?: boolean }[];
  readonly reference?: number;
  readonly format?: (value: number) => string;
  readonly width?: number;
}): string {
  const width = options.width ?? 520;
  const rowHeight = 20;
  const margin = { top: 30, right: 70, bottom: 10, left: 190 };
  const height = margin.top + margin.bottom + rowHeight * options.bars.length;
  const values = options.bars.map((bar) => bar.value).filter(Number.isFinite);
  const high = Math.max(options.reference ?? 0, ...values, 1e-9);
  const plotWidth = width - margin.left - margin.right;
  const format = options.format ?? ((value: number) => value.toFixed(2));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(options.title)}">`,
    `<text x="${margin.left}" y="18" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  options.bars.forEach((bar, index) => {
    const top = margin.top + index * rowHeight;
    const length = Number.isFinite(bar.value) ? (bar.value / high) * plotWidth : 0;
    parts.push(
      `<text x="${margin.left - 6}" y="${top + 14}" font-size="11" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${margin.left}" y="${top + 3}" width="${Math.max(length, 0).toFixed(1)}" height="${rowHeight - 6}" fill="${bar.highlight ? '#d62728' : '#1f77b4'}"/>`,
      `<text x="${margin.left + Math.max(length, 0) + 4}" y="${top + 14}" font-size="11">${escapeXml(format(bar.value))}</text>`,
    );
  });
  if (options.reference !== undefined) {
    const position = margin.left + (options.reference / high) * plotWidth;
    parts.push(
      `<line x1="${position.toFixed(1)}" x2="${position.toFixed(1)}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="#333" stroke-dasharray="4 3"/>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}
