import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEnvelope } from '../../domain/events';
import { DEFAULT_POLICY } from '../../domain/policy';
import { PROJECT_ROOT } from '../../lib/definitions';
import { LOCAL_EVENT_BUS_NAME } from '../../local/local-names';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';

/**
 * Defect 1 of issue 21: a cancellation or completion sent right after its creation went straight
 * to its Lambda while the creation still waited in the intake queue, found neither an instance
 * record nor a RECEIVED record, and was rejected as "no work item X is known"; the item was then
 * routed and stayed in progress, holding agent capacity. Here the finish events race their
 * creation through the real local runtime, back to back, and every one must be kept and applied.
 */

function fixtureDetail(name: string): Record<string, unknown> {
  const path = join(PROJECT_ROOT, 'test/local/fixtures/events', `${name}.json`);
  return EventEnvelope.parse(JSON.parse(readFileSync(path, 'utf8'))).detail as Record<string, unknown>;
}

function newWorkItem(id: string): Record<string, unknown> {
  return { ...fixtureDetail('work-item-created'), id, createdAt: new Date().toISOString() };
}

const PAIRS = 8;

describe('finish events that overtake their creation', { timeout: 120_000 }, () => {
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startLocalRuntime({ dispatchTickMs: false, retryIntervalMs: 10 });
    await runtime.ports.features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: 'finish-before-create-1',
      minConfidence: 0,
      maxAutoRisk: 1,
    });
    await runtime.putEvent(
      'AgentStatusChanged',
      {
        ...fixtureDetail('agent-status-changed'),
        capacity: 2 * PAIRS,
        changedAt: new Date().toISOString(),
        shiftEndsAt: new Date(Date.now() + 8 * 3_600_000).toISOString(),
      },
      'workforce',
    );
    await runtime.idle();
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('keeps and applies every cancellation and completion sent right after its creation', async () => {
    // Prepare
    const cancelled = Array.from({ length: PAIRS }, (_, index) => `RACE-cancel-${index}`);
    const completed = Array.from({ length: PAIRS }, (_, index) => `RACE-done-${index}`);

    // Act
    const entry = (detailType: string, detail: unknown) => ({
      EventBusName: LOCAL_EVENT_BUS_NAME,
      Source: 'helpdesk',
      DetailType: detailType,
      Detail: JSON.stringify(detail),
    });
    // Even pairs: the finish event is sent first and handled before the creation leaves the intake
    // queue (the worst case of the race); odd pairs: both in the same PutEvents call.
    for (let index = 0; index < PAIRS; index++) {
      const cancelId = cancelled[index] as string;
      const doneId = completed[index] as string;
      const creations = [
        entry('WorkItemCreated', newWorkItem(cancelId)),
        entry('WorkItemCreated', newWorkItem(doneId)),
      ];
      const finishes = [
        entry('WorkItemCancelled', {
          id: cancelId,
          reason: 'customer withdrew',
          cancelledAt: new Date().toISOString(),
        }),
        entry('WorkItemCompleted', {
          id: doneId,
          outcome: 'resolved',
          handledBy: 'agent-ana',
          completedAt: new Date().toISOString(),
        }),
      ];
      if (index % 2 === 0) {
        await runtime.putEvents(finishes);
        await runtime.idle();
        await runtime.putEvents(creations);
      } else {
        await runtime.putEvents([...creations, ...finishes]);
      }
    }
    await runtime.idle();
    const executions = await Promise.all(
      [...cancelled, ...completed].map((itemId) => runtime.waitForExecution(itemId, 20_000)),
    );
    await runtime.idle();

    // Assess
    const rejectedFinishes = runtime
      .emittedEvents('WorkItemRejected')
      .map((event) => event.detail as { id: string; reason: string });
    expect(rejectedFinishes).toEqual([]);
    for (const execution of executions) expect(execution.status).toBe('SUCCEEDED');
    for (const itemId of cancelled) {
      expect((await runtime.instance(itemId))?.stage, itemId).toBe('CANCELLED');
    }
    for (const itemId of completed) {
      expect((await runtime.instance(itemId))?.stage, itemId).toBe('COMPLETED');
      const kinds = (await runtime.auditTrail(itemId)).map((record) => record.kind);
      expect(kinds).toContain('COMPLETED');
      expect(kinds).not.toContain('REJECTED');
    }
    const agents = await runtime.ports.features.listAgents();
    expect(agents.map((agent) => agent.activeCount)).toEqual([0]);
    expect(runtime.failures()).toEqual([]);
  });
});
