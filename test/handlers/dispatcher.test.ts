import { describe, expect, it } from 'vitest';
import type { AgentState } from '../../domain/model';
import { AssignmentResult, type DispatchMessage } from '../../domain/process';
import type { RoutingPolicy } from '../../domain/routing';
import { createDispatcherHandler, type RoundReport } from '../../lambdas/dispatcher/handler';
import { createInMemoryPorts, type InMemoryPorts } from '../../lambdas/shared/in-memory';
import { agent, MINUTE, sqsEvent, T0 } from './support';

type Enqueue = Extract<DispatchMessage, { kind: 'enqueue' }>;

function setup(options: { routing?: RoutingPolicy } = {}) {
  const ports = createInMemoryPorts(T0);
  const rounds: RoundReport[] = [];
  const handler = createDispatcherHandler({
    ...ports,
    onRound: (report) => rounds.push(report),
    ...(options.routing === undefined ? {} : { routing: () => options.routing as RoutingPolicy }),
  });
  return { ...ports, handler, rounds };
}

function enqueueMessage(ports: InMemoryPorts, itemId: string, overrides: Partial<Enqueue> = {}): Enqueue {
  return {
    kind: 'enqueue',
    taskToken: ports.executions.issueToken(`assign-${itemId}`),
    itemId,
    category: 'billing',
    requiredSkills: [{ skill: 'billing', minProficiency: 2 }],
    priority: 3,
    createdAt: new Date(T0 - 10 * MINUTE).toISOString(),
    slaDueAt: new Date(T0 + 4 * 60 * MINUTE).toISOString(),
    attempt: 1,
    excludedAgents: [],
    enqueuedAt: new Date(T0 - MINUTE).toISOString(),
    ...overrides,
  };
}

const tick = { kind: 'tick', reason: 'timer', at: new Date(T0).toISOString() } as const;

function seed(ports: InMemoryPorts, agents: AgentState[]): void {
  for (const candidate of agents) ports.features.seedAgent(candidate);
}

function resumedAssignment(ports: InMemoryPorts, token: string): AssignmentResult | undefined {
  const state = ports.executions.tokenState(token);
  return state?.state === 'succeeded' ? AssignmentResult.parse(state.output) : undefined;
}

