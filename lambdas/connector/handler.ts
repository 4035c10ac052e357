import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { EventEnvelope, FLOWTUNE_SOURCE, validateDetail, type WorkItemRouted } from '../../domain/events';
import {
  CONNECTOR_ENV,
  CONNECTOR_IDEMPOTENCY_DAYS,
  DEFAULT_CONNECTOR_AUTH_HEADER,
  DEFAULT_CONNECTOR_NAME,
} from '../../lib/definitions/connectors';
import { sharedSqsClient } from '../shared/aws-clients';
import { CircuitBreaker } from '../shared/circuit-breaker';
import {
  countsAgainstSystem,
  deliveryFromRouted,
  HttpConnector,
  ResilientConnector,
} from '../shared/connector';
import { EnvironmentError } from '../shared/env';
import { idempotent } from '../shared/idempotency';
import { builtOnFirstCall } from '../shared/live-ports';
import { emitMetric, METRICS } from '../shared/metrics-names';
import {
  correlate,
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../shared/observability';
import { SecretsManagerCredentialSource } from './credential';

const FUNCTION = 'connector';

/** The executing system could not take the delivery now; the invocation fails so it is retried, then dead-lettered. */
export class ConnectorUnavailableError extends Error {
  override readonly name = 'ConnectorUnavailableError';
  readonly retryable = true;
}

/**
 * The connector is set up wrongly (the system refused its credential, or the credential cannot be
 * read): retrying cannot help, so the delivery is dead-lettered at once, naming the header and the
 * secret to fix.
 */
export class ConnectorMisconfiguredError extends Error {
  override readonly name = 'ConnectorMisconfiguredError';
  readonly retryable = false;
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
  /** Sent to the dead-letter queue at once (the connector is misconfigured); redrive once it is fixed. */
  | { readonly status: 'dead-lettered'; readonly reason: string }
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
  /**
   * Puts an event on the dead-letter queue as Lambda's asynchronous invoke would (the event as the
   * body), so a delivery that no retry can help skips Lambda's retries.
   * @default none: the invocation fails and Lambda retries it before dead-lettering it
   */
  readonly deadLetter?: (event: unknown, error: ConnectorMisconfiguredError) => Promise<void>;
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
      emitMetric(metrics, METRICS.connectorDeliveries, 1);
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
      emitMetric(metrics, METRICS.connectorDeferrals, 1, { reason: outcome.reason });
      logger.warn('delivery deferred; the invocation fails so it is retried and then dead-lettered', {
        reason: outcome.reason,
        detail: outcome.detail,
      });
      throw new ConnectorUnavailableError(
        `${deps.connector.name} unavailable (${outcome.reason}): ${outcome.detail}`,
      );
    }
    if (outcome.status === 'misconfigured') {
      emitMetric(metrics, METRICS.connectorMisconfigured, 1);
      // The detail names the header and the secret, never the credential.
      logger.error('connector misconfigured: the delivery is dead-lettered without retries', {
        detail: outcome.detail,
      });
      throw new ConnectorMisconfiguredError(outcome.detail);
    }
    emitMetric(metrics, METRICS.connectorRefusals, 1);
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
      try {
        return await deliverOnce(
          { detail: validation.value },
          isLambdaContext(context) ? context : undefined,
        );
      } catch (error) {
        // Outside `once`: its record was dropped with the failure, so a redrive delivers afresh.
        if (!(error instanceof ConnectorMisconfiguredError) || deps.deadLetter === undefined) throw error;
        await deps.deadLetter(event, error);
        return { status: 'dead-lettered', reason: error.message };
      }
    });

  function ignored(reason: string): ConnectorResponse {
    emitMetric(metrics, METRICS.connectorEventsIgnored, 1);
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
  [CONNECTOR_ENV.credentialSecretArn]: z.string().startsWith('arn:', 'must be a secret ARN'),
  [CONNECTOR_ENV.authHeader]: z
    .string()
    .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name')
    .default(DEFAULT_CONNECTOR_AUTH_HEADER),
  [CONNECTOR_ENV.deadLetterQueueUrl]: z.url(),
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
      connector: new HttpConnector({
        name,
        endpoint: env[CONNECTOR_ENV.endpoint],
        credential: {
          header: env[CONNECTOR_ENV.authHeader],
          source: new SecretsManagerCredentialSource(env[CONNECTOR_ENV.credentialSecretArn]),
        },
      }),
      breaker: new CircuitBreaker({
        name,
        isFailure: countsAgainstSystem,
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
    deadLetter: async (event, error) => {
      await sharedSqsClient(telemetry.tracer).send(
        new SendMessageCommand({
          QueueUrl: env[CONNECTOR_ENV.deadLetterQueueUrl],
          MessageBody: JSON.stringify(event),
          // The attributes Lambda's own dead-lettering sets, so redrive and operators read both alike.
          MessageAttributes: {
            ErrorCode: { DataType: 'String', StringValue: error.name },
            ErrorMessage: { DataType: 'String', StringValue: error.message.slice(0, 1_000) },
          },
        }),
      );
    },
    telemetry,
  });
});
