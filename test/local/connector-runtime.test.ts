import { DeleteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../domain/policy';
import { type ConnectorDelivery, ConnectorError, HttpConnector } from '../../lambdas/shared/connector';
import { CONNECTOR_RULES } from '../../lib/definitions/connectors';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import type { LocalEvent } from '../../local/event-router';
import { type LocalExecutingSystem, startExecutingSystem } from '../../local/executing-system';
import { LOCAL_EVENT_BUS_NAME } from '../../local/local-names';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '../../local/runtime';
import { fixtureDetail, newWorkItem, redriveLocally } from '../reliability/support';
import { waitUntil } from '../support/wait-until';

/**
 * The connector in the local runtime: routing decisions for an automation agent on the roster go
 * from the local bus (CONNECTOR_RULES) through the real connector handler (HTTP, retries, circuit
 * breaker, Powertools idempotency on DynamoDB Local) to a stand-in executing system over HTTP.
 */

let dynamoDb: DynamoDbLocal | undefined;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dynamoDb = await startDynamoDbLocal();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await dynamoDb?.stop();
});

const BOT = 'bot-billing';

/** An executing system and a runtime that delivers to it, stopped after the test. */
async function setup(
  connector: Partial<NonNullable<LocalRuntimeOptions['connector']>> = {},
  requireCredential?: { readonly header?: string; readonly value: string },
) {
  if (dynamoDb === undefined) throw new Error('DynamoDB Local did not start');
  const system = await startExecutingSystem({
    name: 'rpa',
    ...(requireCredential === undefined ? {} : { requireCredential }),
  });
  cleanups.push(() => system.stop());
  const runtime = await startLocalRuntime({
    dynamoDb,
    dispatchTickMs: false,
    retryIntervalMs: 10,
    connector: { endpoint: system.url, name: system.name, ...connector },
  });
  cleanups.push(() => runtime.stop());
  // With no history the model's confidence is 0: accept it, or every item goes to human review.
  await runtime.ports.features.putActivePolicy({
    ...DEFAULT_POLICY,
    version: 'connector-1',
    minConfidence: 0,
  });
  // An automation agent on the roster, with the fixture items' skills.
  await runtime.putEvent(
    'AgentStatusChanged',
    {
      ...fixtureDetail('agent-status-changed'),
      agentId: BOT,
      kind: 'automation',
      capacity: 10,
      changedAt: new Date().toISOString(),
      shiftEndsAt: new Date(Date.now() + 8 * 3_600_000).toISOString(),
    },
    'workforce',
  );
  await runtime.idle();
  return { system, runtime };
}

async function routeItems(runtime: LocalRuntime, itemIds: readonly string[]): Promise<LocalEvent[]> {
  for (const itemId of itemIds) await runtime.putEvent('WorkItemCreated', newWorkItem(itemId), 'helpdesk');
  const routed = await Promise.all(
    itemIds.map((itemId) => runtime.waitForEmitted('WorkItemRouted', itemId, 45_000)),
  );
  await runtime.idle();
  return routed;
}

/** The same event again, as EventBridge's at-least-once delivery can bring it. */
async function putAgain(runtime: LocalRuntime, event: LocalEvent): Promise<void> {
  await runtime.putEvents([
    {
      EventBusName: LOCAL_EVENT_BUS_NAME,
      Source: event.source,
      DetailType: event['detail-type'],
      Detail: JSON.stringify(event.detail),
    },
  ]);
}

const connectorFailures = (runtime: LocalRuntime) =>
  runtime.failures().filter((failure) => failure.where === `rule ${CONNECTOR_RULES.automationRouted.id}`);

function delivered(system: LocalExecutingSystem): string[] {
  return system.deliveries.map((received) => received.idempotencyKey).sort();
}

