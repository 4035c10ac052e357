import { describe, expect, it } from 'vitest';
import type { AgentState, WaitingItem } from '../../domain/model';
import { DEFAULT_POLICY } from '../../domain/policy';
import { createPolicy, flowtunePolicy } from '../../domain/routing';
import {
  assignInTurns,
  experimentArm,
  intendedArm,
  startExperiment,
  withSlotsTaken,
} from '../../domain/tuning';

const START = Date.parse('2026-03-02T08:00:00Z');
const MINUTE = 60_000;

const experiment = startExperiment({
  experimentId: 'exp-live',
  candidate: { ...DEFAULT_POLICY, version: 'candidate-1' },
  active: DEFAULT_POLICY,
  mode: 'ab',
  treatmentShare: 0.5,
  now: START,
  startedBy: 'ops:ana',
});

function agent(agentId: string, capacity: number): AgentState {
  return {
    agentId,
    kind: 'person',
    status: 'available',
    skills: [{ skill: 'billing', proficiency: 3 }],
    capacity,
    activeCount: 0,
    idleSince: START - 30 * MINUTE,
  };
}

function item(itemId: string): WaitingItem {
  return {
    itemId,
    category: 'billing',
    requiredSkills: [{ skill: 'billing', minProficiency: 1 }],
    priority: 3,
    createdAt: START + MINUTE,
    enqueuedAt: START + MINUTE,
    slaDueAt: START + 60 * MINUTE,
    excludedAgents: [],
  };
}

describe('intendedArm', () => {
  it('is the split arm for items created while the A/B experiment ran', () => {
    const arms = ['T-1', 'T-2', 'T-3', 'T-4', 'T-5', 'T-6'].map((itemId) =>
      intendedArm({ itemId, createdAt: START + MINUTE }, experiment),
    );

    expect(arms).toEqual(
      ['T-1', 'T-2', 'T-3', 'T-4', 'T-5', 'T-6'].map((id) => experimentArm(id, experiment)),
    );
  });

  it('is none before the start, from the decision on, in shadow mode and without an experiment', () => {
    const itemId = 'T-1';

    expect(intendedArm({ itemId, createdAt: START - 1 }, experiment)).toBe('none');
    expect(
      intendedArm(
        { itemId, createdAt: START + 10 * MINUTE },
        { ...experiment, decidedAt: START + 10 * MINUTE },
      ),
    ).toBe('none');
    expect(intendedArm({ itemId, createdAt: START + MINUTE }, { ...experiment, mode: 'shadow' })).toBe(
      'none',
    );
    expect(intendedArm({ itemId, createdAt: START + MINUTE }, undefined)).toBe('none');
  });
});

describe('assignInTurns', () => {
  it('gives no agent more items over all turns than its free slots', () => {
    // Prepare: 12 items, 5 slots; both turns would fill every slot on their own.
    const agents = [agent('a-1', 2), agent('a-2', 2), agent('a-3', 1)];
    const items = Array.from({ length: 12 }, (_, index) => item(`T-${index}`));
    const round = {
      now: START + 2 * MINUTE,
      waiting: items,
      agents,
      features: { global: { count: 0, mean: 0, m2: 0 }, byCategory: {}, byCategoryAgent: {} },
    };

    // Act
    const decided = assignInTurns(round, [
      { routing: flowtunePolicy(), items: items.slice(0, 6), tag: 'first' },
      { routing: createPolicy('round-robin'), items: items.slice(6), tag: 'second' },
    ]);

    // Assess
    const perAgent = new Map<string, number>();
    for (const { assignment } of decided)
      perAgent.set(assignment.agentId, (perAgent.get(assignment.agentId) ?? 0) + 1);
    expect(Object.fromEntries(perAgent)).toEqual({ 'a-1': 2, 'a-2': 2, 'a-3': 1 });
    expect(decided.filter((entry) => entry.tag === 'first')).toHaveLength(5);
    expect(new Set(decided.map((entry) => entry.assignment.itemId)).size).toBe(decided.length);
  });

  it('marks an agent busy once the earlier turns took its last slot', () => {
    const agents = withSlotsTaken(
      [agent('a-1', 2), agent('a-2', 1)],
      [{ agentId: 'a-1' }, { agentId: 'a-2' }],
    );

    expect(agents.map((entry) => [entry.activeCount, entry.status])).toEqual([
      [1, 'available'],
      [1, 'busy'],
    ]);
  });
});
