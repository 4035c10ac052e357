import { describe, expect, it } from 'vitest';
import { createDispatcherHandler } from '../../lambdas/dispatcher/handler';
import { InMemoryAllocationStore } from '../../lambdas/shared/allocation-store';
import { createInMemoryPorts } from '../../lambdas/shared/in-memory';
import { ALLOCATION_SETTINGS } from './allocation-support';
import { agent, MINUTE, sqsEvent, T0 } from './support';

const tick = { kind: 'tick', reason: 'timer', at: new Date(T0).toISOString() } as const;

/**
 * One agent who can take both a loans item (waiting longer, more urgent) and a cards item; the
 * allocation job has (or has not) moved her to the cards queue.
 */
async function world(options: { movedToCards: boolean }) {
  const ports = createInMemoryPorts(T0);
  const queues = new InMemoryAllocationStore();
  await queues.saveSettings(ALLOCATION_SETTINGS);
  ports.features.seedAgent(
    agent({
      agentId: 'agent-ana',
      capacity: 1,
      skills: [
        { skill: 'cards', proficiency: 4 },
        { skill: 'loans', proficiency: 4 },
      ],
    }),
  );
  if (options.movedToCards) {
    const moved = await ports.features.assignQueue(
      { agentId: 'agent-ana', queueId: 'cards', assignedAt: T0 - MINUTE, assignedBy: 'flowtune:allocation' },
      undefined,
    );
    expect(moved).toBe('assigned');
  }
  const tokens: Record<string, string> = {};
  for (const [itemId, category, skill, priority, waitingMinutes] of [
    ['LN-1', 'loans', 'loans', 5, 30],
    ['CD-1', 'cards', 'cards', 1, 1],
  ] as const) {
    tokens[itemId] = ports.executions.issueToken(`assign-${itemId}`);
    await ports.instances.enqueue({
      itemId,
      taskToken: tokens[itemId] ?? '',
      category,
      priority,
      requiredSkills: [{ skill, minProficiency: 1 }],
      createdAt: T0 - waitingMinutes * MINUTE,
      slaDueAt: T0 + 10 * MINUTE,
      attempt: 1,
      excludedAgents: [],
      enqueuedAt: T0 - waitingMinutes * MINUTE,
      at: T0 - waitingMinutes * MINUTE,
    });
  }
  const handler = createDispatcherHandler({ ...ports, queues });
  return { ...ports, handler, tokens };
}

describe('dispatcher: the queues the allocation job moves agents to', () => {
  it('routes by skills and urgency alone while the agent has no queue', async () => {
    // Prepare
    const unmoved = await world({ movedToCards: false });

    // Act
    await unmoved.handler(sqsEvent([tick], { fifo: true }));

    // Assess
    expect((await unmoved.instances.get('LN-1'))?.capacityHeldBy).toBe('agent-ana');
    expect((await unmoved.instances.get('CD-1'))?.stage).toBe('WAITING_ASSIGNMENT');
  });

  it('gives an agent moved to a queue that queue’s item first', async () => {
    // Prepare
    const moved = await world({ movedToCards: true });

    // Act
    await moved.handler(sqsEvent([tick], { fifo: true }));

    // Assess
    expect((await moved.instances.get('CD-1'))?.capacityHeldBy).toBe('agent-ana');
    expect((await moved.instances.get('LN-1'))?.stage).toBe('WAITING_ASSIGNMENT');
  });
});
