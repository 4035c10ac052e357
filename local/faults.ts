import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createStream, type RandomSource } from '../domain/random';
import { type Connector, ConnectorError } from '../lambdas/shared/connector';
import type { InvocationContext } from '../lambdas/shared/observability';
import type {
  AuditLog,
  DispatchTrigger,
  EventPublisher,
  ExecutionControl,
  FeatureStore,
  InstanceStore,
} from '../lambdas/shared/ports';
import { realSleep, type Sleep } from '../lambdas/shared/retry';
import type { FunctionName } from '../lib/definitions';

/**
 * A seeded fault-injection plan for the local runtime, the tests and the soak: AWS calls that are
 * throttled or fail, handlers that crash or time out, a connector that is down or slow. Faults
 * are decorators over the ports, the handlers and the connector, so production code runs
 * unchanged and only what it sees differs. Every site (port method, handler, connector) draws
 * from its own seeded stream: the same seed injects the same faults at the same call numbers,
 * and adding a site does not shift another's draws.
 *
 * What each fault is, precisely, because "an error" can mean several things:
 * - throttle / error on a port: the call is refused BEFORE it reaches the store, as DynamoDB does
 *   with a throttled request, and as a handler sees it once the SDK's own retries are spent
 *   (ProvisionedThroughputExceededException / InternalServerError). Nothing was written.
 * - ambiguous on a port (opt-in): the call IS applied, then fails: the reply was lost. This is the
 *   case idempotency must survive; see docs/reliability.md for the one place it is not absorbed.
 * - SDK-level faults (`attachToDynamoDbClient`): injected inside the SDK's retry loop, so the SDK's
 *   own backoff with jitter absorbs them, as it would on AWS.
 * - crash: the handler dies before doing anything (Runtime.ExitError).
 * - timeout: the handler does all its work, then the invoker is told it timed out
 *   (Sandbox.Timedout) and retries: the worst case for idempotency, since every effect already
 *   happened.
 * - connector down: the far side answers 503 (retryable); slow: it answers after `slowMs`, or
 *   the call times out (TimeoutError) when `slowMs` exceeds `timeoutMs`.
 */

/** Rates are probabilities per call, in [0, 1]. */
export interface PortFaults {
  /** Refused before any effect, as throttled (ProvisionedThroughputExceededException / ThrottlingException). */
  readonly throttleRate?: number;
  /** Refused before any effect with a server error (InternalServerError / ServiceUnavailable). */
  readonly errorRate?: number;
  /** Applied, then failed with a server error: the reply was lost. @default 0 */
  readonly ambiguousRate?: number;
  /** Only these methods are faulted. @default every method */
  readonly methods?: readonly string[];
}

export interface HandlerFaults {
  /** Dies before doing anything. */
  readonly crashRate?: number;
  /** Does everything, then is reported as timed out. */
  readonly timeoutRate?: number;
  /** Added latency before a timed-out invocation is reported. @default 0 */
  readonly timeoutDelayMs?: number;
}

export interface ConnectorFaults {
  /** Calls answered with 503 Service Unavailable. */
  readonly downRate?: number;
  /** Calls that take `slowMs` before answering. */
  readonly slowRate?: number;
  /** @default 50 */
  readonly slowMs?: number;
  /** A slow call longer than this fails with TimeoutError instead of answering. @default Infinity */
  readonly timeoutMs?: number;
}

export interface FaultPlanOptions {
  readonly seed: number;
  /** DynamoDB-backed ports: features, instances, audit. */
  readonly dynamoDb?: PortFaults;
  /** Step Functions (StartExecution, SendTaskSuccess / Failure). */
  readonly executions?: PortFaults;
  /** EventBridge PutEvents. */
  readonly events?: PortFaults;
  /** SQS dispatch-round triggers. */
  readonly dispatch?: PortFaults;
  /** Per function, by FUNCTIONS name. */
  readonly handlers?: Partial<Record<FunctionName, HandlerFaults>>;
  readonly connector?: ConnectorFaults;
  /** SDK-level DynamoDB request faults (see attachToDynamoDbClient). */
  readonly dynamoDbRequests?: Pick<PortFaults, 'throttleRate' | 'errorRate'>;
  /** @default setTimeout */
  readonly sleep?: Sleep;
}

/** The ports the handlers use, as the local runtime's `decoratePorts` hands them over. */
export interface FaultablePorts {
  readonly features: FeatureStore;
  readonly instances: InstanceStore;
  readonly audit: AuditLog;
  readonly events: EventPublisher;
  readonly executions: ExecutionControl;
  readonly dispatch: DispatchTrigger;
}

type Handler<E, R> = (event: E, context?: InvocationContext) => Promise<R>;

