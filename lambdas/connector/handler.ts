import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { EventEnvelope, FLOWTUNE_SOURCE, validateDetail, type WorkItemRouted } from '../../domain/events';
import {
  CONNECTOR_ENV,
  CONNECTOR_IDEMPOTENCY_DAYS,
  DEFAULT_CONNECTOR_NAME,
} from '../../lib/definitions/connectors';
import { CircuitBreaker } from '../shared/circuit-breaker';
import { deliveryFromRouted, HttpConnector, ResilientConnector } from '../shared/connector';
import { EnvironmentError } from '../shared/env';
import { idempotent } from '../shared/idempotency';
import { builtOnFirstCall } from '../shared/live-ports';
import {
  correlate,
  type InvocationContext,
  MetricUnit,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../shared/observability';

const FUNCTION = 'connector';

/** The executing system could not take the delivery now; the invocation fails so it is retried, then dead-lettered. */
export class ConnectorUnavailableError extends Error {
  override readonly name = 'ConnectorUnavailableError';
  readonly retryable = true;
}

/** The executing system refused the delivery for good; it is dead-lettered for a person to look at. */
export class ConnectorRefusedError extends Error {
  override readonly name = 'ConnectorRefusedError';
  readonly retryable = false;
}

export type ConnectorResponse =
  | {
      readonly status: 'delivered';
      readonly itemId: string;
      readonly attempt: number;
      readonly calls: number;
      readonly externalRef?: string;
    }
  | { readonly status: 'ignored'; readonly reason: string };

export type ConnectorHandler = (event: unknown, context?: InvocationContext) => Promise<ConnectorResponse>;

export interface ConnectorDeps {
  readonly connector: ResilientConnector;
  /**
   * Makes one delivery per (item, attempt) however often the event arrives (Powertools idempotency
   * on DynamoDB in Lambda). @default none: every event is delivered (the far side still deduplicates
   * on the Idempotency-Key)
   */
  readonly once?: <T>(
    deliver: (event: { detail: WorkItemRouted }, context?: Context) => Promise<T>,
  ) => (event: { detail: WorkItemRouted }, context?: Context) => Promise<T>;
  readonly telemetry?: Telemetry;
}

/**
 * WorkItemRouted (for assignees whose system needs a direct call) → the executing system, once per
 * item and attempt. Transient failures are retried with backoff and jitter inside the invocation;
 * a system that stays down opens the circuit, and the safe default applies: nothing is acted on
 * over there, the routing decision stands (it is on the bus and in the audit trail), and the
 * invocation fails so Lambda retries it and finally dead-letters it for redrive (docs/redrive.md).
 *
 * @example
 * const handler = createConnectorHandler({ connector: new ResilientConnector({ connector, breaker }) });
 * await handler(workItemRoutedEvent);
 */
export function createConnectorHandler(deps: ConnectorDeps): ConnectorHandler {
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  const { logger, metrics } = telemetry;

  const deliver = async (event: { detail: WorkItemRouted }): Promise<ConnectorResponse> => {
    const routed = event.detail;
    const outcome = await deps.connector.deliver(deliveryFromRouted(routed));
    if (outcome.status === 'delivered') {
      metrics.addMetric('ConnectorDeliveries', MetricUnit.Count, 1);
      logger.info('routing decision delivered', {
        attempts: outcome.attempts,
        connector: deps.connector.name,
      });
      return {
        status: 'delivered',
        itemId: routed.id,
        attempt: routed.attempt,
        calls: outcome.attempts,
        ...(outcome.receipt.externalRef === undefined ? {} : { externalRef: outcome.receipt.externalRef }),
      };
    }
    if (outcome.status === 'deferred') {
      // Its own metric blob: the reason dimension must not stick to the invocation's other metrics.
      const deferral = metrics.singleMetric();
      deferral.addDimension('reason', outcome.reason);
      deferral.addMetric('ConnectorDeferrals', MetricUnit.Count, 1);
      logger.warn('delivery deferred; the invocation fails so it is retried and then dead-lettered', {
        reason: outcome.reason,
        detail: outcome.detail,
      });
      throw new ConnectorUnavailableError(
        `${deps.connector.name} unavailable (${outcome.reason}): ${outcome.detail}`,
      );
    }
    metrics.addMetric('ConnectorRefusals', MetricUnit.Count, 1);
    logger.error('delivery refused by the executing system', { detail: outcome.detail });
    throw new ConnectorRefusedError(`${deps.connector.name} refused the delivery: ${outcome.detail}`);
  };
  const deliverOnce = deps.once === undefined ? deliver : deps.once(deliver);

  return (event, context) =>
    withInvocation(telemetry, context, async () => {
      const envelope = EventEnvelope.safeParse(event);
      if (!envelope.success) return ignored('not an EventBridge event');
      const { source } = envelope.data;
      const detailType = envelope.data['detail-type'];
      if (source !== FLOWTUNE_SOURCE || detailType !== 'WorkItemRouted') {
        return ignored(`"${detailType}" from "${source}" is not a routing decision of Flowtune`);
      }
      const validation = validateDetail('WorkItemRouted', envelope.data.detail);
      // Flowtune validates its events before putting them: an invalid one was not put by Flowtune.
      if (!validation.ok)
        return ignored(`invalid WorkItemRouted at ${validation.field}: ${validation.reason}`);
      correlate(telemetry, validation.value.id);
      return deliverOnce({ detail: validation.value }, isLambdaContext(context) ? context : undefined);
    });

  function ignored(reason: string): ConnectorResponse {
    metrics.addMetric('ConnectorEventsIgnored', MetricUnit.Count, 1);
    logger.warn('event ignored by the connector', { reason });
    return { status: 'ignored', reason };
  }
}

function isLambdaContext(context: InvocationContext | undefined): context is Context & InvocationContext {
  return (
    typeof (context as { getRemainingTimeInMillis?: unknown } | undefined)?.getRemainingTimeInMillis ===
    'function'
  );
}

const ConnectorEnvironment = z.object({
  [CONNECTOR_ENV.idempotencyTable]: z.string().trim().min(1),
  [CONNECTOR_ENV.endpoint]: z.url({ protocol: /^https$/, error: 'must be an https URL' }),
  [CONNECTOR_ENV.name]: z.string().trim().min(1).default(DEFAULT_CONNECTOR_NAME),
});

/** One breaker per container: warm invocations share what earlier ones learnt about the system. */
/** The deployed entry point: built once, at the first invocation. */
export const handler: ConnectorHandler = builtOnFirstCall(() => {
  const parsed = ConnectorEnvironment.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EnvironmentError(
      `Function "${FUNCTION}" cannot start: ${issue?.path.join('.')} ${issue?.message}. Set it in the function's environment (lib/definitions/connectors.ts).`,
    );
  }
  const env = parsed.data;
  const name = env[CONNECTOR_ENV.name];
  const telemetry = telemetryFor(FUNCTION);
  return createConnectorHandler({
    connector: new ResilientConnector({
      connector: new HttpConnector({ name, endpoint: env[CONNECTOR_ENV.endpoint] }),
      breaker: new CircuitBreaker({
        name,
        onStateChange: ({ from, to }) => telemetry.logger.warn('circuit state changed', { from, to }),
      }),
    }),
    once: (deliver) =>
      idempotent(deliver, {
        tableName: env[CONNECTOR_ENV.idempotencyTable],
        eventKeyJmesPath: '[detail.id, detail.attempt]',
        keyPrefix: FUNCTION,
        expiresAfterSeconds: CONNECTOR_IDEMPOTENCY_DAYS * 86_400,
      }),
    telemetry,
  });
});
