import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEnvelope } from '../../domain/events';
import { DEFAULT_POLICY } from '../../domain/policy';
import { PROJECT_ROOT } from '../../lib/definitions';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { waitUntil } from '../support/wait-until';

function fixtureDetail(name: string): Record<string, unknown> {
  const path = join(PROJECT_ROOT, 'test/local/fixtures/events', `${name}.json`);
  return EventEnvelope.parse(JSON.parse(readFileSync(path, 'utf8'))).detail as Record<string, unknown>;
}

/** The fixture work item, created now (so its SLA lies ahead) under a fresh id. */
function newWorkItem(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...fixtureDetail('work-item-created'), id, createdAt: new Date().toISOString(), ...overrides };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One DynamoDB Local for the runtimes below (each gets its own tables); the lifecycle test starts its own. */
let sharedDynamoDb: DynamoDbLocal;

beforeAll(async () => {
  sharedDynamoDb = await startDynamoDbLocal();
});

afterAll(async () => {
  await sharedDynamoDb?.stop();
});

async function agentOnline(runtime: LocalRuntime, agentId: string): Promise<void> {
  const agent = {
    ...fixtureDetail('agent-status-changed'),
    agentId,
    changedAt: new Date().toISOString(),
    shiftEndsAt: new Date(Date.now() + 8 * 3_600_000).toISOString(),
  };
  await runtime.putEvent('AgentStatusChanged', agent, 'workforce');
  await runtime.idle();
}

describe('the local runtime, end to end through the real handlers and the real ASL', {
  timeout: 60_000,
}, () => {
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startLocalRuntime({
      dynamoDb: sharedDynamoDb,
      dispatchTickMs: false,
      retryIntervalMs: 10,
    });
    // With no history yet the model's confidence is 0: accept that, or every item goes to human review.
    await runtime.ports.features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: 'runtime-test-1',
      minConfidence: 0,
    });
    const agent = {
      ...fixtureDetail('agent-status-changed'),
      changedAt: new Date().toISOString(),
      shiftEndsAt: new Date(Date.now() + 8 * 3_600_000).toISOString(),
    };
    await runtime.putEvent('AgentStatusChanged', agent, 'workforce');
    await runtime.idle();
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('routes a new work item to the available agent and records its outcome on completion', async () => {
    // Prepare
    const itemId = 'TCK-runtime-1';

    // Act
    await runtime.putEvent('WorkItemCreated', newWorkItem(itemId), 'helpdesk');
    const routed = await runtime.waitForEmitted('WorkItemRouted', itemId, 45_000);
    await waitUntil(() => runtime.tokens.pending({ stateName: 'Wait For Completion' }).length > 0);
    await runtime.putEvent(
      'WorkItemCompleted',
      { id: itemId, outcome: 'resolved', handledBy: 'agent-ana', completedAt: new Date().toISOString() },
      'helpdesk',
    );
    const execution = await runtime.waitForExecution(itemId, 45_000);
    const trail = await runtime.auditTrail(itemId);

    // Assess
    expect(routed.detail).toMatchObject({ id: itemId, assignee: { agentId: 'agent-ana' }, path: 'routing' });
    expect(execution).toMatchObject({ status: 'SUCCEEDED', name: itemId });
    const kinds = trail.map((record) => record.kind);
    for (const kind of ['RECEIVED', 'SCORED', 'ASSIGNED', 'ROUTED', 'COMPLETED'])
      expect(kinds).toContain(kind);
    expect((await runtime.instance(itemId))?.stage).toBe('COMPLETED');
  });

  it('starts nothing twice for a duplicate WorkItemCreated', async () => {
    // Prepare
    const itemId = 'TCK-runtime-dup';
    const detail = newWorkItem(itemId);

    // Act
    await runtime.putEvent('WorkItemCreated', detail, 'helpdesk');
    await runtime.putEvent('WorkItemCreated', detail, 'helpdesk');
    await runtime.idle();
    const trail = await runtime.auditTrail(itemId);

    // Assess
    expect(runtime.executions().filter((execution) => execution.name === itemId)).toHaveLength(1);
    expect(trail.filter((record) => record.kind === 'RECEIVED')).toHaveLength(1);
    expect(trail.filter((record) => record.kind === 'DUPLICATE')).toHaveLength(1);
  });

  it('rejects a malformed work item, naming the field, and ends its execution in a clear failure', async () => {
    // Prepare
    const itemId = 'TCK-runtime-bad';

    // Act
    await runtime.putEvent('WorkItemCreated', newWorkItem(itemId, { priority: 9 }), 'helpdesk');
    const rejected = await runtime.waitForEmitted('WorkItemRejected', itemId, 45_000);
    const execution = await runtime.waitForExecution(itemId, 45_000);

    // Assess
    expect(rejected.detail).toMatchObject({ id: itemId, field: 'priority' });
    // An answered outcome, not a failed release: the execution succeeds with outcome 'rejected'.
    expect(execution).toMatchObject({
      status: 'SUCCEEDED',
      output: { outcome: 'rejected', field: 'priority' },
    });
    expect((await runtime.auditTrail(itemId)).map((record) => record.kind)).toContain('REJECTED');
  });

  it('loses nothing: no dead letters, no failed deliveries, no function errors', async () => {
    // Prepare
    await runtime.idle();

    // Act
    const failures = runtime.failures();

    // Assess
    expect(failures).toEqual([]);
    const erroring = Object.entries(runtime.functionStats).filter(([, stats]) => stats.errors > 0);
    expect(erroring).toEqual([]);
  });
});

