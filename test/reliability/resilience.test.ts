import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, type CircuitState } from '../../lambdas/shared/circuit-breaker';
import {
  type Connector,
  type ConnectorDelivery,
  ConnectorError,
  HttpConnector,
  InMemoryConnector,
  ResilientConnector,
} from '../../lambdas/shared/connector';
import { ManualClock } from '../../lambdas/shared/in-memory';
import { fullJitterDelay, isTransientError, retryWithBackoff } from '../../lambdas/shared/retry';

const T0 = Date.parse('2026-11-20T09:00:00.000Z');

const named = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name }, extra);

function delivery(itemId = 'HD-1', attempt = 1): ConnectorDelivery {
  return {
    itemId,
    attempt,
    agentId: 'automation-billing',
    agentKind: 'automation',
    path: 'automation',
    routedAt: '2026-11-20T09:00:05.000Z',
    policyVersion: 'p-1',
    idempotencyKey: `${itemId}#${attempt}`,
  };
}

/** A connector that fails the first `failures` calls with `error`, then delivers. */
function flakyConnector(failures: number, error: () => Error): Connector & { calls: number } {
  const inner = new InMemoryConnector('flaky');
  const connector = {
    name: 'flaky',
    calls: 0,
    async deliver(next: ConnectorDelivery) {
      connector.calls += 1;
      if (connector.calls <= failures) throw error();
      return inner.deliver(next);
    },
  };
  return connector;
}

describe('retry with backoff and full jitter', () => {
  it('draws each delay uniformly below a window that doubles per retry and stops at the cap', () => {
    // Prepare
    const top = () => 0.999_999;

    // Act
    const windows = [0, 1, 2, 3, 10].map((retry) => fullJitterDelay(retry, 100, 1_000, top));

    // Assess
    expect(windows).toEqual([99, 199, 399, 799, 999]);
    expect(fullJitterDelay(3, 100, 1_000, () => 0)).toBe(0);
  });

  it('retries a transient error with jittered delays and returns the eventual result', async () => {
    // Prepare
    const delays: number[] = [];
    let calls = 0;

    // Act
    const result = await retryWithBackoff(
      async () => {
        calls += 1;
        if (calls < 3) throw named('ThrottlingException');
        return 'done';
      },
      { maxAttempts: 4, baseDelayMs: 100, random: () => 0.5, sleep: async (ms) => void delays.push(ms) },
    );

    // Assess
    expect(result).toBe('done');
    expect(calls).toBe(3);
    expect(delays).toEqual([50, 100]);
  });

  it('does not retry an error that another attempt cannot change', async () => {
    // Prepare
    let calls = 0;

    // Act
    const attempt = retryWithBackoff(
      async () => {
        calls += 1;
        throw named('ConditionalCheckFailedException');
      },
      { maxAttempts: 5, sleep: async () => {} },
    );

    // Assess
    await expect(attempt).rejects.toThrow('ConditionalCheckFailedException');
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts and rethrows the last error', async () => {
    // Prepare
    let calls = 0;

    // Act
    const attempt = retryWithBackoff(
      async () => {
        calls += 1;
        throw named('InternalServerError', { message: `attempt ${calls}` });
      },
      { maxAttempts: 3, sleep: async () => {} },
    );

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'InternalServerError' });
    expect(calls).toBe(3);
  });

  it.each([
    ['ProvisionedThroughputExceededException', {}, true],
    ['TransactionConflictException', {}, true],
    ['TransientFailureError', {}, true],
    ['Error', { $metadata: { httpStatusCode: 503 } }, true],
    ['Error', { $metadata: { httpStatusCode: 429 } }, true],
    ['Error', { code: 'ECONNRESET' }, true],
    ['ConditionalCheckFailedException', { $metadata: { httpStatusCode: 400 } }, false],
    ['ValidationException', { $metadata: { httpStatusCode: 400 } }, false],
    ['AccessDeniedException', { $metadata: { httpStatusCode: 400 } }, false],
    ['ConnectorError', { retryable: false, $metadata: { httpStatusCode: 503 } }, false],
  ] as const)('classifies %s %o as transient: %s', (name, extra, transient) => {
    expect(isTransientError(named(name, extra))).toBe(transient);
  });
});

