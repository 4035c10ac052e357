import { z } from 'zod';

/**
 * Renders a CloudWatch dashboard body as an SVG picture of its layout: every widget where
 * CloudWatch puts it on the 24-column grid, with its title and the series it charts. The picture
 * is drawn from the synthesized dashboard itself, so the docs show what `cdk deploy` creates.
 */

const MetricLine = z.array(z.unknown());

const Widget = z.object({
  type: z.string(),
  x: z.number(),
  y: z.number(),
  width: z.number(),
  height: z.number(),
  properties: z
    .object({
      title: z.string().optional(),
      markdown: z.string().optional(),
      metrics: z.array(MetricLine).optional(),
      alarms: z.array(z.unknown()).optional(),
      stacked: z.boolean().optional(),
      annotations: z
        .object({
          horizontal: z.array(z.object({ value: z.number(), label: z.string().optional() })).optional(),
        })
        .optional(),
    })
    .loose(),
});
export const DashboardBody = z.object({ widgets: z.array(Widget) });
export type DashboardBody = z.infer<typeof DashboardBody>;
type DashboardWidget = z.infer<typeof Widget>;

const CELL_WIDTH = 46;
const ROW_HEIGHT = 30;
const MARGIN = 16;
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

/** XML-safe text. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** The legend of one metric line: its label, else metric name and dimension values. */
function seriesLabel(line: readonly unknown[]): string {
  const options = line.find((part) => typeof part === 'object' && part !== null) as
    | { label?: unknown; expression?: unknown }
    | undefined;
  if (typeof options?.label === 'string' && options.label !== '') return options.label;
  if (typeof options?.expression === 'string') {
    // A SEARCH draws one series per match (e.g. per experiment and arm).
    return options.expression.startsWith('SEARCH(') ? 'one series per match' : options.expression;
  }
  const strings = line.filter((part): part is string => typeof part === 'string');
  const dimensions = strings.slice(2).filter((_, index) => index % 2 === 1);
  return [strings[1], ...dimensions].filter(Boolean).join(' ');
}

/** Visible series: metric math inputs (visible: false) are not drawn. */
function visibleSeries(widget: DashboardWidget): string[] {
  return (widget.properties.metrics ?? [])
    .filter((line) => {
      const options = line.find((part) => typeof part === 'object' && part !== null) as
        | { visible?: unknown }
        | undefined;
      return options?.visible !== false;
    })
    .map(seriesLabel);
}

/** A deterministic wiggle per series, so the picture reads as charts without inventing data. */
function sparkline(seed: string, x: number, y: number, width: number, height: number): string {
  let state = [...seed].reduce((hash, char) => (hash * 31 + char.charCodeAt(0)) >>> 0, 7);
  const points: string[] = [];
  const steps = 16;
  let level = 0.5;
  for (let step = 0; step <= steps; step++) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    level = Math.min(0.95, Math.max(0.05, level + ((state % 1000) / 1000 - 0.5) * 0.35));
    points.push(`${(x + (width * step) / steps).toFixed(1)},${(y + height * (1 - level)).toFixed(1)}`);
  }
  return points.join(' ');
}

