import { describe, expect, it } from 'vitest';
import type { CompletionResult } from '../../domain/process';
import { createParkHandler } from '../../lambdas/park/handler';
import { InvalidTaskInputError } from '../../lambdas/shared/errors';
import { createInMemoryPorts, type InMemoryPorts } from '../../lambdas/shared/in-memory';
import { T0 } from './support';

const completion: CompletionResult = {
  schemaVersion: '1',
  id: 'HD-10428',
  outcome: 'resolved',
  handledBy: 'agent-ana',
  startedAt: '2026-11-20T09:10:00.000Z',
  completedAt: '2026-11-20T09:40:00.000Z',
  quality: { reopened: false, firstTimeResolution: true, rework: false },
};

async function assignedItem(ports: InMemoryPorts): Promise<void> {
  ports.features.seedAgent({
    agentId: 'agent-ana',
    kind: 'person',
    status: 'available',
    skills: [],
    capacity: 1,
    activeCount: 0,
    idleSince: 0,
  });
  await ports.instances.enqueue({
    itemId: 'HD-10428',
    taskToken: 'assignment-token',
    category: 'billing',
    priority: 3,
    requiredSkills: [],
    createdAt: T0 - 60_000,
    slaDueAt: T0 + 3_600_000,
    attempt: 1,
    excludedAgents: [],
    enqueuedAt: T0 - 30_000,
    at: T0 - 30_000,
  });
  await ports.features.claimCapacity({
    agentId: 'agent-ana',
    itemId: 'HD-10428',
    taskToken: 'assignment-token',
    at: T0 - 10_000,
  });
}

function setup() {
  const ports = createInMemoryPorts(T0);
  return { ...ports, handler: createParkHandler(ports) };
}