describe('circuit breaker', () => {
  const failing = () => Promise.reject(named('ServiceUnavailableException'));

  function breaker(clock: ManualClock, changes: CircuitState[] = []) {
    return new CircuitBreaker({
      name: 'crm',
      failureThreshold: 3,
      openMs: 10_000,
      clock,
      onStateChange: ({ to }) => changes.push(to),
    });
  }

  it('opens after the threshold of consecutive failures and then fails fast without calling', async () => {
    // Prepare
    const clock = new ManualClock(T0);
    const circuit = breaker(clock);
    for (let index = 0; index < 3; index++) await expect(circuit.execute(failing)).rejects.toThrow();
    let called = false;

    // Act
    const attempt = circuit.execute(async () => {
      called = true;
      return 'x';
    });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(CircuitOpenError);
    expect(called).toBe(false);
    expect(circuit.state).toBe('open');
  });

  it('a success between failures resets the count, so only consecutive failures open it', async () => {
    // Prepare
    const circuit = breaker(new ManualClock(T0));

    // Act
    for (const outcome of ['fail', 'fail', 'ok', 'fail', 'fail'] as const) {
      await circuit.execute(outcome === 'ok' ? async () => 'ok' : failing).catch(() => undefined);
    }

    // Assess
    expect(circuit.state).toBe('closed');
  });

  it('lets one trial call through after the cool-down and closes when it succeeds', async () => {
    // Prepare
    const clock = new ManualClock(T0);
    const changes: CircuitState[] = [];
    const circuit = breaker(clock, changes);
    for (let index = 0; index < 3; index++) await circuit.execute(failing).catch(() => undefined);
    clock.advance(10_000);

    // Act
    const result = await circuit.execute(async () => 'recovered');

    // Assess
    expect(result).toBe('recovered');
    expect(changes).toEqual(['open', 'half-open', 'closed']);
  });

  it('re-opens for a full cool-down when the trial call fails', async () => {
    // Prepare
    const clock = new ManualClock(T0);
    const circuit = breaker(clock);
    for (let index = 0; index < 3; index++) await circuit.execute(failing).catch(() => undefined);
    clock.advance(10_000);

    // Act
    await circuit.execute(failing).catch(() => undefined);
    clock.advance(9_999);

    // Assess
    expect(circuit.state).toBe('open');
    clock.advance(1);
    expect(circuit.state).toBe('half-open');
  });

  it('allows only one trial at a time while half-open', async () => {
    // Prepare
    const clock = new ManualClock(T0);
    const circuit = breaker(clock);
    for (let index = 0; index < 3; index++) await circuit.execute(failing).catch(() => undefined);
    clock.advance(10_000);
    const trial = Promise.withResolvers<string>();

    // Act
    const first = circuit.execute(() => trial.promise);
    const second = circuit.execute(async () => 'second');
    trial.resolve('first');

    // Assess
    await expect(second).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(first).resolves.toBe('first');
    expect(circuit.state).toBe('closed');
  });

  it('does not count a refusal of one request (not transient) against the system', async () => {
    // Prepare
    const circuit = breaker(new ManualClock(T0));
    const refused = () => Promise.reject(new ConnectorError('HTTP 422', false, 422));

    // Act
    for (let index = 0; index < 10; index++) await circuit.execute(refused).catch(() => undefined);

    // Assess
    expect(circuit.state).toBe('closed');
  });

  it('answers with the safe default when open, saying why', async () => {
    // Prepare
    const circuit = breaker(new ManualClock(T0));
    for (let index = 0; index < 3; index++) await circuit.execute(failing).catch(() => undefined);

    // Act
    const answer = await circuit.executeOr(
      async () => 'live',
      (reason) => `default (${reason.kind})`,
    );

    // Assess
    expect(answer).toBe('default (open)');
  });
});

