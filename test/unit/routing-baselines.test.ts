import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentState, HandlingFeatures, WaitingItem } from '../../domain/model';
import {
  BASELINE_POLICY_NAMES,
  cMuAgingPolicy,
  createPolicy,
  earliestDeadlineFirstPolicy,
  fastestServerFirstPolicy,
  longestIdleFcfsPolicy,
  POLICY_REGISTRY,
  roundRobinPolicy,
  shortestExpectedWorkPolicy,
} from '../../domain/routing';
import type { DispatchRound } from '../../domain/routing/types';
import { isEligible } from '../../domain/scoring';

const NOW = Date.parse('2026-03-02T10:00:00Z');
const MINUTE = 60_000;

function agent(agentId: string, overrides: Partial<AgentState> = {}): AgentState {
  return {
    agentId,
    kind: 'person',
    status: 'available',
    skills: [{ skill: 'billing', proficiency: 3 }],
    capacity: 1,
    activeCount: 0,
    idleSince: NOW - MINUTE,
    ...overrides,
  };
}

function item(itemId: string, overrides: Partial<WaitingItem> = {}): WaitingItem {
  return {
    itemId,
    category: 'billing',
    requiredSkills: [{ skill: 'billing', minProficiency: 1 }],
    priority: 3,
    createdAt: NOW - 10 * MINUTE,
    enqueuedAt: NOW - 10 * MINUTE,
    slaDueAt: NOW + 60 * MINUTE,
    excludedAgents: [],
    ...overrides,
  };
}

const stats = (mean: number) => ({ count: 100, mean, m2: 100 * (1.2 * mean) ** 2 });
const FEATURES: HandlingFeatures = {
  global: stats(300),
  byCategory: { billing: stats(300) },
  byCategoryAgent: { 'billing#fast': stats(100), 'billing#slow': stats(900) },
};

const round = (waiting: WaitingItem[], agents: AgentState[]): DispatchRound => ({
  now: NOW,
  waiting,
  agents,
  features: FEATURES,
});

