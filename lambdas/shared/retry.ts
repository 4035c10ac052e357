/**
 * Retries with capped exponential backoff and full jitter, and the one place that says which
 * errors are worth retrying. The AWS SDK already retries its own calls this way (standard mode,
 * 3 attempts); this is for what the SDK does not cover: calls to external connectors, and a
 * handler deciding whether a failure is transient (retry the task) or final (record it).
 */

/** Uniform numbers in [0, 1); injected so tests and the fault plan replay from a seed. */
export type Random = () => number;

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface BackoffOptions {
  /** Attempts in all, the first included. @default 3 */
  readonly maxAttempts?: number;
  /** Cap of the first retry's delay; doubled for each later retry. @default 100 */
  readonly baseDelayMs?: number;
  /** No delay exceeds this. @default 5_000 */
  readonly maxDelayMs?: number;
  /** Which errors earn another attempt. @default isTransientError */
  readonly isRetryable?: (error: unknown) => boolean;
  /** @default Math.random */
  readonly random?: Random;
  /** @default setTimeout */
  readonly sleep?: Sleep;
  /** Told before each retry (logs, metrics, tests). */
  readonly onRetry?: (retry: {
    readonly attempt: number;
    readonly delayMs: number;
    readonly error: unknown;
  }) => void;
}

/**
 * "Full jitter" (AWS Architecture Blog, Exponential Backoff and Jitter): a delay drawn uniformly
 * from [0, min(max, base × 2^retry)). Spreading retries over the whole window is what keeps many
 * clients that failed together from retrying together.
 *
 * @example
 * fullJitterDelay(2, 100, 5_000, () => 0.5); // 200: half of the 400 ms window of the third retry
 */
export function fullJitterDelay(
  retry: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: Random,
): number {
  const window = Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
  return Math.floor(random() * window);
}

/**
 * Runs `operation` until it succeeds, fails with an error that is not retryable, or has used
 * `maxAttempts`; the last error is rethrown as is. `operation` gets the attempt number (1-based).
 *
 * @example
 * const receipt = await retryWithBackoff(() => connector.deliver(delivery), { maxAttempts: 4 });
 */
export async function retryWithBackoff<T>(
  operation: (attempt: number) => Promise<T>,
  options: BackoffOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const isRetryable = options.isRetryable ?? isTransientError;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= maxAttempts || !isRetryable(error)) throw error;
      const delayMs = fullJitterDelay(attempt - 1, baseDelayMs, maxDelayMs, random);
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}

/**
 * Error names that mean "try again later": AWS throttling and server-side faults (as the SDK
 * names them once its own retries are spent), Flowtune's own transient errors, and network
 * failures. A failed condition, a validation error or an access denial is not among them: retrying
 * those cannot change the answer.
 */
const TRANSIENT_ERROR_NAMES = new Set([
  // AWS throttling
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'LimitExceededException',
  'RequestThrottledException',
  'KMSThrottlingException',
  // AWS server side
  'InternalServerError',
  'InternalServerErrorException',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  // DynamoDB: a concurrent transaction touched the same item
  'TransactionConflictException',
  'TransactionInProgressException',
  // network / SDK client side
  'TimeoutError',
  'AbortError',
  'RequestTimeout',
  'RequestTimeoutException',
  'NetworkingError',
  // Flowtune
  'TransientFailureError',
  'ConnectorUnavailableError',
]);

const TRANSIENT_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

interface ErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
  readonly retryable?: unknown;
}

/**
 * True for an error a later attempt may not meet: throttling, a 5xx or 429, a timeout, a dropped
 * connection, or an error that says so itself (`$retryable` from the SDK, `retryable: true`).
 *
 * @example
 * isTransientError(Object.assign(new Error('slow down'), { name: 'ThrottlingException' })); // true
 * isTransientError(Object.assign(new Error('no'), { name: 'ConditionalCheckFailedException' })); // false
 */
export function isTransientError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const shape = error as ErrorShape;
  if (typeof shape.retryable === 'boolean') return shape.retryable;
  if (shape.$retryable !== undefined && shape.$retryable !== null) return true;
  if (typeof shape.name === 'string' && TRANSIENT_ERROR_NAMES.has(shape.name)) return true;
  if (typeof shape.code === 'string' && TRANSIENT_NODE_CODES.has(shape.code)) return true;
  const status = shape.$metadata?.httpStatusCode;
  return typeof status === 'number' && (status === 429 || status >= 500);
}