describe('park handler', () => {
  it('stores the completion wait token on the instance and moves it to IN_PROGRESS', async () => {
    // Prepare
    const world = setup();
    await assignedItem(world);
    const taskToken = world.executions.issueToken('completion');

    // Act
    const response = await world.handler({
      waitingFor: 'completion',
      taskToken,
      itemId: 'HD-10428',
      attempt: 1,
      agentId: 'agent-ana',
      context: {},
    });

    // Assess
    expect(response).toEqual({ itemId: 'HD-10428', waitingFor: 'completion', status: 'parked' });
    expect(await world.instances.get('HD-10428')).toMatchObject({
      stage: 'IN_PROGRESS',
      stageEnteredAt: T0,
      taskToken,
      waitingFor: 'completion',
      assignee: 'agent-ana',
    });
    expect(world.executions.tokenState(taskToken)).toEqual({ state: 'pending' });
    const kinds = (await world.audit.listForItem('HD-10428')).map((record) => record.kind);
    expect(kinds).toEqual(['COMPLETION_WAIT']);
  });

  it.each([
    ['human-review', 'HUMAN_REVIEW', 'HUMAN_REVIEW_REQUESTED'],
    ['exception', 'EXCEPTION', 'EXCEPTION'],
  ] as const)(
    'parks a %s wait at stage %s with an audit %s record carrying the context',
    async (waitingFor, stage, kind) => {
      // Prepare
      const world = setup();
      const taskToken = world.executions.issueToken(waitingFor);
      const context = { reason: 'confidence 0.02 is below the policy minimum 0.05' };

      // Act
      await world.handler({ waitingFor, taskToken, itemId: 'HD-10428', attempt: 1, context });

      // Assess
      expect(await world.instances.get('HD-10428')).toMatchObject({ stage, taskToken, waitingFor });
      const [record] = await world.audit.listForItem('HD-10428');
      expect(record?.kind).toBe(kind);
      expect(JSON.parse(record?.details ?? '{}')).toMatchObject({ waitingFor, context });
    },
  );

  it('resumes at once with a completion that arrived before the execution parked for it', async () => {
    // Prepare
    const world = setup();
    await assignedItem(world);
    await world.instances.storeEarlyCompletion('HD-10428', completion);
    const taskToken = world.executions.issueToken('completion');

    // Act
    const response = await world.handler({
      waitingFor: 'completion',
      taskToken,
      itemId: 'HD-10428',
      attempt: 1,
      agentId: 'agent-ana',
    });

    // Assess
    expect(response.status).toBe('resumed-early');
    expect(world.executions.tokenState(taskToken)).toEqual({ state: 'succeeded', output: completion });
    const after = await world.instances.get('HD-10428');
    expect(after?.earlyCompletion).toBeUndefined();
    expect(after?.taskToken).toBeUndefined();
    expect(after?.completionReceivedAt).toBe(T0);
  });

  it('resumes with the early completion on the retried park when the first resume failed', async () => {
    // Prepare
    const world = setup();
    await assignedItem(world);
    await world.instances.storeEarlyCompletion('HD-10428', completion);
    const taskToken = world.executions.issueToken('completion');
    const request = {
      waitingFor: 'completion' as const,
      taskToken,
      itemId: 'HD-10428',
      attempt: 1,
      agentId: 'agent-ana',
    };
    world.executions.failNextResume(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(world.handler(request)).rejects.toThrow();

    // Act
    const retried = await world.handler(request);

    // Assess
    expect(retried.status).toBe('resumed-early');
    expect(world.executions.tokenState(taskToken)).toEqual({ state: 'succeeded', output: completion });
    expect((await world.instances.get('HD-10428'))?.pendingHandover).toBeUndefined();
  });

  it('fails the wait with WorkItemCancelled when the item was cancelled before it parked', async () => {
    // Prepare
    const world = setup();
    await assignedItem(world);
    const cancellation = { reason: 'customer withdrew', cancelledAt: '2026-11-20T09:19:57.000Z' };
    await world.instances.markCancelled('HD-10428', cancellation, undefined, T0 - 1_000);
    const taskToken = world.executions.issueToken('completion');

    // Act
    const response = await world.handler({
      waitingFor: 'completion',
      taskToken,
      itemId: 'HD-10428',
      attempt: 1,
    });

    // Assess
    expect(response.status).toBe('cancelled');
    expect(world.executions.tokenState(taskToken)).toEqual({
      state: 'failed',
      error: 'WorkItemCancelled',
      cause: JSON.stringify(cancellation),
    });
  });

  it('releases a completion wait with AgentWentOffline when the assignee went offline before it parked', async () => {
    // Prepare: the agent's offline release ran before this wait stored its token, so found nothing
    const world = setup();
    await assignedItem(world);
    await world.features.putAgentProfile({
      agentId: 'agent-ana',
      kind: 'person',
      status: 'offline',
      capacity: 1,
      skills: [],
      changedAt: T0 - 5_000,
    });
    const taskToken = world.executions.issueToken('completion');

    // Act
    const response = await world.handler({
      waitingFor: 'completion',
      taskToken,
      itemId: 'HD-10428',
      attempt: 1,
      agentId: 'agent-ana',
      context: {},
    });

    // Assess
    expect(response).toEqual({
      itemId: 'HD-10428',
      waitingFor: 'completion',
      status: 'released-agent-offline',
    });
    expect(world.executions.tokenState(taskToken)).toMatchObject({
      state: 'failed',
      error: 'AgentWentOffline',
    });
    const records = await world.audit.listForItem('HD-10428');
    expect(records.map((record) => record.kind)).toEqual(['COMPLETION_WAIT', 'RELEASED_AGENT_OFFLINE']);
    expect(JSON.parse(records[1]?.details ?? '{}')).toMatchObject({ agentId: 'agent-ana', resumed: 'sent' });
  });

  it('keeps a completion wait parked while its assignee is available', async () => {
    // Prepare
    const world = setup();
    await assignedItem(world);
    const taskToken = world.executions.issueToken('completion');

    // Act
    const response = await world.handler({
      waitingFor: 'completion',
      taskToken,
      itemId: 'HD-10428',
      attempt: 1,
      agentId: 'agent-ana',
      context: {},
    });

    // Assess
    expect(response.status).toBe('parked');
    expect(world.executions.tokenState(taskToken)).toEqual({ state: 'pending' });
  });

  it('throws InvalidTaskInputError naming the field for a malformed park request', async () => {
    // Prepare
    const world = setup();

    // Act
    const parking = world.handler({ waitingFor: 'lunch', taskToken: 't', itemId: 'HD-10428', attempt: 1 });

    // Assess
    await expect(parking).rejects.toThrow(InvalidTaskInputError);
    await expect(
      world.handler({ waitingFor: 'lunch', taskToken: 't', itemId: 'HD-10428', attempt: 1 }),
    ).rejects.toThrow(/waitingFor/);
  });
});
