import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { type ConnectorResponse, createConnectorHandler } from '../lambdas/connector/handler';
import { CircuitBreaker, type CircuitState } from '../lambdas/shared/circuit-breaker';
import {
  countsAgainstSystem,
  FixedCredentialSource,
  HttpConnector,
  ResilientConnector,
} from '../lambdas/shared/connector';
import { idempotent } from '../lambdas/shared/idempotency';
import type { BackoffOptions } from '../lambdas/shared/retry';
import type { FunctionName, RuleDefinition, TableDefinition } from '../lib/definitions';
import {
  CONNECTOR_FUNCTIONS,
  CONNECTOR_IDEMPOTENCY_DAYS,
  CONNECTOR_RULES,
  DEFAULT_CONNECTOR_AUTH_HEADER,
  DEFAULT_CONNECTOR_NAME,
  IDEMPOTENCY_TABLE,
} from '../lib/definitions/connectors';
import type { TableNames } from './dynamodb-local';
import type { LocalEventRouter } from './event-router';

/**
 * The connector in the local runtime, wired from lib/definitions/connectors.ts as the Connector
 * construct wires it on AWS: CONNECTOR_RULES.automationRouted on the local bus delivers
 * WorkItemRouted of automation agents to the real connector handler (HTTP connector, retries,
 * circuit breaker, Powertools idempotency on the IDEMPOTENCY_TABLE in DynamoDB Local). The router
 * retries a failed invocation like Lambda's asynchronous invoke and keeps what still fails in its
 * `deliveryFailures`, the local stand-in of the dead-letter queue, which the local redrive replays.
 */

/** What the local runtime's `connector` option takes. */
export const LocalConnectorOptions = z.object({
  /** The executing system's URL (http is fine locally; AWS requires https). */
  endpoint: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. the local executing system' }),
  /** @default DEFAULT_CONNECTOR_NAME */
  name: z.string().trim().min(1).optional(),
  /** Consecutive failures that open the circuit. @default 5, as deployed */
  failureThreshold: z.number().int().min(1).optional(),
  /** Wall ms the circuit stays open before a trial call. @default 30_000, as deployed */
  openMs: z.number().min(0).optional(),
  /** A call that takes longer is abandoned and retried. @default 3_000, as deployed */
  timeoutMs: z.number().positive().optional(),
  /**
   * The header value the system expects (what the ConnectorCredential secret holds on AWS); blank
   * sends none. @default none sent
   */
  credential: z.string().optional(),
  /** The header the credential goes in. @default DEFAULT_CONNECTOR_AUTH_HEADER */
  authHeader: z
    .string()
    .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name')
    .optional(),
});
export type LocalConnectorOptions = z.input<typeof LocalConnectorOptions> & {
  /** Retries within one invocation. @default as deployed: 3 attempts, 100 ms base, 2 s cap */
  readonly retry?: BackoffOptions;
};

/** Invocations of the connector function, and what became of them. */
export interface ConnectorStats {
  invocations: number;
  /** Invocations that failed (each is retried by the router, then dead-lettered). */
  errors: number;
  /** Invocations that answered `delivered` (a duplicate answered from its idempotency record counts too). */
  delivered: number;
  /** Deliveries dead-lettered at once because the connector is misconfigured (credential refused). */
  deadLettered: number;
}

export interface LocalConnector {
  readonly name: string;
  readonly endpoint: string;
  /** The circuit in front of the executing system: one per system, kept for the runtime's life. */
  readonly circuit: CircuitState;
  /** Every change of the circuit's state, oldest first (wall epoch ms). */
  readonly circuitChanges: readonly {
    readonly from: CircuitState;
    readonly to: CircuitState;
    readonly at: number;
  }[];
  readonly stats: Readonly<ConnectorStats>;
  /** The idempotency table in DynamoDB Local. */
  readonly idempotencyTable: string;
}

/**
 * The router's rule and function names are typed by FUNCTIONS (RuleTarget in
 * lib/definitions/events.ts), which the optional connector is kept out of; this is the one place
 * its name is passed where a FunctionName is expected, for the rule and for the registration alike.
 */
const CONNECTOR_TARGET = CONNECTOR_RULES.automationRouted.target.fn as string as FunctionName;

/** The tables the connector adds to the runtime's TABLES: none without the option. */
export function connectorTables(options: LocalConnectorOptions | undefined): readonly TableDefinition[] {
  return options === undefined ? [] : [IDEMPOTENCY_TABLE];
}