/** An error as the AWS SDK raises it once its retries are spent. */
export class InjectedFault extends Error {
  readonly injected = true;
  readonly $metadata: { readonly httpStatusCode: number };
  readonly $fault: 'client' | 'server';

  constructor(name: string, message: string, httpStatusCode: number) {
    super(`${message} (injected fault)`);
    this.name = name;
    this.$metadata = { httpStatusCode };
    this.$fault = httpStatusCode >= 500 ? 'server' : 'client';
  }
}

/** True for an error the fault plan raised (as opposed to a real failure). */
export function isInjectedFault(error: unknown): boolean {
  return (
    (error instanceof Error && (error as Error & { injected?: unknown }).injected === true) ||
    (error instanceof ConnectorError && error.message.endsWith('(injected fault)'))
  );
}

const MIDDLEWARE_NAME = 'flowtuneFaultInjection';

const THROTTLE_BY_SERVICE: Readonly<Record<string, string>> = {
  dynamoDb: 'ProvisionedThroughputExceededException',
  executions: 'ThrottlingException',
  events: 'ThrottlingException',
  dispatch: 'RequestThrottled',
};
const ERROR_BY_SERVICE: Readonly<Record<string, string>> = {
  dynamoDb: 'InternalServerError',
  executions: 'ServiceUnavailable',
  events: 'InternalFailure',
  dispatch: 'ServiceUnavailable',
};

export class FaultPlan {
  /** Faults injected so far, by `<site>:<kind>` (e.g. `instances.enqueue:throttle`). */
  readonly injected = new Map<string, number>();
  private readonly streams = new Map<string, RandomSource>();
  private readonly sleep: Sleep;
  private connectorForcedDown = false;

  constructor(private readonly options: FaultPlanOptions) {
    for (const [site, rate] of ratesOf(options)) {
      if (!(rate >= 0 && rate <= 1)) {
        throw new RangeError(`fault rate ${site} must be within [0, 1]; got ${rate}`);
      }
    }
    this.sleep = options.sleep ?? realSleep;
  }

  /** Total faults injected. */
  get total(): number {
    return [...this.injected.values()].reduce((sum, count) => sum + count, 0);
  }

