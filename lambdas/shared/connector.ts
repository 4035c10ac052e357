import { z } from 'zod';
import { AgentId, IsoTimestamp, ItemId, type WorkItemRouted } from '../../domain/events';
import { type CircuitBreaker, CircuitOpenError } from './circuit-breaker';
import { type BackoffOptions, isTransientError, retryWithBackoff } from './retry';

/**
 * The connector port: a direct call to an executing system that cannot consume Flowtune's events
 * (an automation platform, an RPA queue, a legacy CRM). Everything else learns of a routing
 * decision from WorkItemRouted on the bus; a connector is the exception, so it is kept small,
 * idempotent towards the far side (an Idempotency-Key per item and attempt) and wrapped in retries
 * with backoff and jitter and a circuit breaker with a safe default.
 */

/** What a connector tells the executing system: the decision, never personal data. */
export const ConnectorDelivery = z
  .object({
    itemId: ItemId,
    attempt: z.number().int().min(1),
    agentId: AgentId,
    agentKind: z.enum(['person', 'team', 'automation']),
    path: z.enum(['automation', 'routing', 'human-review']),
    routedAt: IsoTimestamp,
    policyVersion: z.string(),
    /** `<itemId>#<attempt>`: the far side deduplicates on it, so our retries never act twice there. */
    idempotencyKey: z.string().min(1).max(128),
  })
  .strict();
export type ConnectorDelivery = z.infer<typeof ConnectorDelivery>;

/** The delivery of a routing decision, built from the WorkItemRouted detail. */
export function deliveryFromRouted(routed: WorkItemRouted): ConnectorDelivery {
  return ConnectorDelivery.parse({
    itemId: routed.id,
    attempt: routed.attempt,
    agentId: routed.assignee.agentId,
    agentKind: routed.assignee.kind,
    path: routed.path,
    routedAt: routed.routedAt,
    policyVersion: routed.policyVersion,
    idempotencyKey: `${routed.id}#${routed.attempt}`,
  });
}

export interface ConnectorReceipt {
  /** The far side's reference for the work, when it returns one. */
  readonly externalRef?: string;
}

export interface Connector {
  /** The executing system, for logs and the circuit's name. */
  readonly name: string;
  /**
   * Delivers one decision. Throws ConnectorError: `retryable` when the system is unavailable
   * (timeout, 5xx, 429), not retryable when it refused this request (another 4xx).
   */
  deliver(delivery: ConnectorDelivery): Promise<ConnectorReceipt>;
}

/** A connector call failed; `retryable` says whether trying again later can help. */
export class ConnectorError extends Error {
  override readonly name: string = 'ConnectorError';

  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * The connector is set up wrongly (the system refused our credential, or the credential cannot be
 * read at all): retrying cannot help and the system is not at fault, so it is neither retried nor
 * counted against the circuit; the delivery goes to the dead-letter queue at once for a person to
 * fix the credential and redrive.
 */
export class ConnectorMisconfiguredError extends ConnectorError {
  override readonly name = 'ConnectorMisconfiguredError';

  constructor(message: string, status?: number) {
    super(message, false, status);
  }
}

/**
 * The credential could not be read for a reason that may pass (Secrets Manager throttled or
 * unavailable): retried like an unavailable system, but not counted against the system's circuit.
 */
export class CredentialUnavailableError extends ConnectorError {
  override readonly name = 'CredentialUnavailableError';

  constructor(message: string) {
    super(message, true);
  }
}

/**
 * Where the connector's credential comes from: Secrets Manager in Lambda
 * (lambdas/connector/credential.ts), a fixed value in tests and the local runtime.
 */
export interface CredentialSource {
  /** Where the credential is kept (a secret's ARN), for errors; never the value. */
  readonly location: string;
  /** The header value to send, or undefined to send none (a blank stored value). */
  current(): Promise<string | undefined>;
  /** The system refused the value: the next `current()` reads it afresh (it may just have been replaced). */
  invalidate(): void;
}

/** A credential known in advance: tests and the local runtime. Blank or absent: send none. */
export class FixedCredentialSource implements CredentialSource {
  /** How often the value was read, and forgotten after a refusal. */
  reads = 0;
  invalidations = 0;

  constructor(
    private readonly value: string | undefined,
    readonly location = 'a fixed credential',
  ) {}

  async current(): Promise<string | undefined> {
    this.reads += 1;
    return credentialOrNone(this.value);
  }