describe('baseline routing policies', () => {
  it('longest-idle FCFS gives the oldest item to the agent idle the longest', () => {
    // Prepare
    const agents = [
      agent('recent', { idleSince: NOW - MINUTE }),
      agent('longest', { idleSince: NOW - 30 * MINUTE }),
    ];
    const waiting = [
      item('new', { enqueuedAt: NOW - MINUTE }),
      item('old', { enqueuedAt: NOW - 20 * MINUTE }),
    ];
    // Act
    const assignments = longestIdleFcfsPolicy().assign(round(waiting, agents));
    // Assess
    expect(assignments.map((assignment) => [assignment.itemId, assignment.agentId])).toEqual([
      ['old', 'longest'],
      ['new', 'recent'],
    ]);
  });

  it('fastest-server-first gives the item to the agent with the shortest predicted handling time', () => {
    const [assignment] = fastestServerFirstPolicy().assign(
      round([item('t')], [agent('slow'), agent('fast')]),
    );
    expect(assignment?.agentId).toBe('fast');
  });

  it('shortest expected work prefers the agent with less work in hand', () => {
    // Prepare: both fast; one already holds two chats.
    const agents = [
      agent('fast', { capacity: 3, activeCount: 2 }),
      agent('other', { capacity: 3, activeCount: 0 }),
    ];
    // Act
    const [assignment] = shortestExpectedWorkPolicy().assign(round([item('t')], agents));
    // Assess
    expect(assignment?.agentId).toBe('other');
  });

  it('earliest deadline first serves the item due soonest when one slot is free', () => {
    // Prepare
    const waiting = [
      item('later', { enqueuedAt: NOW - 30 * MINUTE }),
      item('sooner', { slaDueAt: NOW + 5 * MINUTE }),
    ];
    // Act
    const assignments = earliestDeadlineFirstPolicy().assign(round(waiting, [agent('a')]));
    // Assess
    expect(assignments.map((assignment) => assignment.itemId)).toEqual(['sooner']);
  });

  it('cμ with aging lets a long-waiting low-priority item overtake a fresh high-priority one', () => {
    // Prepare: aging of 1 priority point per 10 minutes; the old item has waited 60 minutes.
    const waiting = [
      item('urgent', { priority: 5, enqueuedAt: NOW }),
      item('aged', { priority: 1, enqueuedAt: NOW - 60 * MINUTE }),
    ];
    // Act
    const fresh = cMuAgingPolicy().assign(
      round([waiting[0] as WaitingItem, item('young', { priority: 1, enqueuedAt: NOW })], [agent('a')]),
    );
    const aged = cMuAgingPolicy().assign(round(waiting, [agent('a')]));
    // Assess
    expect(fresh.map((assignment) => assignment.itemId)).toEqual(['urgent']);
    expect(aged.map((assignment) => assignment.itemId)).toEqual(['aged']);
  });

  it('round robin rotates through agents across rounds', () => {
    // Prepare
    const policy = roundRobinPolicy();
    const agents = [agent('a'), agent('b'), agent('c')];
    // Act
    const chosen = [1, 2, 3, 4].map((index) => policy.assign(round([item(`t${index}`)], agents))[0]?.agentId);
    // Assess
    expect(chosen).toEqual(['a', 'b', 'c', 'a']);
  });

  it('the registry builds every policy by name and rejects unknown names with the choices', () => {
    expect(Object.keys(POLICY_REGISTRY)).toEqual(['flowtune', ...BASELINE_POLICY_NAMES]);
    for (const name of Object.keys(POLICY_REGISTRY)) expect(createPolicy(name).name).toBe(name);
    expect(() => createPolicy('greedy')).toThrow(/unknown routing policy "greedy"; choose one of: flowtune/);
  });

  it('every baseline respects skills, status, capacity and exclusions on any round', () => {
    const agentArbitrary = fc.record({
      proficiency: fc.integer({ min: 1, max: 5 }),
      skill: fc.constantFrom('billing', 'refunds'),
      capacity: fc.integer({ min: 1, max: 3 }),
      activeCount: fc.integer({ min: 0, max: 3 }),
      status: fc.constantFrom('available', 'busy', 'offline') as fc.Arbitrary<AgentState['status']>,
    });
    const itemArbitrary = fc.record({
      skill: fc.constantFrom('billing', 'refunds'),
      minProficiency: fc.integer({ min: 1, max: 5 }),
      excludeFirst: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(agentArbitrary, { minLength: 1, maxLength: 6 }),
        fc.array(itemArbitrary, { maxLength: 10 }),
        (agentSpecs, itemSpecs) => {
          // Prepare
          const agents = agentSpecs.map((spec, index) =>
            agent(`agent-${index}`, {
              skills: [{ skill: spec.skill, proficiency: spec.proficiency }],
              capacity: spec.capacity,
              activeCount: Math.min(spec.activeCount, spec.capacity),
              status: spec.status,
            }),
          );
          const waiting = itemSpecs.map((spec, index) =>
            item(`item-${index}`, {
              category: spec.skill,
              requiredSkills: [{ skill: spec.skill, minProficiency: spec.minProficiency }],
              excludedAgents: spec.excludeFirst ? ['agent-0'] : [],
            }),
          );
          for (const name of BASELINE_POLICY_NAMES) {
            // Act
            const assignments = createPolicy(name).assign(round(waiting, agents));
            // Assess
            const taken = new Map<string, number>();
            for (const assignment of assignments) {
              const chosen = agents.find((candidate) => candidate.agentId === assignment.agentId);
              const routed = waiting.find((candidate) => candidate.itemId === assignment.itemId);
              const already = taken.get(assignment.agentId) ?? 0;
              expect(
                chosen &&
                  routed &&
                  isEligible({ ...chosen, activeCount: chosen.activeCount + already }, routed),
              ).toBe(true);
              taken.set(assignment.agentId, already + 1);
            }
            expect(new Set(assignments.map((assignment) => assignment.itemId)).size).toBe(assignments.length);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