/** The rules the connector adds to the local bus's RULES: none without the option. */
export function connectorRules(options: LocalConnectorOptions | undefined): readonly RuleDefinition[] {
  if (options === undefined) return [];
  const { id, description, pattern } = CONNECTOR_RULES.automationRouted;
  return [{ id, description, pattern, target: { kind: 'function', fn: CONNECTOR_TARGET } }];
}

/**
 * Binds the connector function to its rule on `router` (which must have been built with
 * `connectorRules(options)`), over the idempotency table of `tableNames` (created with
 * `connectorTables(options)`) in DynamoDB Local.
 *
 * @example
 * const connector = startLocalConnector({ router, options: { endpoint: system.url, name: 'rpa' }, tableNames, client });
 * connector.circuit; // 'closed'
 */
export function startLocalConnector(wiring: {
  readonly router: LocalEventRouter;
  readonly options: LocalConnectorOptions;
  readonly tableNames: TableNames;
  readonly client: DynamoDBClient;
}): LocalConnector {
  const tableName = wiring.tableNames[IDEMPOTENCY_TABLE.id];
  if (tableName === undefined) {
    throw new Error(
      `table ${IDEMPOTENCY_TABLE.id} was not created: pass connectorTables(options) to createTables`,
    );
  }
  const parsed = LocalConnectorOptions.safeParse(wiring.options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`connector option: ${issue?.path.join('.')} ${issue?.message}`);
  }
  const options = parsed.data;
  const name = options.name ?? DEFAULT_CONNECTOR_NAME;
  // Wall time, even when the runtime runs on a scaled clock: an outage and its cool-down are real time.
  const circuitChanges: { from: CircuitState; to: CircuitState; at: number }[] = [];
  const breaker = new CircuitBreaker({
    name,
    isFailure: countsAgainstSystem,
    onStateChange: ({ from, to }) => circuitChanges.push({ from, to, at: Date.now() }),
    ...(options.failureThreshold === undefined ? {} : { failureThreshold: options.failureThreshold }),
    ...(options.openMs === undefined ? {} : { openMs: options.openMs }),
  });
  const handler = createConnectorHandler({
    connector: new ResilientConnector({
      connector: new HttpConnector({
        name,
        endpoint: options.endpoint,
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        credential: {
          header: options.authHeader ?? DEFAULT_CONNECTOR_AUTH_HEADER,
          source: new FixedCredentialSource(options.credential, 'the connector option `credential`'),
        },
      }),
      breaker,
      ...(wiring.options.retry === undefined ? {} : { retry: wiring.options.retry }),
    }),
    once: (deliver) =>
      idempotent(deliver, {
        tableName,
        eventKeyJmesPath: '[detail.id, detail.attempt]',
        // The deployed handler's prefix: records are keyed as on AWS.
        keyPrefix: 'connector',
        expiresAfterSeconds: CONNECTOR_IDEMPOTENCY_DAYS * 86_400,
        client: wiring.client,
      }),
    // The registered function below holds the typed event and files it with the router's DLQ stand-in.
    deadLetter: async () => {},
  });

  const stats: ConnectorStats = { invocations: 0, errors: 0, delivered: 0, deadLettered: 0 };
  const { id: ruleId, target } = connectorRules(wiring.options)[0] ?? {};
  const timeoutMs = CONNECTOR_FUNCTIONS.connector.timeoutSeconds * 1_000;
  wiring.router.registerFunction(CONNECTOR_TARGET, async (event) => {
    stats.invocations += 1;
    // Lambda's context: the remaining time lets Powertools expire an IN_PROGRESS record with the invocation.
    const deadline = Date.now() + timeoutMs;
    const context = {
      awsRequestId: randomUUID(),
      functionName: `flowtune-local-${CONNECTOR_FUNCTIONS.connector.id}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    try {
      const response: ConnectorResponse = await handler(event, context);
      if (response.status === 'delivered') stats.delivered += 1;
      if (response.status === 'dead-lettered' && ruleId !== undefined && target !== undefined) {
        // As on AWS: to the dead-letter queue at once, without the router's retries.
        stats.deadLettered += 1;
        wiring.router.deliveryFailures.push({
          ruleId,
          target,
          event,
          error: `ConnectorMisconfiguredError: ${response.reason}`,
          attempts: 1,
          at: Date.now(),
        });
      }
      return response;
    } catch (error) {
      stats.errors += 1;
      throw error;
    }
  });

  return {
    name,
    endpoint: options.endpoint,
    get circuit() {
      return breaker.state;
    },
    circuitChanges,
    stats,
    idempotencyTable: tableName,
  };
}
