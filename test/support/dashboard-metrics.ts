import { METRICS_NAMESPACE } from '../../domain/ops/metrics';

/**
 * The Flowtune metrics a synthesized template's dashboards and alarms read: each as its name and
 * the dimensions it must carry (a SEARCH names only the dimension keys, so values are absent there).
 */
export interface ReadMetric {
  readonly name: string;
  /** Dimension name → the value read, or undefined when any value will do (SEARCH). */
  readonly dimensions: Readonly<Record<string, string | undefined>>;
  readonly readBy: string;
}

type Resources = Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>;

const key = (metric: ReadMetric) =>
  `${metric.name} ${Object.entries(metric.dimensions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value ?? '*'}`)
    .join(' ')}`;

export function metricsRead(template: { readonly Resources: Resources }): ReadMetric[] {
  const found = new Map<string, ReadMetric>();
  const add = (metric: ReadMetric) => {
    if (!found.has(key(metric))) found.set(key(metric), metric);
  };
  const fromSearch = (expression: string, readBy: string) => {
    for (const match of expression.matchAll(/SEARCH\('\{([^}]*)\}\s+MetricName="(\w+)"/g)) {
      const [namespace, ...dimensionNames] = (match[1] ?? '').split(',').map((part) => part.trim());
      if (namespace !== METRICS_NAMESPACE) continue;
      add({
        name: match[2] as string,
        dimensions: Object.fromEntries(dimensionNames.map((name) => [name, undefined])),
        readBy,
      });
    }
  };
  for (const [id, resource] of Object.entries(template.Resources)) {
    const properties = resource.Properties ?? {};
    if (resource.Type === 'AWS::CloudWatch::Dashboard') {
      const body = properties.DashboardBody as { 'Fn::Join'?: [string, unknown[]] } | string;
      const text =
        typeof body === 'string'
          ? body
          : (body['Fn::Join']?.[1] ?? []).map((part) => (typeof part === 'string' ? part : 'token')).join('');
      const widgets = (
        JSON.parse(text) as { widgets: { properties: { title?: string; metrics?: unknown[][] } }[] }
      ).widgets;
      for (const widget of widgets) {
        const readBy = `dashboard widget "${widget.properties.title ?? ''}"`;
        for (const line of widget.properties.metrics ?? []) {
          const options = line.find((part) => typeof part === 'object' && part !== null) as
            | { expression?: string }
            | undefined;
          if (options?.expression !== undefined) fromSearch(options.expression, readBy);
          const parts = line.filter((part): part is string => typeof part === 'string');
          if (parts[0] !== METRICS_NAMESPACE || parts.length < 2) continue;
          const dimensions: Record<string, string> = {};
          for (let index = 2; index + 1 < parts.length; index += 2) {
            dimensions[parts[index] as string] = parts[index + 1] as string;
          }
          add({ name: parts[1] as string, dimensions, readBy });
        }
      }
    }
    if (resource.Type === 'AWS::CloudWatch::Alarm') {
      const readBy = `alarm ${id}`;
      const stats: {
        Namespace?: string;
        MetricName?: string;
        Dimensions?: { Name: string; Value: unknown }[];
      }[] = [];
      if (properties.MetricName !== undefined) stats.push(properties as (typeof stats)[number]);
      for (const entry of (properties.Metrics ?? []) as {
        MetricStat?: { Metric: (typeof stats)[number] };
        Expression?: string;
      }[]) {
        if (entry.MetricStat !== undefined) stats.push(entry.MetricStat.Metric);
        if (entry.Expression !== undefined) fromSearch(entry.Expression, readBy);
      }
      for (const stat of stats) {
        if (stat.Namespace !== METRICS_NAMESPACE || stat.MetricName === undefined) continue;
        add({
          name: stat.MetricName,
          dimensions: Object.fromEntries(
            (stat.Dimensions ?? []).map(({ Name, Value }) => [
              Name,
              typeof Value === 'string' ? Value : undefined,
            ]),
          ),
          readBy,
        });
      }
    }
  }
  return [...found.values()].sort((a, b) => key(a).localeCompare(key(b)));
}

/** Short text of a read metric, e.g. "BacklogItems service=flowtune-ops-api stage=ASSIGNED". */
export const describeRead = key;
