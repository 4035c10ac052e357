import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WorkItemRouted } from '../../domain/events';
import {
  ConnectorMisconfiguredError,
  type ConnectorResponse,
  ConnectorUnavailableError,
  createConnectorHandler,
} from '../../lambdas/connector/handler';
import { CircuitBreaker } from '../../lambdas/shared/circuit-breaker';
import {
  type CredentialSource,
  countsAgainstSystem,
  credentialOrNone,
  HttpConnector,
  InMemoryConnector,
  ResilientConnector,
} from '../../lambdas/shared/connector';
import { idempotent } from '../../lambdas/shared/idempotency';
import { ManualClock } from '../../lambdas/shared/in-memory';
import { CONNECTOR_RULES, IDEMPOTENCY_TABLE } from '../../lib/definitions/connectors';
import { createTables, type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import { compileEventPattern } from '../../local/event-pattern';
import { FaultPlan } from '../../local/faults';

/**
 * The connector Lambda against DynamoDB Local: Powertools idempotency keeps one delivery per item
 * and attempt however often WorkItemRouted arrives; a connector that is down or slow is retried
 * with backoff, then the circuit opens and the safe default applies (the invocation fails, to be
 * retried and dead-lettered), and a redrive after recovery delivers exactly once.
 */

let local: DynamoDbLocal | undefined;

beforeAll(async () => {
  local = await startDynamoDbLocal();
});

afterAll(async () => {
  await local?.stop();
});

const T0 = Date.parse('2026-11-20T09:00:00.000Z');

function routedEvent(itemId: string, attempt = 1, eventId = randomUUID()) {
  const detail: WorkItemRouted = {
    schemaVersion: '1',
    id: itemId,
    assignee: { agentId: 'automation-billing', kind: 'automation' },
    path: 'automation',
    attempt,
    predictedHandlingSeconds: 30,
    explanation: {
      summary: 'straight-through automation',
      chosen: { agentId: 'automation-billing', cost: 0, terms: [] },
      candidatesConsidered: 0,
    },
    policyVersion: 'p-1',
    modelVersion: 'm-1',
    experimentArm: 'none',
    routedAt: '2026-11-20T09:00:05.000Z',
  };
  return { version: '0', id: eventId, 'detail-type': 'WorkItemRouted', source: 'flowtune', detail };
}

/** What Lambda passes: the remaining time lets an IN_PROGRESS record expire with its invocation. */
function lambdaContext() {
  return {
    awsRequestId: randomUUID(),
    functionName: 'flowtune-connector',
    getRemainingTimeInMillis: () => 15_000,
  };
}

async function setup(options: { plan?: FaultPlan; clock?: ManualClock; failureThreshold?: number } = {}) {
  if (local === undefined) throw new Error('DynamoDB Local did not start');
  const names = await createTables(local.client, [IDEMPOTENCY_TABLE], `c${randomUUID().slice(0, 8)}-`);
  const tableName = names[IDEMPOTENCY_TABLE.id] ?? '';
  const system = new InMemoryConnector('rpa');
  const plan = options.plan ?? new FaultPlan({ seed: 1 });
  const breaker = new CircuitBreaker({
    name: 'rpa',
    failureThreshold: options.failureThreshold ?? 3,
    openMs: 30_000,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const client = local.client;
  const handler = createConnectorHandler({
    connector: new ResilientConnector({
      connector: plan.decorateConnector(system),
      breaker,
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    }),
    once: (deliver) =>
      idempotent(deliver, {
        tableName,
        eventKeyJmesPath: '[detail.id, detail.attempt]',
        keyPrefix: 'connector',
        expiresAfterSeconds: 3_600,
        client,
      }),
  });
  return { handler, system, plan, breaker };
}

describe('connector', { timeout: 60_000 }, () => {
  it('delivers a routing decision once however often, and however concurrently, it arrives', async () => {
    // Prepare
    const { handler, system } = await setup();
    const copies = [1, 2, 3, 4].map(() => routedEvent('HD-1'));

    // Act
    const concurrent = await Promise.allSettled(copies.map((copy) => handler(copy, lambdaContext())));
    // Lambda retries an invocation that met another in progress; by then the first has finished.
    const retried = await Promise.all(copies.map((copy) => handler(copy, lambdaContext())));

    // Assess
    const delivered = concurrent.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const inProgress = concurrent.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    expect(delivered[0]).toMatchObject({ status: 'delivered', itemId: 'HD-1', attempt: 1 });
    expect(inProgress.every((error) => error.name === 'IdempotencyAlreadyInProgressError')).toBe(true);
    expect(retried).toEqual(copies.map(() => delivered[0]));
    expect(system.calls).toBe(1);
    expect([...system.accepted.keys()]).toEqual(['HD-1#1']);
  });

  it('delivers again for a new routing attempt of the same item (a re-route)', async () => {
    // Prepare
    const { handler, system } = await setup();

    // Act
    await handler(routedEvent('HD-2', 1), lambdaContext());
    await handler(routedEvent('HD-2', 2), lambdaContext());

    // Assess
    expect([...system.accepted.keys()]).toEqual(['HD-2#1', 'HD-2#2']);
  });

  it('retries a slow or briefly failing system with backoff and delivers within the invocation', async () => {
    // Prepare
    const plan = new FaultPlan({
      seed: 4,
      connector: { downRate: 0.2, slowRate: 0.2, slowMs: 30, timeoutMs: 10 },
    });
    // A threshold the scattered failures never reach: this test is about retries, not the circuit.
    const { handler, system } = await setup({ plan, failureThreshold: 50 });

    // Act
    const responses: (ConnectorResponse | Error)[] = [];
    for (let index = 0; index < 20; index++) {
      responses.push(
        await handler(routedEvent(`HD-3-${index}`), lambdaContext()).catch((error: Error) => error),
      );
    }

    // Assess
    const delivered = responses.filter((response) => !(response instanceof Error));
    expect(plan.total).toBeGreaterThan(0);
    expect(delivered.length).toBeGreaterThanOrEqual(17);
    expect(delivered.some((response) => 'calls' in response && response.calls > 1)).toBe(true);
    expect(system.accepted.size).toBe(delivered.length);
  });

  it('when the system is down: defers (fails the invocation), opens the circuit, and after recovery a redrive delivers once', async () => {
    // Prepare
    const clock = new ManualClock(T0);
    const { handler, system, plan, breaker } = await setup({ clock });
    plan.setConnectorDown(true);
    const events = [1, 2, 3, 4].map((index) => routedEvent(`HD-4-${index}`));

    // Act
    const failures: unknown[] = [];
    for (const event of events)
      failures.push(await handler(event, lambdaContext()).catch((error: unknown) => error));
    const callsWhileDown = plan.injected.get('connector.rpa:down') ?? 0;
    plan.setConnectorDown(false);
    clock.advance(30_000);
    // The dead-lettered invocations are redriven (each twice, as a redrive may overlap a late retry).
    const redriven = [];
    for (const event of [...events, ...events]) redriven.push(await handler(event, lambdaContext()));

    // Assess
    expect(failures.every((error) => error instanceof ConnectorUnavailableError)).toBe(true);
    expect(String(failures[3])).toMatch(/circuit-open/);
    expect(callsWhileDown).toBe(3);
    expect(breaker.state).toBe('closed');
    expect(redriven.every((response) => response.status === 'delivered')).toBe(true);
    expect(system.calls).toBe(4);
    expect(system.accepted.size).toBe(4);
  });

  it('ignores events that are not Flowtune routing decisions, and matches only automation by its rule', async () => {
    // Prepare
    const { handler, system } = await setup();
    const rule = compileEventPattern(CONNECTOR_RULES.automationRouted.pattern);
    const forPerson = routedEvent('HD-5');
    forPerson.detail.assignee = { agentId: 'agent-ana', kind: 'person' };

    // Act
    const foreign = await handler({ ...routedEvent('HD-5'), source: 'helpdesk' });
    const invalid = await handler({ ...routedEvent('HD-5'), detail: { id: 'HD-5' } });

    // Assess
    expect(foreign.status).toBe('ignored');
    expect(invalid).toMatchObject({
      status: 'ignored',
      reason: expect.stringMatching(/assignee|schemaVersion/),
    });
    expect(system.calls).toBe(0);
    expect(rule(routedEvent('HD-5'))).toBe(true);
    expect(rule(forPerson)).toBe(false);
  });
});

const SECRET = 'the secret arn:aws:secretsmanager:eu-west-1:111122223333:secret:ConnectorCredential-AbCdEf';
const TOKEN = 'Bearer s3cr3t-t0ken-never-logged';

/** What an operator changes in the secret; the connector reads it as the live source would. */
class EditableCredential implements CredentialSource {
  readonly location = SECRET;
  invalidations = 0;
  failure: Error | undefined;

  constructor(public value: string) {}

  async current(): Promise<string | undefined> {
    if (this.failure !== undefined) throw this.failure;
    return credentialOrNone(this.value);
  }

  invalidate(): void {
    this.invalidations += 1;
  }
}

/** An executing system over fetch that requires `Bearer good`, remembering what it was sent. */
function systemRequiring(accepted: string) {
  const sent: (string | null)[] = [];
  const fetchStub: typeof fetch = async (_url, init) => {
    const value = new Headers(init?.headers).get('authorization');
    sent.push(value);
    return value === accepted
      ? new Response(JSON.stringify({ ref: `ref-${sent.length}` }), { status: 200 })
      : new Response(JSON.stringify({ message: 'unauthorized' }), { status: 401 });
  };
  return { sent, fetchStub };
}

/** Telemetry that logs everything, and what it wrote to stdout and stderr. */
function loudTelemetry() {
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  const telemetry = {
    logger: new Logger({ serviceName: 'flowtune-connector-test', logLevel: 'DEBUG' }),
    metrics: new Metrics({ namespace: 'FlowtuneTest', serviceName: 'flowtune-connector-test' }),
    tracer: new Tracer({ serviceName: 'flowtune-connector-test' }),
  };
  const restore = () => {
    stdout.mockRestore();
    stderr.mockRestore();
  };
  return { telemetry, written, restore };
}

async function credentialSetup(credential: EditableCredential, accepted: string) {
  if (local === undefined) throw new Error('DynamoDB Local did not start');
  const names = await createTables(local.client, [IDEMPOTENCY_TABLE], `k${randomUUID().slice(0, 8)}-`);
  const tableName = names[IDEMPOTENCY_TABLE.id] ?? '';
  const system = systemRequiring(accepted);
  const breaker = new CircuitBreaker({ name: 'rpa', failureThreshold: 1, isFailure: countsAgainstSystem });
  const deadLettered: { event: unknown; error: ConnectorMisconfiguredError }[] = [];
  const loud = loudTelemetry();
  const client = local.client;
  const handler = createConnectorHandler({
    connector: new ResilientConnector({
      connector: new HttpConnector({
        name: 'rpa',
        endpoint: 'https://rpa.example.com/in',
        fetch: system.fetchStub,
        credential: { header: 'Authorization', source: credential },
      }),
      breaker,
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    }),
    once: (deliver) =>
      idempotent(deliver, {
        tableName,
        eventKeyJmesPath: '[detail.id, detail.attempt]',
        keyPrefix: 'connector',
        expiresAfterSeconds: 3_600,
        client,
      }),
    deadLetter: async (event, error) => {
      deadLettered.push({ event, error });
    },
    telemetry: loud.telemetry,
  });
  return { handler, system, breaker, deadLettered, loud };
}

describe('connector credential', { timeout: 60_000 }, () => {
  it('sends the credential in its header and delivers', async () => {
    // Prepare
    const { handler, system, loud } = await credentialSetup(new EditableCredential(TOKEN), TOKEN);

    // Act
    const response = await handler(routedEvent('CR-1'), lambdaContext()).finally(loud.restore);

    // Assess
    expect(response).toMatchObject({ status: 'delivered', calls: 1 });
    expect(system.sent).toEqual([TOKEN]);
    expect(loud.written.join('')).not.toContain('s3cr3t');
  });

  it('sends no credential header when the secret is blank', async () => {
    // Prepare
    const { handler, system, loud } = await credentialSetup(new EditableCredential('  '), TOKEN);

    // Act
    const response = await handler(routedEvent('CR-2'), lambdaContext()).finally(loud.restore);

    // Assess
    expect(response).toMatchObject({ status: 'dead-lettered' });
    expect(system.sent).toEqual([null]);
    expect(response.status === 'dead-lettered' && response.reason).toMatch(
      /sent no Authorization header \(the secret .*ConnectorCredential-AbCdEf is blank\)/,
    );
  });

  it('dead-letters a refused credential at once: one call, no retry, the circuit untouched, the header and secret named, the credential never logged; after the fix a redrive delivers', async () => {
    // Prepare
    const credential = new EditableCredential('Bearer s3cr3t-but-expired');
    const { handler, system, breaker, deadLettered, loud } = await credentialSetup(credential, TOKEN);
    const event = routedEvent('CR-3');

    // Act
    const refused = await handler(event, lambdaContext()).finally(loud.restore);
    credential.value = TOKEN;
    const redriven = await handler(deadLettered[0]?.event, lambdaContext());

    // Assess
    expect(refused.status).toBe('dead-lettered');
    expect(system.sent).toEqual(['Bearer s3cr3t-but-expired', TOKEN]);
    expect(breaker.state).toBe('closed');
    expect(credential.invalidations).toBe(1);
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]?.event).toEqual(event);
    expect(deadLettered[0]?.error.message).toMatch(
      /rpa answered HTTP 401: the Authorization header from the secret arn:aws:secretsmanager:.*ConnectorCredential-AbCdEf was refused\. Put the header value the system expects/,
    );
    const logs = loud.written.join('');
    expect(logs).toMatch(/connector misconfigured/);
    expect(logs).not.toContain('s3cr3t');
    expect(redriven).toMatchObject({ status: 'delivered', itemId: 'CR-3' });
  });

  it('fails the invocation with ConnectorMisconfiguredError when no dead-letter queue is wired', async () => {
    // Prepare
    const system = systemRequiring(TOKEN);
    const handler = createConnectorHandler({
      connector: new ResilientConnector({
        connector: new HttpConnector({
          name: 'rpa',
          endpoint: 'https://rpa.example.com/in',
          fetch: system.fetchStub,
          credential: { header: 'Authorization', source: new EditableCredential('Bearer wrong') },
        }),
        breaker: new CircuitBreaker({ name: 'rpa' }),
        retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      }),
    });

    // Act
    const failure = await handler(routedEvent('CR-4')).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(ConnectorMisconfiguredError);
    expect(system.sent).toHaveLength(1);
  });

  it('a denied secret is misconfiguration (dead-lettered); a throttled one is retried and never opens the circuit', async () => {
    // Prepare
    const credential = new EditableCredential(TOKEN);
    const { handler, system, breaker, deadLettered, loud } = await credentialSetup(credential, TOKEN);

    // Act
    credential.failure = Object.assign(new Error('not authorized to GetSecretValue'), {
      name: 'AccessDeniedException',
    });
    const denied = await handler(routedEvent('CR-5'), lambdaContext());
    credential.failure = Object.assign(new Error('rate exceeded'), { name: 'ThrottlingException' });
    const throttled = await handler(routedEvent('CR-6'), lambdaContext()).catch((error: unknown) => error);
    loud.restore();

    // Assess
    expect(denied.status).toBe('dead-lettered');
    expect(deadLettered[0]?.error.message).toMatch(
      /could not be read from the secret .*AccessDeniedException/,
    );
    expect(throttled).toBeInstanceOf(ConnectorUnavailableError);
    expect(breaker.state).toBe('closed');
    expect(system.sent).toEqual([]);
  });
});
