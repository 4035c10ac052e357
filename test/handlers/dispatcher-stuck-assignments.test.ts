import { describe, expect, it } from 'vitest';
import { createDispatcherHandler } from '../../lambdas/dispatcher/handler';
import { STUCK_ASSIGNMENT_MS } from '../../lambdas/dispatcher/stuck-assignments';
import { createInMemoryPorts } from '../../lambdas/shared/in-memory';
import { agent, MINUTE, sqsEvent, T0 } from './support';

const tickAt = (at: number) => ({ kind: 'tick', reason: 'timer', at: new Date(at).toISOString() }) as const;

/**
 * HD-77 claimed by agent-ana at T0, but the execution never heard of it: the resume failed and
 * so did the undo (the state a double fault leaves behind).
 */
async function stuckAssignment() {
  const ports = createInMemoryPorts(T0);
  const handler = createDispatcherHandler(ports);
  ports.features.seedAgent(
    agent({ agentId: 'agent-ana', capacity: 1, skills: [{ skill: 'billing', proficiency: 4 }] }),
  );
  const token = ports.executions.issueToken('assign-HD-77');
  await ports.instances.enqueue({
    itemId: 'HD-77',
    taskToken: token,
    category: 'billing',
    priority: 3,
    requiredSkills: [{ skill: 'billing', minProficiency: 2 }],
    createdAt: T0 - 10 * MINUTE,
    slaDueAt: T0 + 240 * MINUTE,
    attempt: 1,
    excludedAgents: [],
    enqueuedAt: T0 - MINUTE,
    at: T0 - MINUTE,
  });
  const claimed = await ports.features.claimCapacity({
    agentId: 'agent-ana',
    itemId: 'HD-77',
    taskToken: token,
    at: T0,
  });
  expect(claimed.outcome).toBe('claimed');
  return { ...ports, handler, token };
}

describe('dispatcher: assignments the execution never got', () => {
  it('leaves a fresh assignment alone: the execution is still on its way to park', async () => {
    // Prepare
    const world = await stuckAssignment();
    world.clock.set(T0 + STUCK_ASSIGNMENT_MS - 1);

    // Act
    await world.handler(sqsEvent([tickAt(world.clock.now())], { fifo: true }));

    // Assess
    expect((await world.instances.get('HD-77'))?.stage).toBe('ASSIGNED');
    expect(world.executions.tokenState(world.token)).toEqual({ state: 'pending' });
  });

  it('undoes a claim stuck past the limit and assigns the item again, holding one slot', async () => {
    // Prepare
    const world = await stuckAssignment();
    world.clock.set(T0 + STUCK_ASSIGNMENT_MS + MINUTE);

    // Act
    await world.handler(sqsEvent([tickAt(world.clock.now())], { fifo: true }));

    // Assess
    expect(world.executions.tokenState(world.token)?.state).toBe('succeeded');
    expect(await world.instances.get('HD-77')).toMatchObject({
      stage: 'ASSIGNED',
      capacityHeldBy: 'agent-ana',
    });
    expect((await world.features.getAgent('agent-ana'))?.activeCount).toBe(1);
    const kinds = (await world.audit.listForItem('HD-77')).map((record) => record.kind);
    expect(kinds.sort()).toEqual(['ASSIGNED', 'ASSIGNMENT_RECOVERED']);
  });

  it('releases the new slot when the execution had got the first assignment after all', async () => {
    // Prepare
    const world = await stuckAssignment();
    await world.executions.sendTaskSuccess(world.token, { agentId: 'agent-ana' });
    world.clock.set(T0 + STUCK_ASSIGNMENT_MS + MINUTE);

    // Act
    await world.handler(sqsEvent([tickAt(world.clock.now())], { fifo: true }));

    // Assess
    expect((await world.features.getAgent('agent-ana'))?.activeCount).toBe(0);
    const kinds = (await world.audit.listForItem('HD-77')).map((record) => record.kind);
    expect(kinds.sort()).toEqual(['ASSIGNMENT_RECOVERED', 'ASSIGNMENT_STALE']);
  });
});