  /** Faults injected by kind (throttle, error, ambiguous, crash, timeout, down, slow, sdk-throttle...). */
  byKind(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, count] of this.injected) {
      const kind = key.slice(key.lastIndexOf(':') + 1);
      out[kind] = (out[kind] ?? 0) + count;
    }
    return out;
  }

  /** Takes the connector down (every call 503) or brings it back, regardless of rates. */
  setConnectorDown(down: boolean): void {
    this.connectorForcedDown = down;
  }

  /**
   * The ports with faults: pass as the local runtime's `decoratePorts`.
   *
   * @example
   * const plan = new FaultPlan({ seed: 7, dynamoDb: { throttleRate: 0.02 } });
   * const runtime = await startLocalRuntime({ decoratePorts: (ports) => plan.decoratePorts(ports) });
   */
  decoratePorts<P extends FaultablePorts>(ports: P): P {
    return {
      ...ports,
      features: this.decoratePort('features', ports.features, 'dynamoDb', this.options.dynamoDb),
      instances: this.decoratePort('instances', ports.instances, 'dynamoDb', this.options.dynamoDb),
      audit: this.decoratePort('audit', ports.audit, 'dynamoDb', this.options.dynamoDb),
      events: this.decoratePort('events', ports.events, 'events', this.options.events),
      executions: this.decoratePort('executions', ports.executions, 'executions', this.options.executions),
      dispatch: this.decoratePort('dispatch', ports.dispatch, 'dispatch', this.options.dispatch),
    };
  }

  /**
   * A handler with the crash / timeout faults of function `name`: pass as the local runtime's
   * `decorateHandlers` (its type is the runtime's HandlerDecorator).
   */
  decorateHandler = <E, R>(name: FunctionName, handler: Handler<E, R>): Handler<E, R> => {
    const faults = this.options.handlers?.[name];
    if (faults === undefined) return handler;
    return async (event, context) => {
      if (this.draw(`handler.${name}`, 'crash', faults.crashRate)) {
        throw new InjectedFault('Runtime.ExitError', `${name} crashed`, 500);
      }
      const result = await handler(event, context);
      if (this.draw(`handler.${name}`, 'timeout', faults.timeoutRate)) {
        if ((faults.timeoutDelayMs ?? 0) > 0) await this.sleep(faults.timeoutDelayMs ?? 0);
        throw new InjectedFault('Sandbox.Timedout', `${name} timed out after doing its work`, 500);
      }
      return result;
    };
  };

  /** A connector that is down or slow as planned. */
  decorateConnector(connector: Connector): Connector {
    const faults = this.options.connector ?? {};
    return {
      name: connector.name,
      deliver: async (delivery) => {
        const site = `connector.${connector.name}`;
        if (this.connectorForcedDown || this.draw(site, 'down', faults.downRate)) {
          if (this.connectorForcedDown) this.count(site, 'down');
          throw new ConnectorError(`${connector.name} answered HTTP 503 (injected fault)`, true, 503);
        }
        if (this.draw(site, 'slow', faults.slowRate)) {
          const slowMs = faults.slowMs ?? 50;
          const timeoutMs = faults.timeoutMs ?? Number.POSITIVE_INFINITY;
          if (slowMs > timeoutMs) {
            await this.sleep(timeoutMs);
            throw new InjectedFault(
              'TimeoutError',
              `${connector.name} did not answer within ${timeoutMs} ms`,
              504,
            );
          }
          await this.sleep(slowMs);
        }
        return connector.deliver(delivery);
      },
    };
  }

  /**
   * Adds the `dynamoDbRequests` faults to a DynamoDB client as a middleware inside the SDK's retry
   * loop: the SDK's own backoff with jitter retries them, as on AWS. Works on a DocumentClient
   * (it shares its client's middleware stack) and on the raw client the ASL runner uses. Returns
   * the function that removes it again (a client shared between runtimes).
   */
  attachToDynamoDbClient(
    client: DynamoDBClient | DynamoDBDocumentClient,
    label = 'dynamodb-sdk',
  ): () => void {
    const faults = this.options.dynamoDbRequests ?? {};
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String(context.commandName ?? 'request');
        const site = `${label}.${operation}`;
        if (this.draw(site, 'sdk-throttle', faults.throttleRate)) {
          throw new InjectedFault('ProvisionedThroughputExceededException', `${operation} throttled`, 400);
        }
        if (this.draw(site, 'sdk-error', faults.errorRate)) {
          throw new InjectedFault('InternalServerError', `${operation} failed`, 500);
        }
        return next(args);
      },
      // After the retry middleware (finalizeRequest, high), so each attempt is drawn separately.
      { step: 'finalizeRequest', priority: 'low', name: MIDDLEWARE_NAME, override: true },
    );
    return () => {
      client.middlewareStack.remove(MIDDLEWARE_NAME);
    };
  }

  private decoratePort<T extends object>(
    site: string,
    port: T,
    service: string,
    faults: PortFaults | undefined,
  ): T {
    if (faults === undefined) return port;
    const plan = this;
    return new Proxy(port, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        if (faults.methods !== undefined && !faults.methods.includes(property)) return value.bind(target);
        return async (...args: unknown[]) => {
          const method = `${site}.${property}`;
          if (plan.draw(method, 'throttle', faults.throttleRate)) {
            throw new InjectedFault(
              THROTTLE_BY_SERVICE[service] ?? 'ThrottlingException',
              `${method} throttled`,
              400,
            );
          }
          if (plan.draw(method, 'error', faults.errorRate)) {
            throw new InjectedFault(ERROR_BY_SERVICE[service] ?? 'InternalFailure', `${method} failed`, 500);
          }
          const result: unknown = await value.apply(target, args);
          if (plan.draw(method, 'ambiguous', faults.ambiguousRate)) {
            throw new InjectedFault(
              ERROR_BY_SERVICE[service] ?? 'InternalFailure',
              `${method} applied but its reply was lost`,
              500,
            );
          }
          return result;
        };
      },
    });
  }

  /** One seeded draw at `site`; counts the fault when it fires. */
  private draw(site: string, kind: string, rate: number | undefined): boolean {
    if (rate === undefined || rate <= 0) return false;
    const key = `${site}:${kind}`;
    let stream = this.streams.get(key);
    if (stream === undefined) {
      stream = createStream(this.options.seed, key);
      this.streams.set(key, stream);
    }
    const fires = stream.next() < rate;
    if (fires) this.count(site, kind);
    return fires;
  }

  private count(site: string, kind: string): void {
    const key = `${site}:${kind}`;
    this.injected.set(key, (this.injected.get(key) ?? 0) + 1);
  }
}

function ratesOf(options: FaultPlanOptions): [string, number][] {
  const rates: [string, number][] = [];
  const collect = (prefix: string, value: object | undefined) => {
    for (const [key, rate] of Object.entries(value ?? {})) {
      if (key.endsWith('Rate') && typeof rate === 'number') rates.push([`${prefix}.${key}`, rate]);
    }
  };
  collect('dynamoDb', options.dynamoDb);
  collect('executions', options.executions);
  collect('events', options.events);
  collect('dispatch', options.dispatch);
  collect('connector', options.connector);
  collect('dynamoDbRequests', options.dynamoDbRequests);
  for (const [name, faults] of Object.entries(options.handlers ?? {})) collect(`handlers.${name}`, faults);
  return rates;
}
