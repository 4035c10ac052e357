import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEnvelope } from '../../domain/events';
import { DEFAULT_POLICY } from '../../domain/policy';
import { PROJECT_ROOT } from '../../lib/definitions';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { waitUntil } from '../support/wait-until';

/**
 * Defect 10 of issue 21, last part: an agent going offline while holding work kept it until the
 * SLA timeout. Now their completion waits are ended and the items re-routed per the policy.
 */

function fixtureDetail(name: string): Record<string, unknown> {
  const path = join(PROJECT_ROOT, 'test/local/fixtures/events', `${name}.json`);
  return EventEnvelope.parse(JSON.parse(readFileSync(path, 'utf8'))).detail as Record<string, unknown>;
}

const routedTo = (runtime: LocalRuntime, itemId: string) =>
  runtime
    .emittedEvents('WorkItemRouted')
    .filter((event) => (event.detail as { id: string }).id === itemId)
    .map((event) => (event.detail as { assignee: { agentId: string } }).assignee.agentId);

describe('an agent who goes offline while holding work', { timeout: 120_000 }, () => {
  let runtime: LocalRuntime;

  const status = (agentId: string, value: 'available' | 'offline') =>
    runtime.putEvent(
      'AgentStatusChanged',
      {
        ...fixtureDetail('agent-status-changed'),
        agentId,
        status: value,
        changedAt: new Date().toISOString(),
        shiftEndsAt: new Date(Date.now() + 8 * 3_600_000).toISOString(),
      },
      'workforce',
    );

  beforeAll(async () => {
    runtime = await startLocalRuntime({ dispatchTickMs: false, retryIntervalMs: 10 });
    await runtime.ports.features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: 'offline-while-holding-1',
      minConfidence: 0,
      maxAutoRisk: 1,
    });
    await status('agent-ana', 'available');
    await status('agent-ben', 'available');
    await runtime.idle();
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('releases the item at once and re-routes it to another agent, who completes it', async () => {
    // Prepare
    const itemId = 'HOLD-1';
    await runtime.putEvent(
      'WorkItemCreated',
      { ...fixtureDetail('work-item-created'), id: itemId, createdAt: new Date().toISOString() },
      'helpdesk',
    );
    await runtime.idle();
    await waitUntil(() => runtime.tokens.pending({ stateName: 'Wait For Completion' }).length === 1, 30_000);
    const [holder] = routedTo(runtime, itemId);

    // Act
    await status(holder as string, 'offline');
    await runtime.idle();
    await waitUntil(() => routedTo(runtime, itemId).length === 2, 30_000);
    await waitUntil(() => runtime.tokens.pending({ stateName: 'Wait For Completion' }).length === 1, 30_000);
    const [, next] = routedTo(runtime, itemId);
    await runtime.putEvent(
      'WorkItemCompleted',
      { id: itemId, outcome: 'resolved', handledBy: next, completedAt: new Date().toISOString() },
      'helpdesk',
    );
    const execution = await runtime.waitForExecution(itemId, 30_000);

    // Assess
    expect(next).not.toBe(holder);
    expect(execution.status).toBe('SUCCEEDED');
    const kinds = (await runtime.auditTrail(itemId)).map((record) => record.kind);
    for (const kind of ['RELEASED_AGENT_OFFLINE', 'REROUTED', 'COMPLETED']) expect(kinds).toContain(kind);
    const agents = await runtime.ports.features.listAgents();
    expect(agents.map((agent) => [agent.agentId, agent.activeCount])).toEqual([
      ['agent-ana', 0],
      ['agent-ben', 0],
    ]);
    expect(runtime.failures()).toEqual([]);
  });
});
