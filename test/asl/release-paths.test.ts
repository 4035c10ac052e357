import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventEnvelope } from '../../domain/events';
import { DEFAULT_POLICY } from '../../domain/policy';
import { FEATURES_TABLE, PROJECT_ROOT } from '../../lib/definitions';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { ReleaseFaults } from './release-faults';

/**
 * Every way an item leaves its assignee before completing goes through Release Capacity: the
 * completion window closes (re-route), the producer cancels, or the dispatch fails. Each is
 * driven through the whole local runtime (real handlers, real ASL, DynamoDB Local) with the
 * release's reply lost once, so Step Functions' Retry runs it again: the agent gets exactly one
 * slot back either way.
 */

const AGENT = 'agent-ana';

function fixtureDetail(name: string): Record<string, unknown> {
  const path = join(PROJECT_ROOT, 'test/local/fixtures/events', `${name}.json`);
  return EventEnvelope.parse(JSON.parse(readFileSync(path, 'utf8'))).detail as Record<string, unknown>;
}

function workItem(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...fixtureDetail('work-item-created'), id, createdAt: new Date().toISOString(), ...overrides };
}

async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('each path out of an assignment releases the slot once, even when the reply is lost', {
  timeout: 120_000,
}, () => {
  let dynamo: DynamoDbLocal;
  let runtime: LocalRuntime;
  let faults: ReleaseFaults;

  async function activeCount(): Promise<number | undefined> {
    const agents = await runtime.ports.features.listAgents();
    return agents.find((agent) => agent.agentId === AGENT)?.activeCount;
  }

  async function hasAudit(itemId: string, kind: string): Promise<boolean> {
    return (await runtime.auditTrail(itemId)).some((record) => record.kind === kind);
  }

  /** Creates an item and waits until it is assigned to the agent and waiting for completion. */
  async function assigned(itemId: string, overrides: Record<string, unknown> = {}): Promise<void> {
    await runtime.putEvent('WorkItemCreated', workItem(itemId, overrides), 'helpdesk');
    await waitUntil(
      async () => (await runtime.instance(itemId))?.waitingFor === 'completion',
      `${itemId} waiting for completion`,
    );
  }

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
    runtime = await startLocalRuntime({ dynamoDb: dynamo, dispatchTickMs: false, retryIntervalMs: 10 });
    // The state machine's DynamoDB tasks use this client (the handlers have their own).
    faults = new ReleaseFaults(dynamo.client, runtime.tables.featuresTable);
    expect(runtime.tables.featuresTable).toContain(FEATURES_TABLE.id);
    await runtime.ports.features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: 'release-paths',
      minConfidence: 0,
      maxAutoRisk: 1,
      minCompletionWindowSeconds: 1,
      // The first assignee has until half the SLA window; an unassigned item waits until the due time.
      slaClock: { rerouteAtSlaFraction: 0.5, unassignedEscalationAtSlaFraction: 1 },
    });
    await runtime.putEvent(
      'AgentStatusChanged',
      {
        ...fixtureDetail('agent-status-changed'),
        agentId: AGENT,
        changedAt: new Date().toISOString(),
        shiftEndsAt: new Date(Date.now() + 8 * 3_600_000).toISOString(),
      },
      'workforce',
    );
    await runtime.idle();
    // Ballast: one slot stays taken throughout, so a second decrement would show (it cannot hide at 0).
    await assigned('TCK-release-ballast');
  });

  afterAll(async () => {
    await runtime?.stop();
    await dynamo?.stop();
  });

  it('a missed completion window: the slot comes back once, then the item is re-routed', async () => {
    // Prepare
    const itemId = 'TCK-release-timeout';
    const { slaClass: _slaClass, ...detail } = workItem(itemId);
    faults.loseNextReply();
    const lostBefore = faults.lostReplies;

    // Act
    await runtime.putEvent(
      'WorkItemCreated',
      { ...detail, slaDueAt: new Date(Date.now() + 20_000).toISOString() },
      'helpdesk',
    );
    await waitUntil(() => hasAudit(itemId, 'REROUTED'), `${itemId} re-routed`, 90_000);

    // Assess
    const routed = await runtime.waitForEmitted('WorkItemRouted', itemId, 1_000);
    expect(routed.detail).toMatchObject({ assignee: { agentId: AGENT } });
    expect(faults.lostReplies - lostBefore).toBe(1);
    expect(await activeCount()).toBe(1);
    expect((await runtime.instance(itemId))?.capacityHeldBy).toBeUndefined();
  });

  it('a cancellation: the slot comes back once and the execution ends cancelled', async () => {
    // Prepare
    const itemId = 'TCK-release-cancel';
    await assigned(itemId);
    expect(await activeCount()).toBe(2);
    faults.loseNextReply();
    const lostBefore = faults.lostReplies;

    // Act
    await runtime.putEvent(
      'WorkItemCancelled',
      { ...fixtureDetail('work-item-cancelled'), id: itemId, cancelledAt: new Date().toISOString() },
      'helpdesk',
    );
    const execution = await runtime.waitForExecution(itemId, 30_000);

    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    expect(await hasAudit(itemId, 'CANCELLED')).toBe(true);
    expect(faults.lostReplies - lostBefore).toBe(1);
    expect(await activeCount()).toBe(1);
    expect((await runtime.instance(itemId))?.capacityHeldBy).toBeUndefined();
  });

  it('a dispatch that fails: the slot comes back once and the item goes to the exception queue', async () => {
    // Prepare
    const itemId = 'TCK-release-dispatch';
    const putEvents = runtime.router.putEvents.bind(runtime.router);
    const isThisRouting = (entry: PutEventsRequestEntry) =>
      entry.DetailType === 'WorkItemRouted' &&
      (JSON.parse(entry.Detail ?? '{}') as { id?: string }).id === itemId;
    const bus = vi
      .spyOn(runtime.router, 'putEvents')
      .mockImplementation(async (entries) =>
        entries.some(isThisRouting)
          ? { FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'injected' }] }
          : putEvents(entries),
      );
    faults.loseNextReply();
    const lostBefore = faults.lostReplies;

    try {
      // Act
      await runtime.putEvent('WorkItemCreated', workItem(itemId), 'helpdesk');
      await waitUntil(() => hasAudit(itemId, 'EXCEPTION'), `${itemId} in the exception queue`);
    } finally {
      bus.mockRestore();
    }

    // Assess
    expect(faults.lostReplies - lostBefore).toBe(1);
    expect(await activeCount()).toBe(1);
    expect((await runtime.instance(itemId))?.capacityHeldBy).toBeUndefined();
    expect(runtime.runner.describeExecution(itemId).status).toBe('RUNNING');
  });
});