describe('resilient connector', () => {
  const noSleep = { sleep: async () => {}, random: () => 0.5 };

  it('delivers through transient failures, retrying with backoff', async () => {
    // Prepare
    const connector = flakyConnector(2, () => new ConnectorError('HTTP 503', true, 503));
    const resilient = new ResilientConnector({
      connector,
      breaker: new CircuitBreaker({ name: 'flaky', failureThreshold: 5 }),
      retry: { maxAttempts: 3, ...noSleep },
    });

    // Act
    const outcome = await resilient.deliver(delivery());

    // Assess
    expect(outcome).toMatchObject({ status: 'delivered', attempts: 3 });
  });

  it('defers (the safe default) when the system stays unavailable, and then stops calling it', async () => {
    // Prepare
    const clock = new ManualClock(T0);
    const connector = flakyConnector(1_000, () => new ConnectorError('HTTP 503', true, 503));
    const resilient = new ResilientConnector({
      connector,
      breaker: new CircuitBreaker({ name: 'flaky', failureThreshold: 3, openMs: 60_000, clock }),
      retry: { maxAttempts: 3, ...noSleep },
    });

    // Act
    const first = await resilient.deliver(delivery('HD-1'));
    const second = await resilient.deliver(delivery('HD-2'));

    // Assess
    expect(first).toMatchObject({ status: 'deferred', reason: 'unavailable' });
    expect(second).toMatchObject({ status: 'deferred', reason: 'circuit-open' });
    expect(connector.calls).toBe(3);
  });

  it('does not retry a refusal and reports it as refused', async () => {
    // Prepare
    const connector = flakyConnector(1_000, () => new ConnectorError('HTTP 422', false, 422));
    const resilient = new ResilientConnector({
      connector,
      breaker: new CircuitBreaker({ name: 'flaky' }),
      retry: { maxAttempts: 3, ...noSleep },
    });

    // Act
    const outcome = await resilient.deliver(delivery());

    // Assess
    expect(outcome).toMatchObject({ status: 'refused' });
    expect(connector.calls).toBe(1);
  });

  it('HTTP connector sends an idempotency key and tells a 5xx (retryable) from a 4xx (final)', async () => {
    // Prepare
    const seen: { key: string | null; body: unknown }[] = [];
    const statuses = [503, 422, 200];
    const fetchStub: typeof fetch = async (_url, init) => {
      const headers = new Headers(init?.headers);
      seen.push({ key: headers.get('idempotency-key'), body: JSON.parse(String(init?.body)) });
      const status = statuses.shift() ?? 200;
      return new Response(JSON.stringify({ ref: 'EXT-9' }), { status });
    };
    const connector = new HttpConnector({
      name: 'rpa',
      endpoint: 'https://rpa.example/jobs',
      fetch: fetchStub,
    });

    // Act
    const unavailable = await connector.deliver(delivery()).catch((error: unknown) => error);
    const refused = await connector.deliver(delivery()).catch((error: unknown) => error);
    const receipt = await connector.deliver(delivery());

    // Assess
    expect(unavailable).toMatchObject({ name: 'ConnectorError', retryable: true, status: 503 });
    expect(refused).toMatchObject({ name: 'ConnectorError', retryable: false, status: 422 });
    expect(receipt).toEqual({ externalRef: 'EXT-9' });
    expect(seen.map((call) => call.key)).toEqual(['HD-1#1', 'HD-1#1', 'HD-1#1']);
    expect(seen[0]?.body).toEqual(delivery());
  });

  it('HTTP connector treats a call that outlives its timeout as retryable', async () => {
    // Prepare
    const hanging: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    const connector = new HttpConnector({
      name: 'slow',
      endpoint: 'https://slow.example',
      timeoutMs: 20,
      fetch: hanging,
    });

    // Act
    const error = await connector.deliver(delivery()).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'ConnectorError', retryable: true });
    expect(isTransientError(error)).toBe(true);
  });
});
