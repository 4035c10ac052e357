import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEnvelope } from '../../domain/events';
import { DEFAULT_POLICY } from '../../domain/policy';
import { executionName } from '../../domain/process';
import { PROJECT_ROOT } from '../../lib/definitions';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { waitUntil } from '../support/wait-until';

/**
 * Defect 2 of issue 21: create X with priority 9 (rejected), then a corrected X: the audit showed
 * RECEIVED, REJECTED, DUPLICATE, nothing was routed and the producer was never told. A creation
 * after the item's execution ended is a new attempt (`X.2`), answered and audited; a true
 * duplicate of an accepted creation stays a recorded DUPLICATE.
 */

function fixtureDetail(name: string): Record<string, unknown> {
  const path = join(PROJECT_ROOT, 'test/local/fixtures/events', `${name}.json`);
  return EventEnvelope.parse(JSON.parse(readFileSync(path, 'utf8'))).detail as Record<string, unknown>;
}

function workItem(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...fixtureDetail('work-item-created'), id, createdAt: new Date().toISOString(), ...overrides };
}

describe('a creation after the item ended', { timeout: 120_000 }, () => {
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startLocalRuntime({ dispatchTickMs: false, retryIntervalMs: 10 });
    await runtime.ports.features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: 'resend-after-reject-1',
      minConfidence: 0,
      maxAutoRisk: 1,
    });
    await runtime.putEvent(
      'AgentStatusChanged',
      {
        ...fixtureDetail('agent-status-changed'),
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

  it('routes a corrected resend after a rejection as attempt 2, and records a true duplicate of it as DUPLICATE', async () => {
    // Prepare
    const itemId = 'RESEND-1';
    await runtime.putEvent('WorkItemCreated', workItem(itemId, { priority: 9 }), 'helpdesk');
    await runtime.idle();
    const first = await runtime.waitForExecution(itemId, 30_000);
    const corrected = workItem(itemId, { priority: 4 });

    // Act
    await runtime.putEvent('WorkItemCreated', corrected, 'helpdesk');
    await runtime.idle();
    const routed = await runtime.waitForEmitted('WorkItemRouted', itemId, 30_000);
    await waitUntil(() => runtime.tokens.pending({ stateName: 'Wait For Completion' }).length > 0, 30_000);
    await runtime.putEvent('WorkItemCreated', corrected, 'helpdesk');
    await runtime.putEvent(
      'WorkItemCompleted',
      { id: itemId, outcome: 'resolved', handledBy: 'agent-ana', completedAt: new Date().toISOString() },
      'helpdesk',
    );
    const second = await runtime.waitForExecution(executionName(itemId, 2), 30_000);
    await runtime.putEvent('WorkItemCreated', corrected, 'helpdesk');
    await runtime.idle();
    const trail = await runtime.auditTrail(itemId);

    // Assess
    expect(first).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'rejected', field: 'priority' } });
    expect(routed.detail).toMatchObject({ id: itemId, assignee: { agentId: 'agent-ana' } });
    expect(second).toMatchObject({ status: 'SUCCEEDED', name: `${itemId}.2` });
    expect(
      runtime
        .executions()
        .map((execution) => execution.name)
        .filter((name) => name.startsWith(itemId)),
    ).toEqual([itemId, `${itemId}.2`]);
    const kinds = trail.map((record) => record.kind);
    expect(kinds.filter((kind) => kind === 'RECEIVED')).toHaveLength(2);
    expect(kinds.filter((kind) => kind === 'DUPLICATE')).toHaveLength(2);
    for (const kind of ['REJECTED', 'SCORED', 'ROUTED', 'COMPLETED']) expect(kinds).toContain(kind);
    const received = trail
      .filter((record) => record.kind === 'RECEIVED')
      .map((record) => JSON.parse(record.details ?? '{}'));
    expect(received.map((details) => details.instanceAttempt).sort()).toEqual([1, 2]);
    expect(await runtime.instance(itemId)).toMatchObject({
      stage: 'COMPLETED',
      instanceAttempt: 2,
      priority: 4,
    });
    expect((await runtime.ports.features.listAgents()).map((agent) => agent.activeCount)).toEqual([0]);
    expect(runtime.failures()).toEqual([]);
  });

  it('starts a new request under the id of a completed item as the next attempt, from a clean record', async () => {
    // Prepare
    const itemId = 'AGAIN-1';
    await runtime.putEvent('WorkItemCreated', workItem(itemId), 'helpdesk');
    await runtime.waitForEmitted('WorkItemRouted', itemId, 30_000);
    await runtime.putEvent(
      'WorkItemCompleted',
      { id: itemId, outcome: 'resolved', handledBy: 'agent-ana', completedAt: new Date().toISOString() },
      'helpdesk',
    );
    await runtime.waitForExecution(itemId, 30_000);

    // Act
    await runtime.putEvent('WorkItemCreated', workItem(itemId, { priority: 2 }), 'helpdesk');
    await runtime.idle();
    await waitUntil(
      () =>
        runtime
          .emittedEvents('WorkItemRouted')
          .filter((event) => (event.detail as { id: string }).id === itemId).length === 2,
      30_000,
    );
    const record = await runtime.instance(itemId);

    // Assess
    expect(runtime.runner.describeExecution(executionName(itemId, 2)).status).toBe('RUNNING');
    expect(record).toMatchObject({ instanceAttempt: 2, priority: 2 });
    expect(record?.stage).not.toBe('COMPLETED');
    expect(record?.completionReceivedAt).toBeUndefined();
    expect(record?.outcomeRecordedAt).toBeUndefined();
  });
});
