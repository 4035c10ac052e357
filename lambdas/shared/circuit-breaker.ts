import { type Clock, systemClock } from './ports';
import { isTransientError } from './retry';

/**
 * A circuit breaker for calls to systems outside Flowtune (connectors). While a system is down,
 * calling it anyway only adds latency to every item and load to a system trying to recover; the
 * breaker stops calling after repeated failures, answers with the caller's safe default at once,
 * and lets one trial call through after a cool-down to find out whether the system is back.
 *
 *   closed ──(failureThreshold consecutive failures)──▶ open
 *   open ──(openMs elapsed)──▶ half-open: one trial call at a time
 *   half-open ──success──▶ closed        half-open ──failure──▶ open (cool-down again)
 *
 * One breaker per downstream system, kept for the life of the process (module scope in a Lambda,
 * so warm invocations share what earlier ones learnt).
 */

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** The downstream system, for errors and logs. */
  readonly name: string;
  /** Consecutive failures that open the circuit. @default 5 */
  readonly failureThreshold?: number;
  /** How long the circuit stays open before a trial call. @default 30_000 */
  readonly openMs?: number;
  /** Injected time source. @default the system clock */
  readonly clock?: Clock;
  /**
   * Which errors count against the system. A refusal of one request (a 4xx) says nothing about
   * the system's health and must not open the circuit. @default isTransientError
   */
  readonly isFailure?: (error: unknown) => boolean;
  /** Told of every state change (logs, metrics, tests). */
  readonly onStateChange?: (change: { readonly from: CircuitState; readonly to: CircuitState }) => void;
}

/** Thrown (or handed to the fallback) when the circuit is open: the call was not attempted. */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';
  /** A later attempt may succeed: retry logic and DLQ redrive treat it as transient. */
  readonly retryable = true;

  constructor(
    readonly circuit: string,
    readonly retryAt: number,
  ) {
    super(
      `circuit "${circuit}" is open after repeated failures; next trial at ${new Date(retryAt).toISOString()}`,
    );
  }
}

/** Why the safe default was used. */
export type FallbackReason =
  | { readonly kind: 'open'; readonly error: CircuitOpenError }
  | { readonly kind: 'failed'; readonly error: unknown };

/**
 * @example
 * const breaker = new CircuitBreaker({ name: 'crm', failureThreshold: 5, openMs: 30_000 });
 * const receipt = await breaker.executeOr(() => crm.notify(item), () => ({ status: 'deferred' }));
 */
export class CircuitBreaker {
  readonly name: string;
  private readonly failureThreshold: number;
  private readonly openMs: number;
  private readonly clock: Clock;
  private readonly isFailure: (error: unknown) => boolean;
  private readonly onStateChange: CircuitBreakerOptions['onStateChange'];
  private current: CircuitState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private trialInFlight = false;

  constructor(options: CircuitBreakerOptions) {
    if (!Number.isInteger(options.failureThreshold ?? 5) || (options.failureThreshold ?? 5) < 1) {
      throw new RangeError(
        `CircuitBreaker "${options.name}": failureThreshold must be a positive integer (got ${options.failureThreshold})`,
      );
    }
    this.name = options.name;
    this.failureThreshold = options.failureThreshold ?? 5;
    this.openMs = options.openMs ?? 30_000;
    this.clock = options.clock ?? systemClock;
    this.isFailure = options.isFailure ?? isTransientError;
    this.onStateChange = options.onStateChange;
  }

  /** The state now: an open circuit whose cool-down has elapsed reads as half-open. */
  get state(): CircuitState {
    if (this.current === 'open' && this.clock.now() - this.openedAt >= this.openMs) {
      this.transition('half-open');
    }
    return this.current;
  }

  /**
   * Runs `operation` unless the circuit is open (then throws CircuitOpenError without calling).
   * Errors of `operation` are rethrown after being counted.
   */
  async execute<T>(operation: () => Promise<T>): Promise<T> {
    const state = this.state;
    if (state === 'open' || (state === 'half-open' && this.trialInFlight)) {
      throw new CircuitOpenError(this.name, this.openedAt + this.openMs);
    }
    const isTrial = state === 'half-open';
    if (isTrial) this.trialInFlight = true;
    try {
      const result = await operation();
      this.recordSuccess();
      return result;
    } catch (error) {
      this.recordError(error, isTrial);
      throw error;
    } finally {
      if (isTrial) this.trialInFlight = false;
    }
  }

  /**
   * Like `execute`, but any failure (open circuit or failed call) returns the caller's safe
   * default instead of throwing: the caller decides what "safe" means for its call.
   */
  async executeOr<T>(
    operation: () => Promise<T>,
    fallback: (reason: FallbackReason) => T | Promise<T>,
  ): Promise<T> {
    try {
      return await this.execute(operation);
    } catch (error) {
      if (error instanceof CircuitOpenError) return fallback({ kind: 'open', error });
      return fallback({ kind: 'failed', error });
    }
  }

  private recordSuccess(): void {
    this.consecutiveFailures = 0;
    if (this.current !== 'closed') this.transition('closed');
  }

  private recordError(error: unknown, isTrial: boolean): void {
    if (!this.isFailure(error)) {
      // The system answered (with a refusal): it is up. A trial that gets an answer closes the circuit.
      if (isTrial) this.recordSuccess();
      return;
    }
    this.consecutiveFailures += 1;
    if (isTrial || this.consecutiveFailures >= this.failureThreshold) {
      this.openedAt = this.clock.now();
      if (this.current !== 'open') this.transition('open');
    }
  }

  private transition(to: CircuitState): void {
    const from = this.current;
    this.current = to;
    if (to === 'closed') this.consecutiveFailures = 0;
    this.onStateChange?.({ from, to });
  }
}