function textLines(text: string, maxChars: number): string[] {
  const words = text.replace(/[#*`]/g, '').split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let current = '';
  for (const word of words) {
    if ((current + word).length > maxChars && current !== '') {
      lines.push(current.trim());
      current = '';
    }
    current += `${word} `;
  }
  if (current.trim() !== '') lines.push(current.trim());
  return lines;
}

function renderWidget(widget: DashboardWidget): string {
  const x = MARGIN + widget.x * CELL_WIDTH;
  const y = MARGIN + widget.y * ROW_HEIGHT;
  const width = widget.width * CELL_WIDTH - 6;
  const height = widget.height * ROW_HEIGHT - 6;
  const parts = [
    `<g class="widget ${escapeXml(widget.type)}">`,
    `<rect x="${x}" y="${y}" width="${width}" height="${height}" rx="4" fill="#ffffff" stroke="#c9d1d9"/>`,
  ];
  const maxChars = Math.floor(width / 6.4);
  if (widget.type === 'text') {
    const [first = '', ...rest] = (widget.properties.markdown ?? '').split('\n');
    const lines = [
      { text: first.replace(/^#+\s*/, ''), heading: true },
      ...textLines(rest.join(' '), maxChars).map((text) => ({ text, heading: false })),
    ].slice(0, Math.max(1, widget.height * 2 - 1));
    lines.forEach(({ text, heading }, index) => {
      parts.push(
        `<text x="${x + 10}" y="${y + 20 + index * 16}" font-size="${heading ? 15 : 11}" font-weight="${heading ? 700 : 400}" fill="#24292f">${escapeXml(text)}</text>`,
      );
    });
  } else if (widget.type === 'alarm') {
    parts.push(
      `<text x="${x + 10}" y="${y + 18}" font-size="12" font-weight="700" fill="#24292f">${escapeXml(widget.properties.title ?? 'Alarms')}</text>`,
    );
    const count = widget.properties.alarms?.length ?? 0;
    const chipWidth = Math.max(40, Math.floor((width - 20) / Math.max(count, 1)) - 4);
    for (let index = 0; index < count; index++) {
      parts.push(
        `<rect x="${x + 10 + index * (chipWidth + 4)}" y="${y + 28}" width="${chipWidth}" height="${height - 48}" rx="3" fill="#dafbe1" stroke="#2da44e"/>`,
      );
    }
    parts.push(
      `<text x="${x + 10}" y="${y + height - 4}" font-size="9" fill="#57606a">${count} alarms, each a tile: OK / ALARM / INSUFFICIENT_DATA</text>`,
    );
  } else {
    const title = widget.properties.title ?? '';
    parts.push(
      `<text x="${x + 10}" y="${y + 18}" font-size="12" font-weight="700" fill="#24292f">${escapeXml(title.slice(0, maxChars))}</text>`,
    );
    const series = visibleSeries(widget);
    const chart = { x: x + 12, y: y + 28, width: width - 24, height: height - 52 };
    parts.push(
      `<line x1="${chart.x}" y1="${chart.y + chart.height}" x2="${chart.x + chart.width}" y2="${chart.y + chart.height}" stroke="#d0d7de"/>`,
    );
    for (const annotation of widget.properties.annotations?.horizontal ?? []) {
      const level = chart.y + chart.height * 0.3;
      parts.push(
        `<line x1="${chart.x}" y1="${level}" x2="${chart.x + chart.width}" y2="${level}" stroke="#cf222e" stroke-dasharray="4 3"/>`,
        `<text x="${chart.x + chart.width - 4}" y="${level - 3}" font-size="9" text-anchor="end" fill="#cf222e">${escapeXml(`${annotation.label ?? ''} ${annotation.value}`.trim())}</text>`,
      );
    }
    series.slice(0, 8).forEach((label, index) => {
      parts.push(
        `<polyline points="${sparkline(`${title}/${label}`, chart.x, chart.y, chart.width, chart.height)}" fill="none" stroke="${PALETTE[index % PALETTE.length]}" stroke-width="1.5"/>`,
      );
    });
    const legend = series
      .slice(0, 8)
      .map((label, index) => ({ label, color: PALETTE[index % PALETTE.length] }));
    let cursor = x + 12;
    for (const { label, color } of legend) {
      const text = label.length > 22 ? `${label.slice(0, 21)}…` : label;
      const itemWidth = 14 + text.length * 5.4;
      if (cursor + itemWidth > x + width - 8) break;
      parts.push(
        `<rect x="${cursor}" y="${y + height - 15}" width="8" height="8" fill="${color}"/>`,
        `<text x="${cursor + 11}" y="${y + height - 8}" font-size="9" fill="#57606a">${escapeXml(text)}</text>`,
      );
      cursor += itemWidth + 8;
    }
  }
  parts.push('</g>');
  return parts.join('');
}

/**
 * The SVG picture of a dashboard.
 *
 * @example
 * const svg = renderDashboardSvg(DashboardBody.parse(JSON.parse(body)), { title: 'Flowtune' });
 */
export function renderDashboardSvg(
  dashboard: DashboardBody,
  options: { readonly title?: string } = {},
): string {
  const rows = dashboard.widgets.reduce((max, widget) => Math.max(max, widget.y + widget.height), 0);
  const width = MARGIN * 2 + 24 * CELL_WIDTH;
  const captionHeight = 18;
  const height = MARGIN * 2 + rows * ROW_HEIGHT + captionHeight;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    options.title === undefined ? '' : `<title>${escapeXml(options.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#f6f8fa"/>`,
    ...dashboard.widgets.map(renderWidget),
    `<text x="${width - MARGIN}" y="${height - 10}" font-size="10" text-anchor="end" fill="#57606a">Layout and series of the synthesized dashboard (npm run ops:dashboard); the curves are illustrative, not data.</text>`,
    '</svg>',
    '',
  ].join('\n');
}