describe('the local runtime when a completion never comes', { timeout: 60_000 }, () => {
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startLocalRuntime({
      dynamoDb: sharedDynamoDb,
      dispatchTickMs: false,
      retryIntervalMs: 10,
    });
    // Windows of seconds on the item's clock: the first assignee has until half the SLA window,
    // the second until the due time; an unassigned item waits until the due time.
    await runtime.ports.features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: 'runtime-test-timeouts',
      minConfidence: 0,
      maxAutoRisk: 1,
      minCompletionWindowSeconds: 1,
      slaClock: { rerouteAtSlaFraction: 0.5, unassignedEscalationAtSlaFraction: 1 },
    });
    await agentOnline(runtime, 'agent-ana');
    await agentOnline(runtime, 'agent-ben');
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('re-routes to another agent, then escalates and hands the item to people, releasing capacity', async () => {
    // Prepare
    const itemId = 'TCK-runtime-silent';
    const { slaClass: _slaClass, ...detail } = newWorkItem(itemId);

    // Act
    await runtime.putEvent(
      'WorkItemCreated',
      { ...detail, slaDueAt: new Date(Date.now() + 16_000).toISOString() },
      'helpdesk',
    );
    const escalated = await runtime.waitForEmitted('WorkItemEscalated', itemId, 45_000);
    // The park handler records the exception wait once the execution is parked there.
    await waitUntil(async () =>
      (await runtime.auditTrail(itemId)).some((record) => record.kind === 'EXCEPTION'),
    );
    const trail = await runtime.auditTrail(itemId);
    const agents = await runtime.ports.features.listAgents();

    // Assess
    const routedTo = runtime
      .emittedEvents('WorkItemRouted')
      .filter((event) => (event.detail as { id: string }).id === itemId)
      .map((event) => (event.detail as { assignee: { agentId: string } }).assignee.agentId);
    expect(routedTo).toHaveLength(2);
    expect(new Set(routedTo).size).toBe(2);
    expect(escalated.detail).toMatchObject({
      id: itemId,
      attempts: 2,
      reason: 'no completion by the deadline after 2 attempt(s)',
    });
    const kinds = trail.map((record) => record.kind);
    for (const kind of ['REROUTED', 'ESCALATED', 'EXCEPTION']) expect(kinds).toContain(kind);
    expect(agents.map((agent) => agent.activeCount)).toEqual([0, 0]);
    expect(runtime.tokens.pending({ stateName: 'Wait For Exception Resolution' })).toHaveLength(1);
    expect(runtime.runner.describeExecution(itemId).status).toBe('RUNNING');
  });
});

describe('the local runtime lifecycle', () => {
  it('does not stop a DynamoDB Local it was given', async () => {
    // Prepare
    const runtime = await startLocalRuntime({ dynamoDb: sharedDynamoDb, dispatchTickMs: false });

    // Act
    await runtime.stop();

    // Assess
    expect(isAlive(sharedDynamoDb.pid)).toBe(true);
  });

  it('stop() stops the DynamoDB Local it started, and is idempotent', async () => {
    // Prepare
    const runtime = await startLocalRuntime({ dispatchTickMs: false });
    const pid = runtime.dynamoDb.pid;

    // Act
    await Promise.all([runtime.stop(), runtime.stop()]);

    // Assess
    for (let attempt = 0; attempt < 100 && isAlive(pid); attempt++)
      await new Promise((r) => setTimeout(r, 50));
    expect(isAlive(pid)).toBe(false);
  });
});
