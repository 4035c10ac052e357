import { FLOWTUNE_SOURCE } from '../../domain/events';
import type { EventPattern } from './events';
import type { FunctionDefinition } from './functions';
import type { TableDefinition } from './tables';

/**
 * The connector: the one Lambda that calls an executing system directly (for systems that cannot
 * consume Flowtune's events), with its idempotency table and its rule. It is wired, but optional:
 * a deployment without an executing system to call has none of it, so these definitions stay apart
 * from FUNCTIONS, RULES and TABLES (which are always deployed). The Connector construct
 * (lib/constructs/connector.ts) builds all three when the CDK context names an endpoint
 * (CONNECTOR_CONTEXT), and the local runtime binds them when given its `connector` option
 * (local/connector-runtime.ts); see docs/reliability.md, "Connector".
 */

/** CDK context keys that turn the connector on (`cdk deploy -c flowtune:connectorEndpoint=https://...`). */
export const CONNECTOR_CONTEXT = {
  /** https URL of the executing system's endpoint; without it no connector is deployed. */
  endpoint: 'flowtune:connectorEndpoint',
  /** Name of the executing system (logs, metrics, the circuit); @default DEFAULT_CONNECTOR_NAME */
  name: 'flowtune:connectorName',
  /** HTTP header that carries the credential; @default DEFAULT_CONNECTOR_AUTH_HEADER */
  authHeader: 'flowtune:connectorAuthHeader',
} as const;

/** The header the credential goes in when none is named (the handler's default too). */
export const DEFAULT_CONNECTOR_AUTH_HEADER = 'Authorization';

/** How long a warm connector keeps the credential before reading the secret again (s). */
export const CONNECTOR_CREDENTIAL_MAX_AGE_SECONDS = 300;

/** The executing system's name when none is given (the handler's default too). */
export const DEFAULT_CONNECTOR_NAME = 'executing-system';

/**
 * Powertools idempotency records of the connector (attribute names are Powertools' defaults:
 * `id`, `expiration`, `status`, `data`, `in_progress_expiration`). Records expire by TTL. Losing
 * them costs at most one repeated delivery, which the far side deduplicates by its Idempotency-Key,
 * so a restore is never needed; point-in-time recovery is on all the same because at this table's
 * size it costs next to nothing and spares an exception to cdk-nag's DDB3 rule.
 */
export const IDEMPOTENCY_TABLE = {
  id: 'Idempotency',
  envVar: 'IDEMPOTENCY_TABLE',
  placeholder: 'IdempotencyTableName',
  partitionKey: { name: 'id', type: 'S' },
  globalSecondaryIndexes: [],
  timeToLiveAttribute: 'expiration',
  pointInTimeRecovery: true,
} as const satisfies TableDefinition;

/** Environment of the connector function, beyond its table. */
export const CONNECTOR_ENV = {
  idempotencyTable: IDEMPOTENCY_TABLE.envVar,
  /** https URL of the executing system's endpoint (POST a ConnectorDelivery). */
  endpoint: 'CONNECTOR_ENDPOINT',
  /** Name of the executing system, for logs, metrics and the circuit's name. */
  name: 'CONNECTOR_NAME',
  /** ARN of the Secrets Manager secret holding the credential's header value (read at run time, never put here). */
  credentialSecretArn: 'CONNECTOR_CREDENTIAL_SECRET_ARN',
  /** Header the credential goes in. */
  authHeader: 'CONNECTOR_AUTH_HEADER',
  /** The async-failure DLQ: a delivery the connector is set up wrongly for goes there at once. */
  deadLetterQueueUrl: 'CONNECTOR_DEAD_LETTER_QUEUE_URL',
} as const;

/**
 * How long an idempotency record is kept: as long as a dead-lettered delivery can wait for its
 * redrive (SQS retention maximum), so a redriven duplicate is still recognised.
 */
export const CONNECTOR_IDEMPOTENCY_DAYS = 14;

/** Deliveries in flight against the executing system at most (the connector's reserved concurrency). */
export const CONNECTOR_MAX_CONCURRENT_DELIVERIES = 5;

export const CONNECTOR_FUNCTIONS = {
  connector: {
    id: 'Connector',
    concurrency: {
      reserved: CONNECTOR_MAX_CONCURRENT_DELIVERIES,
      protects:
        'the executing system: at most this many deliveries are in flight against it; routing decisions beyond that wait in Lambda’s asynchronous queue (retried for up to 6 hours) instead of flooding it',
    },
    entry: 'lambdas/connector/handler.ts',
    description:
      'Delivers routing decisions to an executing system that needs a direct call: idempotent per item and attempt, retries with backoff and jitter, circuit breaker; undeliverable ones go to the async-failure DLQ for redrive.',
    memorySize: 256,
    // Retries within one invocation are bounded well below this (3 attempts, 3 s timeout each, ≤ 2 s backoff).
    timeoutSeconds: 20,
    tables: [{ table: IDEMPOTENCY_TABLE, access: 'readWrite' }],
    putsEvents: false,
    resumesExecutions: false,
    startsExecutions: false,
    triggersDispatch: false,
    pseudonymises: false,
  },
} as const satisfies Record<string, FunctionDefinition>;

export type ConnectorFunctionName = keyof typeof CONNECTOR_FUNCTIONS;

/** Routing decisions for automation agents: the systems that need a direct call. */
export const CONNECTOR_RULES = {
  automationRouted: {
    id: 'AutomationRoutedToConnector',
    description: 'Routing decisions for automation agents are delivered to their system by the connector.',
    pattern: {
      source: [FLOWTUNE_SOURCE],
      'detail-type': ['WorkItemRouted'],
      detail: { assignee: { kind: ['automation'] } },
    } satisfies EventPattern,
    target: { kind: 'function', fn: 'connector' },
  },
} as const satisfies Record<
  string,
  {
    readonly id: string;
    readonly description: string;
    readonly pattern: EventPattern;
    readonly target: { readonly kind: 'function'; readonly fn: ConnectorFunctionName };
  }
>;
