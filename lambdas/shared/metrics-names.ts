import type { Metrics } from '@aws-lambda-powertools/metrics';
import {
  METRICS,
  type MetricDefinition,
  type MetricKey,
  type MetricUnitName,
} from '../../domain/ops/metrics';
import { MetricUnit } from './observability';

/**
 * The metric catalogue (domain/ops/metrics.ts) for handlers: emit a metric by its catalogue entry,
 * so its name and unit are the ones the dashboard and the alarms read.
 */

export { METRICS, type MetricKey };

const UNITS: Readonly<Record<MetricUnitName, (typeof MetricUnit)[keyof typeof MetricUnit]>> = {
  Count: MetricUnit.Count,
  Seconds: MetricUnit.Seconds,
  Milliseconds: MetricUnit.Milliseconds,
  Percent: MetricUnit.Percent,
  None: MetricUnit.NoUnit,
};

/**
 * Adds one value of a catalogued metric; with `dimensions`, it goes out at once as its own EMF
 * record (Powertools' single metric), so per-stage or per-action values never share dimensions.
 *
 * @example
 * emitMetric(metrics, METRICS.humanActions, 1, { action: 'approve' });
 */
export function emitMetric(
  metrics: Metrics,
  definition: MetricDefinition,
  value: number,
  dimensions: Readonly<Record<string, string>> = {},
): void {
  const unexpected = Object.keys(dimensions).filter((name) => !definition.dimensions.includes(name));
  if (unexpected.length > 0) {
    throw new Error(
      `metric ${definition.name} has no dimension ${unexpected.join(', ')}; declare it in domain/ops/metrics.ts`,
    );
  }
  if (Object.keys(dimensions).length === 0) {
    metrics.addMetric(definition.name, UNITS[definition.unit], value);
    return;
  }
  const single = metrics.singleMetric();
  single.addDimensions({ ...dimensions });
  single.addMetric(definition.name, UNITS[definition.unit], value);
}
