import type { Estimate } from '../../domain/metrics';

/** Seconds as a short human string. */
export function seconds(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) < 100) return `${value.toFixed(1)} s`;
  if (Math.abs(value) < 6000) return `${(value / 60).toFixed(1)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

export function percent(value: number, digits = 1): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(digits)}%` : String(value);
}

/** "12.3 ± 1.4" with the CI half-width, using `render` for both. */
export function withCi(value: Estimate, render: (value: number) => string): string {
  if (value.replications < 2 || !Number.isFinite(value.halfWidth)) return render(value.mean);
  return `${render(value.mean)} ± ${render(value.halfWidth)}`;
}

/** A plain text table with right-aligned numeric columns. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ');
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}