  invalidate(): void {
    this.invalidations += 1;
  }
}

/** A stored value that is empty or only whitespace means the system needs no credential. */
export function credentialOrNone(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

export interface HttpConnectorOptions {
  readonly name: string;
  /** https URL that accepts a POSTed ConnectorDelivery. */
  readonly endpoint: string;
  /** A call that takes longer is abandoned (and retried). @default 3_000 */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * The credential the system expects, sent in `header` with every call.
   * @default none: no credential is sent
   */
  readonly credential?: { readonly header: string; readonly source: CredentialSource };
}

/** A Connector over HTTPS: POST the delivery as JSON with an Idempotency-Key header. */
export class HttpConnector implements Connector {
  readonly name: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: HttpConnectorOptions) {
    this.name = options.name;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async deliver(delivery: ConnectorDelivery): Promise<ConnectorReceipt> {
    const credential = this.options.credential;
    const value = credential === undefined ? undefined : await this.readCredential(credential.source);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'idempotency-key': delivery.idempotencyKey,
    };
    if (credential !== undefined && value !== undefined) headers[credential.header.toLowerCase()] = value;
    let response: Response;
    try {
      response = await this.fetch(this.options.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify(delivery),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 3_000),
      });
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new ConnectorError(`${this.name} did not answer (${reason})`, true);
    }
    if (response.ok) {
      const body: unknown = await response.json().catch(() => undefined);
      const ref = typeof body === 'object' && body !== null ? (body as { ref?: unknown }).ref : undefined;
      return typeof ref === 'string' ? { externalRef: ref } : {};
    }
    if (response.status === 401 || response.status === 403) {
      // Someone may be replacing the secret right now: the next delivery reads it afresh.
      credential?.source.invalidate();
      throw new ConnectorMisconfiguredError(
        this.refusalOfCredential(response.status, value),
        response.status,
      );
    }
    const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
    throw new ConnectorError(`${this.name} answered HTTP ${response.status}`, retryable, response.status);
  }

  private async readCredential(source: CredentialSource): Promise<string | undefined> {
    try {
      return await source.current();
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const message = `${this.name}: the credential could not be read from ${source.location} (${reason})`;
      // Throttling or an outage passes; a denied or missing secret is the deployment's to fix.
      throw isTransientError(error)
        ? new CredentialUnavailableError(message)
        : new ConnectorMisconfiguredError(message);
    }
  }

  /** What an operator must do, naming the header and where the credential lives; never the value. */
  private refusalOfCredential(status: number, sent: string | undefined): string {
    const credential = this.options.credential;
    if (credential === undefined) {
      return `${this.name} answered HTTP ${status}: it requires a credential and the connector has none configured.`;
    }
    const what =
      sent === undefined
        ? `sent no ${credential.header} header (${credential.source.location} is blank)`
        : `the ${credential.header} header from ${credential.source.location} was refused`;
    return `${this.name} answered HTTP ${status}: ${what}. Put the header value the system expects (e.g. "Bearer <token>") in ${credential.source.location}, then redrive the dead-lettered deliveries.`;
  }
}

/**
 * Which errors count against the executing system's circuit: its own unavailability, not a
 * credential we could not read (Secrets Manager's trouble) nor one it refused (our configuration).
 */
export function countsAgainstSystem(error: unknown): boolean {
  return !(error instanceof CredentialUnavailableError) && isTransientError(error);
}

/**
 * A well-behaved executing system in memory: it acts once per idempotency key, however often it
 * is called. Tests and the local runtime use it; faults are added by decorating it
 * (local/faults.ts), not by flags here.
 */
export class InMemoryConnector implements Connector {
  /** One entry per distinct idempotency key: what the far side acted on. */
  readonly accepted = new Map<string, ConnectorDelivery>();
  /** Every call, duplicates included. */
  calls = 0;

  constructor(readonly name = 'in-memory') {}

  async deliver(delivery: ConnectorDelivery): Promise<ConnectorReceipt> {
    this.calls += 1;
    if (!this.accepted.has(delivery.idempotencyKey)) {
      this.accepted.set(delivery.idempotencyKey, structuredClone(delivery));
    }
    return { externalRef: `ref-${delivery.idempotencyKey}` };
  }
}

/**
 * delivered: the far side has it. deferred: the safe default: nothing was acted on over there;
 * the decision stands (WorkItemRouted is on the bus, the audit has it) and the delivery must be
 * retried later (the connector Lambda fails the invocation so it lands in its DLQ for redrive).
 * refused: the far side rejected this request for good (a 4xx other than 401, 403, 408 and 429).
 */
export type DeliveryOutcome =
  | { readonly status: 'delivered'; readonly attempts: number; readonly receipt: ConnectorReceipt }
  | { readonly status: 'deferred'; readonly reason: 'circuit-open' | 'unavailable'; readonly detail: string }
  | { readonly status: 'refused'; readonly detail: string }
  /** The connector is set up wrongly (credential refused or unreadable): dead-letter at once, no retries. */
  | { readonly status: 'misconfigured'; readonly detail: string };

export interface ResilientConnectorOptions {
  readonly connector: Connector;
  /** One breaker per downstream system, shared by every call to it. */
  readonly breaker: CircuitBreaker;
  /** Retries within one invocation. @default 3 attempts, 100 ms base, 2 s cap, full jitter */
  readonly retry?: BackoffOptions;
}

/**
 * A Connector behind retries with backoff + jitter and a circuit breaker: each attempt goes
 * through the breaker, so once it opens the remaining attempts stop at once; every failure ends
 * in an outcome (never an exception), so the caller applies its safe default in one place.
 *
 * @example
 * const resilient = new ResilientConnector({ connector, breaker: new CircuitBreaker({ name: connector.name }) });
 * const outcome = await resilient.deliver(deliveryFromRouted(routed));
 */
export class ResilientConnector {
  constructor(private readonly options: ResilientConnectorOptions) {}

  get name(): string {
    return this.options.connector.name;
  }

  async deliver(delivery: ConnectorDelivery): Promise<DeliveryOutcome> {
    const { connector, breaker } = this.options;
    let attempts = 0;
    try {
      const receipt = await retryWithBackoff(
        () => {
          attempts += 1;
          return breaker.execute(() => connector.deliver(delivery));
        },
        {
          maxAttempts: 3,
          baseDelayMs: 100,
          maxDelayMs: 2_000,
          ...this.options.retry,
          // An open circuit will not close within this invocation's backoff: stop at once.
          isRetryable: (error) => !(error instanceof CircuitOpenError) && isTransientError(error),
        },
      );
      return { status: 'delivered', attempts, receipt };
    } catch (error) {
      if (error instanceof CircuitOpenError) {
        return { status: 'deferred', reason: 'circuit-open', detail: error.message };
      }
      const detail = error instanceof Error ? error.message : String(error);
      if (error instanceof ConnectorMisconfiguredError) return { status: 'misconfigured', detail };
      if (isTransientError(error)) return { status: 'deferred', reason: 'unavailable', detail };
      return { status: 'refused', detail };
    }
  }
}