describe('dispatcher handler', () => {
  it('assigns a batch of waiting items as one problem and resumes each with its explanation', async () => {
    // Prepare
    const world = setup();
    seed(world, [
      agent({ agentId: 'agent-ana', capacity: 1, skills: [{ skill: 'billing', proficiency: 5 }] }),
      agent({ agentId: 'agent-bo', capacity: 2, skills: [{ skill: 'billing', proficiency: 3 }] }),
    ]);
    const messages = ['HD-1', 'HD-2', 'HD-3'].map((itemId) => enqueueMessage(world, itemId));

    // Act
    const response = await world.handler(sqsEvent(messages, { fifo: true }));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(world.rounds).toHaveLength(1);
    expect(world.rounds[0]?.assigned).toHaveLength(3);
    for (const message of messages) {
      const assignment = resumedAssignment(world, message.taskToken);
      expect(assignment?.explanation.summary).toBeTruthy();
      expect(assignment?.explanation.candidatesConsidered).toBeGreaterThan(0);
      expect(assignment).toMatchObject({ experimentArm: 'none', routedAt: new Date(T0).toISOString() });
      const trail = await world.audit.listForItem(message.itemId);
      const assigned = trail.find((record) => record.kind === 'ASSIGNED');
      expect(JSON.parse(assigned?.details ?? '{}')).toMatchObject({
        agentId: assignment?.agentId,
        // As stored: JSON (which also turns the policy's -0 terms into 0).
        explanation: JSON.parse(JSON.stringify(assignment?.explanation)),
        terms: expect.any(Array),
      });
      expect(await world.instances.get(message.itemId)).toMatchObject({
        stage: 'ASSIGNED',
        assignee: assignment?.agentId,
      });
    }
    expect((await world.features.getAgent('agent-ana'))?.activeCount).toBe(1);
    expect((await world.features.getAgent('agent-bo'))?.activeCount).toBe(2);
  });

  it('never assigns beyond capacity: the rest keep waiting for a later round', async () => {
    // Prepare
    const world = setup();
    seed(world, [agent({ agentId: 'agent-ana', capacity: 2 })]);
    const messages = ['HD-1', 'HD-2', 'HD-3', 'HD-4', 'HD-5'].map((itemId) => enqueueMessage(world, itemId));
    await world.handler(sqsEvent(messages, { fifo: true }));

    // Act
    await world.handler(sqsEvent([tick], { fifo: true }));

    // Assess
    expect(world.rounds.map((round) => round.assigned.length)).toEqual([2, 0]);
    expect((await world.features.getAgent('agent-ana'))?.activeCount).toBe(2);
    expect(await world.instances.listByStage('WAITING_ASSIGNMENT')).toHaveLength(3);
  });

  it('cannot over-assign even when the routing policy proposes it: the claim transaction refuses', async () => {
    // Prepare
    const overeager: RoutingPolicy = {
      name: 'overeager',
      assign: (round) =>
        round.waiting.map((item) => ({
          itemId: item.itemId,
          agentId: 'agent-ana',
          predictedHandlingSeconds: 300,
          cost: 1,
          terms: [],
          explanation: {
            summary: 'everything to ana',
            chosen: { agentId: 'agent-ana', cost: 1, terms: [] },
            candidatesConsidered: 1,
          },
        })),
    };
    const world = setup({ routing: overeager });
    seed(world, [agent({ agentId: 'agent-ana', capacity: 1 })]);
    const messages = ['HD-1', 'HD-2', 'HD-3'].map((itemId) => enqueueMessage(world, itemId));

    // Act
    await world.handler(sqsEvent(messages, { fifo: true }));

    // Assess
    expect(world.rounds[0]).toMatchObject({ conflicts: 2 });
    expect(world.rounds[0]?.assigned).toHaveLength(1);
    expect((await world.features.getAgent('agent-ana'))?.activeCount).toBe(1);
  });

  it('releases the slot at once when the waiting execution is gone (stale token)', async () => {
    // Prepare
    const world = setup();
    seed(world, [agent({ agentId: 'agent-ana', capacity: 1 })]);
    const message = enqueueMessage(world, 'HD-1');
    world.executions.expireToken(message.taskToken);

    // Act
    await world.handler(sqsEvent([message], { fifo: true }));

    // Assess
    expect(world.rounds[0]).toMatchObject({ stale: 1, assigned: [] });
    expect((await world.features.getAgent('agent-ana'))?.activeCount).toBe(0);
    expect((await world.instances.get('HD-1'))?.capacityHeldBy).toBeUndefined();
    const kinds = (await world.audit.listForItem('HD-1')).map((record) => record.kind);
    expect(kinds).toContain('ASSIGNMENT_STALE');
  });

  it('undoes the claim when the resume fails transiently, so the item waits for the next round', async () => {
    // Prepare
    const world = setup();
    seed(world, [agent({ agentId: 'agent-ana', capacity: 1 })]);
    const message = enqueueMessage(world, 'HD-1');
    world.executions.failNextResume(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));

    // Act
    await world.handler(sqsEvent([message], { fifo: true }));
    await world.handler(sqsEvent([tick], { fifo: true }));

    // Assess
    expect(world.rounds.map((round) => [round.reverted, round.assigned.length])).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(resumedAssignment(world, message.taskToken)?.agentId).toBe('agent-ana');
    expect((await world.features.getAgent('agent-ana'))?.activeCount).toBe(1);
  });

  it('ignores a redelivered enqueue of an item already assigned: nothing is assigned twice', async () => {
    // Prepare
    const world = setup();
    seed(world, [agent({ agentId: 'agent-ana', capacity: 3 })]);
    const message = enqueueMessage(world, 'HD-1');
    await world.handler(sqsEvent([message], { fifo: true }));

    // Act
    await world.handler(sqsEvent([message], { fifo: true }));

    // Assess
    expect(world.rounds.map((round) => round.assigned.length)).toEqual([1, 0]);
    expect((await world.features.getAgent('agent-ana'))?.activeCount).toBe(1);
    expect((await world.instances.get('HD-1'))?.stage).toBe('ASSIGNED');
  });

  it('fails the assignment wait with WorkItemCancelled when the item was cancelled before it queued', async () => {
    // Prepare
    const world = setup();
    seed(world, [agent({ agentId: 'agent-ana', capacity: 1 })]);
    const earlier = enqueueMessage(world, 'HD-1');
    await world.instances.enqueue({
      ...earlier,
      createdAt: T0,
      slaDueAt: T0 + 60 * MINUTE,
      enqueuedAt: T0,
      at: T0,
    });
    await world.instances.markCancelled(
      'HD-1',
      { reason: 'withdrawn', cancelledAt: '2026-11-20T09:19:57.000Z' },
      earlier.taskToken,
      T0,
    );
    const message = enqueueMessage(world, 'HD-1');

    // Act
    await world.handler(sqsEvent([message], { fifo: true }));

    // Assess
    expect(world.executions.tokenState(message.taskToken)).toEqual({
      state: 'failed',
      error: 'WorkItemCancelled',
      cause: JSON.stringify({ reason: 'withdrawn', cancelledAt: '2026-11-20T09:19:57.000Z' }),
    });
    expect((await world.features.getAgent('agent-ana'))?.activeCount).toBe(0);
  });

  it('records a malformed message and still runs the round, so the FIFO group never blocks', async () => {
    // Prepare
    const world = setup();
    seed(world, [agent({ agentId: 'agent-ana', capacity: 1 })]);
    const good = enqueueMessage(world, 'HD-1');

    // Act
    const response = await world.handler(sqsEvent(['{"kind":"enqueue"}', good], { fifo: true }));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(world.rounds[0]?.assigned).toEqual([{ itemId: 'HD-1', agentId: 'agent-ana' }]);
    expect(world.audit.all().filter((record) => record.kind === 'EXCEPTION')).toHaveLength(1);
  });

  it('does not send an item back to an agent it is excluded from after a re-route', async () => {
    // Prepare
    const world = setup();
    seed(world, [
      agent({ agentId: 'agent-ana', capacity: 1, skills: [{ skill: 'billing', proficiency: 5 }] }),
      agent({ agentId: 'agent-bo', capacity: 1, skills: [{ skill: 'billing', proficiency: 2 }] }),
    ]);
    const message = enqueueMessage(world, 'HD-1', { attempt: 2, excludedAgents: ['agent-ana'] });

    // Act
    await world.handler(sqsEvent([message], { fifo: true }));

    // Assess
    expect(resumedAssignment(world, message.taskToken)?.agentId).toBe('agent-bo');
  });
});
