import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/** CloudWatch namespace of every Flowtune metric. */
export const METRICS_NAMESPACE = 'Flowtune';

export { MetricUnit };

/** Logger, metrics (EMF) and tracer of one function, sharing its service name. */
export interface Telemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
}

const cache = new Map<string, Telemetry>();

/**
 * The Powertools instances for a function, created once per service name (cold start) and
 * shared by everything in that function. Tests silence them with the POWERTOOLS_* variables in
 * vitest.config.ts; outside Lambda the tracer is a no-op.
 *
 * @example
 * const { logger, metrics } = telemetryFor('dispatcher');
 * metrics.addMetric('AssignmentsMade', MetricUnit.Count, 3);
 */
export function telemetryFor(functionName: string): Telemetry {
  const serviceName = `flowtune-${functionName}`;
  let telemetry = cache.get(serviceName);
  if (telemetry === undefined) {
    telemetry = {
      logger: new Logger({ serviceName }),
      metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
      tracer: new Tracer({ serviceName }),
    };
    cache.set(serviceName, telemetry);
  }
  return telemetry;
}

/** Minimal view of a Lambda context: the local runtime and tests may pass none. */
export interface InvocationContext {
  readonly awsRequestId?: string;
  readonly functionName?: string;
}

/**
 * Runs one invocation with the correlation id set on the logger and the metrics flushed as EMF
 * at the end, whatever the outcome.
 */
export async function withInvocation<T>(
  telemetry: Telemetry,
  context: InvocationContext | undefined,
  work: () => Promise<T>,
): Promise<T> {
  const { logger, metrics } = telemetry;
  if (context?.awsRequestId !== undefined) logger.appendKeys({ requestId: context.awsRequestId });
  try {
    return await work();
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    logger.resetKeys();
  }
}

/** Sets the item id as the correlation id of every log line that follows in this invocation. */
export function correlate(telemetry: Telemetry, itemId: string): void {
  telemetry.logger.appendKeys({ correlationId: itemId, itemId });
}
