import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkItemRouted } from '../../domain/events';
import {
  type ConnectorResponse,
  ConnectorUnavailableError,
  createConnectorHandler,
} from '../../lambdas/connector/handler';
import { CircuitBreaker } from '../../lambdas/shared/circuit-breaker';
import { InMemoryConnector, ResilientConnector } from '../../lambdas/shared/connector';
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
