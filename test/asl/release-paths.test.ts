import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventEnvelope } from '../../domain/events';
import { DEFAULT_POLICY } from '../../domain/policy';
import { FEATURES_TABLE, PROJECT_ROOT } from '../../lib/definitions';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { VirtualClock } from '../../local/virtual-clock';
import { VIRTUAL_EPOCH } from '../../local/workload/session';
import { ReleaseFaults } from './release-faults';

/**
 * Every way an item leaves its assignee before completing goes through Release Capacity: the
 * completion window closes (re-route), the producer cancels, or the dispatch fails. Each is
 * driven through the whole local runtime (real handlers, real ASL, DynamoDB Local) with the
 * release's reply lost once, so Step Functions' Retry runs it again: the agent gets exactly one
 * slot back either way.
 *
 * On virtual time, held between steps (VirtualClock.hold / advanceBy): the test lets exactly as
 * much simulated time pass as each step needs, so an item is assigned, cancelled or re-routed at
 * the same instant on any machine, and no window depends on how fast the machine assigns.
 */

const AGENT = 'agent-ana';

function fixtureDetail(name: string): Record<string, unknown> {
  const path = join(PROJECT_ROOT, 'test/local/fixtures/events', `${name}.json`);
  return EventEnvelope.parse(JSON.parse(readFileSync(path, 'utf8'))).detail as Record<string, unknown>;
}

const clock = new VirtualClock({ start: VIRTUAL_EPOCH });
const iso = (ms: number) => new Date(ms).toISOString();

function workItem(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...fixtureDetail('work-item-created'), id, createdAt: iso(clock.now()), ...overrides };
}

/** One simulated second: enough for a whole cascade, Step Functions' retries included. */
const STEP_MS = 1_000;

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

  /** Creates an item and lets it be assigned to the agent; it is then waiting for completion. */
  async function assigned(itemId: string, overrides: Record<string, unknown> = {}): Promise<void> {
    await runtime.putEvent('WorkItemCreated', workItem(itemId, overrides), 'helpdesk');
    await clock.advanceBy(STEP_MS);
    expect((await runtime.instance(itemId))?.waitingFor, `${itemId} waiting for completion`).toBe(
      'completion',
    );
  }

  beforeAll(async () => {
    clock.hold();
    dynamo = await startDynamoDbLocal();
    runtime = await startLocalRuntime({
      dynamoDb: dynamo,
      clock,
      dispatchTickMs: false,
      retryIntervalMs: 10,
    });
    // The state machine's DynamoDB tasks use this client (the handlers have their own).
    faults = new ReleaseFaults(runtime.runnerDynamoDb, runtime.tables.featuresTable);
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
        changedAt: iso(clock.now()),
        shiftEndsAt: iso(clock.now() + 8 * 3_600_000),
      },
      'workforce',
    );
    await clock.advanceBy(STEP_MS);
    // Ballast: one slot stays taken throughout, so a second decrement would show (it cannot hide at 0).
    await assigned('TCK-release-ballast');
  });

  afterAll(async () => {
    clock.release();
    await runtime?.stop();
    clock.stop();
    await dynamo?.stop();
  });

  it('a missed completion window: the slot comes back once, then the item is re-routed', async () => {
    // Prepare
    const itemId = 'TCK-release-timeout';
    const { slaClass: _slaClass, ...detail } = workItem(itemId);
    faults.loseNextReply();
    const lostBefore = faults.lostReplies;

    // Act
    await runtime.putEvent('WorkItemCreated', { ...detail, slaDueAt: iso(clock.now() + 20_000) }, 'helpdesk');
    // The first assignee's window ends at half the SLA (10 s); the due time (20 s) is not reached.
    await clock.advanceBy(15_000);

    // Assess
    expect(await hasAudit(itemId, 'REROUTED')).toBe(true);
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
      { ...fixtureDetail('work-item-cancelled'), id: itemId, cancelledAt: iso(clock.now()) },
      'helpdesk',
    );
    await clock.advanceBy(STEP_MS);
    const execution = runtime.runner.describeExecution(itemId);

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
      await clock.advanceBy(STEP_MS);
    } finally {
      bus.mockRestore();
    }

    // Assess
    expect(await hasAudit(itemId, 'EXCEPTION')).toBe(true);
    expect(faults.lostReplies - lostBefore).toBe(1);
    expect(await activeCount()).toBe(1);
    expect((await runtime.instance(itemId))?.capacityHeldBy).toBeUndefined();
    expect(runtime.runner.describeExecution(itemId).status).toBe('RUNNING');
  });
});
