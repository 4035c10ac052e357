import { describe, expect, it } from 'vitest';
import { AllocationQueue } from '../../domain/allocation/job';
import { preferAssignedQueues } from '../../domain/allocation/queue-preference';
import type { AgentState, WaitingItem } from '../../domain/model';
import { createPolicy } from '../../domain/routing';
import type { DispatchRound } from '../../domain/routing/types';

const NOW = Date.parse('2026-11-20T09:00:00Z');

const QUEUES = [
  AllocationQueue.parse({
    queueId: 'cards',
    categories: ['cards', 'card-activation'],
    requiredSkills: [{ skill: 'cards', minProficiency: 2 }],
    target: { fraction: 0.8, withinSeconds: 60 },
  }),
  AllocationQueue.parse({
    queueId: 'loans',
    requiredSkills: [{ skill: 'loans' }],
    target: { fraction: 0.8, withinSeconds: 120 },
  }),
];

function agent(agentId: string, skills: Record<string, number>): AgentState {
  return {
    agentId,
    kind: 'person',
    status: 'available',
    skills: Object.entries(skills).map(([skill, proficiency]) => ({ skill, proficiency })),
    capacity: 1,
    activeCount: 0,
    idleSince: NOW - 60_000,
  };
}

function item(itemId: string, category: string, skill: string, enqueuedAt: number): WaitingItem {
  return {
    itemId,
    category,
    requiredSkills: [{ skill, minProficiency: 2 }],
    priority: 3,
    createdAt: enqueuedAt,
    enqueuedAt,
    slaDueAt: enqueuedAt + 3_600_000,
    excludedAgents: [],
  };
}

function round(waiting: WaitingItem[], agents: AgentState[]): DispatchRound {
  return {
    now: NOW,
    waiting,
    agents,
    features: { global: { count: 0, mean: 0, m2: 0 }, byCategory: {}, byCategoryAgent: {} },
  };
}

describe('preferAssignedQueues (an agent in queue Q takes Q’s items first)', () => {
  it('keeps an agent moved to cards for a waiting cards item, though a loans item waited longer', () => {
    // Prepare: flex holds both skills and was moved to cards; the loans item is older.
    const flex = agent('flex-1', { cards: 3, loans: 3 });
    const before = round(
      [item('L-1', 'loans', 'loans', NOW - 600_000), item('C-1', 'card-activation', 'cards', NOW - 60_000)],
      [flex],
    );

    // Act
    const after = preferAssignedQueues(before, QUEUES, { 'flex-1': 'cards' });
    const assignments = createPolicy('longest-idle-fcfs').assign(after);

    // Assess
    expect(after.waiting.find((waiting) => waiting.itemId === 'L-1')?.excludedAgents).toEqual(['flex-1']);
    expect(assignments.map((assignment) => [assignment.itemId, assignment.agentId])).toEqual([
      ['C-1', 'flex-1'],
    ]);
  });

  it('lets the agent take any item its skills allow when its queue has nothing it can take', () => {
    // Prepare: the only cards item needs a proficiency flex does not hold.
    const flex = agent('flex-1', { cards: 1, loans: 3 });
    const before = round(
      [item('L-1', 'loans', 'loans', NOW - 600_000), item('C-1', 'cards', 'cards', NOW - 60_000)],
      [flex],
    );

    // Act
    const after = preferAssignedQueues(before, QUEUES, { 'flex-1': 'cards' });

    // Assess
    expect(after).toBe(before);
  });

  it('leaves agents without a queue, and items of no queue, as routing had them', () => {
    // Prepare
    const unassigned = agent('ana', { cards: 3 });
    const kept = agent('flex-1', { cards: 3, general: 3 });
    const before = round(
      [item('C-1', 'cards', 'cards', NOW - 60_000), item('G-1', 'general', 'general', NOW - 60_000)],
      [unassigned, kept],
    );

    // Act
    const after = preferAssignedQueues(before, QUEUES, { 'flex-1': 'cards' });

    // Assess: ana is excluded from nothing; flex-1 is kept for cards, so not offered the general item.
    expect(after.waiting.map((waiting) => [waiting.itemId, waiting.excludedAgents])).toEqual([
      ['C-1', []],
      ['G-1', ['flex-1']],
    ]);
  });
});