describe('the connector in the local runtime', { timeout: 90_000 }, () => {
  it('delivers each item routed to an automation agent once to the executing system, however often the decision arrives', async () => {
    // Prepare
    const { system, runtime } = await setup();
    const itemIds = ['AUTO-1', 'AUTO-2'];

    // Act
    const routed = await routeItems(runtime, itemIds);
    for (const event of [...routed, ...routed]) await putAgain(runtime, event);
    await runtime.idle();

    // Assess
    expect(routed.map((event) => event.detail)).toEqual(
      itemIds.map((id) => expect.objectContaining({ id, assignee: { agentId: BOT, kind: 'automation' } })),
    );
    expect(delivered(system)).toEqual(['AUTO-1#1', 'AUTO-2#1']);
    expect(system.deliveriesFor('AUTO-1')[0]?.delivery).toMatchObject({
      itemId: 'AUTO-1',
      attempt: 1,
      agentId: BOT,
      agentKind: 'automation',
      path: 'routing',
    });
    // The duplicates were answered from their idempotency records, without calling the system.
    expect(system.requests).toBe(2);
    expect(runtime.connector?.stats).toEqual({ invocations: 6, errors: 0, delivered: 6, deadLettered: 0 });
    expect(runtime.failures()).toEqual([]);
  });

  it('leaves decisions for people to the events: the rule passes only automation assignees', async () => {
    // Prepare
    const { system, runtime } = await setup();
    const [routed] = await routeItems(runtime, ['AUTO-3']);
    if (routed === undefined) throw new Error('AUTO-3 was not routed');
    const forPerson = {
      ...routed,
      detail: {
        ...(routed.detail as object),
        id: 'HUMAN-1',
        assignee: { agentId: 'agent-ana', kind: 'person' },
      },
    };

    // Act
    await putAgain(runtime, forPerson);
    await runtime.idle();

    // Assess
    expect(delivered(system)).toEqual(['AUTO-3#1']);
    expect(runtime.connector?.stats.invocations).toBe(1);
  });

  it('is still acted on once when an idempotency record is gone: the system deduplicates by Idempotency-Key', async () => {
    // Prepare
    const { system, runtime } = await setup();
    const [routed] = await routeItems(runtime, ['AUTO-4']);
    if (routed === undefined || runtime.connector === undefined)
      throw new Error('not routed or no connector');
    const table = runtime.connector.idempotencyTable;
    const records = await runtime.dynamoDb.client.send(new ScanCommand({ TableName: table }));
    for (const record of records.Items ?? []) {
      await runtime.dynamoDb.client.send(
        new DeleteItemCommand({ TableName: table, Key: { id: record.id ?? { S: '' } } }),
      );
    }

    // Act
    await putAgain(runtime, routed);
    await runtime.idle();

    // Assess
    expect(records.Items?.map((record) => record.id?.S)).toEqual([expect.stringMatching(/^connector#/)]);
    expect(system.requests).toBe(2);
    expect(system.duplicates).toBe(1);
    expect(delivered(system)).toEqual(['AUTO-4#1']);
  });

  it('with the system down: the circuit opens, deliveries are dead-lettered, and the redrive delivers each once when it is back', async () => {
    // Prepare
    const openMs = 500;
    const { system, runtime } = await setup({ openMs, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
    system.setBehaviour({ kind: 'down' });
    const itemIds = ['DOWN-1', 'DOWN-2', 'DOWN-3', 'DOWN-4'];

    // Act
    await routeItems(runtime, itemIds);
    const deadLettered = connectorFailures(runtime).map((failure) => failure.id);
    const callsWhileDown = system.requests;
    const invocationsWhileDown = runtime.connector?.stats.invocations ?? 0;
    system.setBehaviour({ kind: 'up' });
    await new Promise((resolve) => setTimeout(resolve, openMs + 50));
    // What an operator does (docs/redrive.md): redrive, and again while anything is left.
    let redriven = 0;
    for (let round = 0; round < 5 && (round === 0 || connectorFailures(runtime).length > 0); round++) {
      redriven += await redriveLocally(runtime);
      await runtime.idle();
    }

    // Assess
    expect(runtime.connector?.circuitChanges.map((change) => change.to)).toContain('open');
    expect(deadLettered).toHaveLength(itemIds.length);
    // Three invocations per decision (Lambda's async retries), three calls each, but the open circuit spared most.
    expect(invocationsWhileDown).toBe(itemIds.length * 3);
    expect(callsWhileDown).toBeLessThan(invocationsWhileDown * 3);
    expect(redriven).toBeGreaterThanOrEqual(itemIds.length);
    expect(delivered(system)).toEqual(itemIds.map((itemId) => `${itemId}#1`).sort());
    expect(system.duplicates).toBe(0);
    expect(runtime.connector?.circuit).toBe('closed');
    expect(runtime.failures()).toEqual([]);
  });
});

describe('the connector credential in the local runtime', { timeout: 90_000 }, () => {
  const TOKEN = 'Bearer local-t0ken';

  it('delivers to a system that requires a credential when the option carries it, in the header named', async () => {
    // Prepare
    const { system, runtime } = await setup(
      { credential: TOKEN, authHeader: 'X-Api-Key' },
      { header: 'X-Api-Key', value: TOKEN },
    );

    // Act
    await routeItems(runtime, ['AUTH-1']);

    // Assess
    expect(delivered(system)).toEqual(['AUTH-1#1']);
    expect(system.unauthorized).toBe(0);
    expect(runtime.failures()).toEqual([]);
  });

  it('dead-letters at once, with one call and no retries, when the system refuses the credential, naming the header', async () => {
    // Prepare
    const { system, runtime } = await setup({ credential: 'Bearer wr0ng' }, { value: TOKEN });

    // Act
    await routeItems(runtime, ['AUTH-2']);

    // Assess
    const failures = connectorFailures(runtime);
    expect(system.requests).toBe(1);
    expect(system.unauthorized).toBe(1);
    expect(system.deliveries).toEqual([]);
    expect(runtime.connector?.stats).toMatchObject({ invocations: 1, errors: 0, deadLettered: 1 });
    expect(runtime.connector?.circuit).toBe('closed');
    expect(failures).toHaveLength(1);
    expect(JSON.stringify(failures)).toMatch(
      /ConnectorMisconfiguredError: rpa answered HTTP 401: the Authorization header from the connector option `credential` was refused/,
    );
    expect(JSON.stringify(failures)).not.toContain('wr0ng');
  });
});

describe('the stand-in executing system', { timeout: 30_000 }, () => {
  const delivery = (itemId: string): ConnectorDelivery => ({
    itemId,
    attempt: 1,
    agentId: BOT,
    agentKind: 'automation',
    path: 'automation',
    routedAt: '2026-11-20T09:00:05.000Z',
    policyVersion: 'p-1',
    idempotencyKey: `${itemId}#1`,
  });

  it('answers as told: 5xx without acting, too late for a short timeout but acting once, and a retry gets the first answer', async () => {
    // Prepare
    const system = await startExecutingSystem({ name: 'rpa', behaviour: { kind: 'failing', status: 503 } });
    cleanups.push(() => system.stop());
    const patient = new HttpConnector({ name: 'rpa', endpoint: system.url });
    const hasty = new HttpConnector({ name: 'rpa', endpoint: system.url, timeoutMs: 20 });

    // Act
    const failing = await patient.deliver(delivery('SYS-1')).catch((error: unknown) => error);
    system.setBehaviour({ kind: 'slow', delayMs: 100 });
    const tooLate = await hasty.deliver(delivery('SYS-1')).catch((error: unknown) => error);
    // The system acts on the abandoned call once its delay is over, however long that takes here.
    await waitUntil(() => system.deliveries.length === 1);
    system.setBehaviour({ kind: 'up' });
    const retried = await patient.deliver(delivery('SYS-1'));
    const missingKey = await fetch(system.url, { method: 'POST', body: JSON.stringify(delivery('SYS-2')) });

    // Assess
    expect(failing).toMatchObject({ name: 'ConnectorError', retryable: true, status: 503 });
    expect(tooLate).toBeInstanceOf(ConnectorError);
    expect((tooLate as ConnectorError).retryable).toBe(true);
    expect(retried).toEqual({ externalRef: 'rpa-1' });
    expect(missingKey.status).toBe(400);
    expect(system.deliveries.map((received) => received.idempotencyKey)).toEqual(['SYS-1#1']);
    expect(system.duplicates).toBe(1);
    expect(system.requests).toBe(4);
  });

  it('requires the credential it was given: 401 without it or with another, acting only on the right one', async () => {
    // Prepare
    const system = await startExecutingSystem({ name: 'rpa', requireCredential: { value: 'Bearer right' } });
    cleanups.push(() => system.stop());
    const post = (headers: Record<string, string>) =>
      fetch(system.url, {
        method: 'POST',
        headers: { 'idempotency-key': 'SYS-3#1', ...headers },
        body: JSON.stringify(delivery('SYS-3')),
      });

    // Act
    const without = await post({});
    const wrong = await post({ authorization: 'Bearer wrong' });
    const right = await post({ authorization: 'Bearer right' });

    // Assess
    expect([without.status, wrong.status, right.status]).toEqual([401, 401, 200]);
    expect(system.unauthorized).toBe(2);
    expect(system.deliveries.map((received) => received.idempotencyKey)).toEqual(['SYS-3#1']);
  });
});
