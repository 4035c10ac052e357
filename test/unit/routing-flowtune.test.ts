import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Explanation } from '../../domain/events';
import type { AgentState, HandlingFeatures, WaitingItem } from '../../domain/model';
import { flowtunePolicy } from '../../domain/routing/flowtune';
import type { DispatchRound } from '../../domain/routing/types';
import { isEligible } from '../../domain/scoring';

const NOW = Date.parse('2026-03-02T10:00:00Z');
const MINUTE = 60_000;

function agent(
  agentId: string,
  skills: Record<string, number>,
  overrides: Partial<AgentState> = {},
): AgentState {
  return {
    agentId,
    kind: 'person',
    status: 'available',
    skills: Object.entries(skills).map(([skill, proficiency]) => ({ skill, proficiency })),
    capacity: 1,
    activeCount: 0,
    idleSince: NOW - 5 * MINUTE,
    ...overrides,
  };
}

function item(itemId: string, skill: string, overrides: Partial<WaitingItem> = {}): WaitingItem {
  return {
    itemId,
    category: skill,
    requiredSkills: [{ skill, minProficiency: 1 }],
    priority: 3,
    createdAt: NOW - 10 * MINUTE,
    enqueuedAt: NOW - 10 * MINUTE,
    slaDueAt: NOW + 60 * MINUTE,
    excludedAgents: [],
    ...overrides,
  };
}

function stats(mean: number, count = 200) {
  return { count, mean, m2: count * (1.2 * mean) ** 2 };
}

const FEATURES: HandlingFeatures = {
  global: stats(600, 2000),
  byCategory: { billing: stats(600), refunds: stats(600) },
  byCategoryAgent: {
    'billing#fast': stats(200),
    'billing#slow': stats(1200),
  },
};

function round(waiting: WaitingItem[], agents: AgentState[], features = FEATURES): DispatchRound {
  return { now: NOW, waiting, agents, features };
}

describe('flowtunePolicy', () => {
  it('gives an item to the agent predicted to handle it fastest', () => {
    // Prepare
    const agents = [agent('slow', { billing: 3 }), agent('fast', { billing: 3 })];
    // Act
    const [assignment] = flowtunePolicy().assign(round([item('t-1', 'billing')], agents));
    // Assess
    expect(assignment?.agentId).toBe('fast');
    expect(assignment?.explanation.runnerUp?.agentId).toBe('slow');
    expect(assignment?.predictedHandlingSeconds).toBeLessThan(300);
  });

  it('solves the round jointly where a one-at-a-time greedy router strands an item', () => {
    // Prepare: "both" is the faster billing agent, but only it can do refunds.
    const agents = [agent('both', { billing: 3, refunds: 3 }), agent('billing-only', { billing: 3 })];
    const waiting = [
      item('t-billing', 'billing', { enqueuedAt: NOW - 20 * MINUTE }),
      item('t-refund', 'refunds'),
    ];
    const features = {
      ...FEATURES,
      byCategoryAgent: { 'billing#both': stats(200), 'billing#billing-only': stats(900) },
    };
    // Act
    const assignments = flowtunePolicy().assign(round(waiting, agents, features));
    // Assess
    const byItem = Object.fromEntries(
      assignments.map((assignment) => [assignment.itemId, assignment.agentId]),
    );
    expect(byItem).toEqual({ 't-billing': 'billing-only', 't-refund': 'both' });
  });

  it('serves the item about to breach its SLA before a newer one when there is one slot', () => {
    // Prepare
    const waiting = [
      item('relaxed', 'billing', { enqueuedAt: NOW - 11 * MINUTE, slaDueAt: NOW + 8 * 60 * MINUTE }),
      item('urgent', 'billing', { enqueuedAt: NOW - 2 * MINUTE, slaDueAt: NOW + 6 * MINUTE }),
    ];
    // Act
    const assignments = flowtunePolicy().assign(round(waiting, [agent('fast', { billing: 3 })]));
    // Assess
    expect(assignments.map((assignment) => assignment.itemId)).toEqual(['urgent']);
  });

  it("serves a gold customer's item first when one slot is left for two otherwise equal items, and says so", () => {
    // Prepare: same category, priority and due time, the standard item a minute older; one free slot.
    const waiting = [
      item('std-1', 'billing', { enqueuedAt: NOW - 11 * MINUTE }),
      item('gold-1', 'billing', { customerTier: 'gold' }),
    ];

    // Act
    const [assignment] = flowtunePolicy().assign(round(waiting, [agent('fast', { billing: 3 })]));
    const [ignored] = flowtunePolicy({ weights: { customer: 0 } }).assign(
      round(waiting, [agent('fast', { billing: 3 })]),
    );

    // Assess
    expect(assignment?.itemId).toBe('gold-1');
    const customer = assignment?.terms.find((term) => term.name === 'customer');
    // w = 1 + (3 − 1 + 2 × 1) / 2 = 3 against 2 without the tier: −0.5 · ln(3 / 2).
    expect(customer?.value).toBeCloseTo(-0.5 * Math.log(3 / 2), 10);
    expect(assignment?.explanation.summary).toContain('gold customer: priority weight ×1.50');
    expect(Math.abs(ignored?.terms.find((term) => term.name === 'customer')?.value ?? 1)).toBe(0);
    expect(ignored?.itemId).toBe('std-1');
  });

  it('fills every slot of a multi-capacity agent and never more', () => {
    // Prepare
    const agents = [agent('chat', { billing: 3 }, { capacity: 3, activeCount: 1 })];
    const waiting = ['a', 'b', 'c', 'd'].map((id) => item(id, 'billing'));
    // Act
    const assignments = flowtunePolicy().assign(round(waiting, agents));
    // Assess
    expect(assignments).toHaveLength(2);
    expect(new Set(assignments.map((assignment) => assignment.itemId)).size).toBe(2);
  });

  it('explains every decision with the chosen agent, the runner-up, the cost terms and a summary', () => {
    // Prepare
    const agents = [agent('slow', { billing: 3 }), agent('fast', { billing: 3 })];
    // Act
    const [assignment] = flowtunePolicy().assign(round([item('t-1', 'billing')], agents));
    // Assess
    const explanation = Explanation.parse(assignment?.explanation);
    expect(explanation.chosen.agentId).toBe('fast');
    expect(explanation.candidatesConsidered).toBe(2);
    expect(explanation.chosen.terms.map((term) => term.name)).toContain('handling');
    expect(explanation.chosen.cost).toBeLessThan(explanation.runnerUp?.cost ?? Number.NEGATIVE_INFINITY);
    expect(explanation.summary).toMatch(/Routed to fast: expected .* vs .* on runner-up slow/);
  });

  it('says where the better-fitting agent went when the joint assignment passes it over', () => {
    // Prepare: "both" fits the billing item best but is the only one who can do refunds.
    const agents = [agent('both', { billing: 3, refunds: 3 }), agent('billing-only', { billing: 3 })];
    const waiting = [
      item('t-billing', 'billing', { enqueuedAt: NOW - 20 * MINUTE }),
      item('t-refund', 'refunds'),
    ];
    const features = {
      ...FEATURES,
      byCategoryAgent: { 'billing#both': stats(200), 'billing#billing-only': stats(900) },
    };
    // Act
    const assignments = flowtunePolicy().assign(round(waiting, agents, features));
    // Assess
    const billing = assignments.find((assignment) => assignment.itemId === 't-billing');
    expect(billing?.explanation.runnerUp?.agentId).toBe('both');
    expect(billing?.explanation.summary).toMatch(
      /both would fit this item better .* but takes t-refund this round/,
    );
  });

  it('assigns nothing when no agent holds the required skill', () => {
    expect(flowtunePolicy().assign(round([item('t-1', 'refunds')], [agent('fast', { billing: 3 })]))).toEqual(
      [],
    );
  });

  it('decides the same way whatever order the round lists items and agents in', () => {
    // Prepare
    const agents = [
      agent('a', { billing: 3 }),
      agent('b', { billing: 3, refunds: 2 }),
      agent('c', { refunds: 3 }),
    ];
    const waiting = [item('1', 'billing'), item('2', 'refunds'), item('3', 'billing', { priority: 5 })];
    // Act
    const forward = flowtunePolicy().assign(round(waiting, agents));
    const backward = flowtunePolicy().assign(round([...waiting].reverse(), [...agents].reverse()));
    // Assess
    expect(backward).toEqual(forward);
  });

  it('on any round, respects skills, capacity and exclusions and assigns as many items as a maximum matching', () => {
    const skills = ['billing', 'refunds', 'tech'];
    const agentArbitrary = fc.record({
      skills: fc.subarray(skills, { minLength: 1 }),
      proficiency: fc.integer({ min: 1, max: 5 }),
      capacity: fc.integer({ min: 1, max: 3 }),
      activeCount: fc.integer({ min: 0, max: 3 }),
      status: fc.constantFrom('available', 'available', 'busy', 'offline') as fc.Arbitrary<
        AgentState['status']
      >,
    });
    const itemArbitrary = fc.record({
      skill: fc.constantFrom(...skills),
      minProficiency: fc.integer({ min: 1, max: 5 }),
      priority: fc.integer({ min: 1, max: 5 }),
      ageMinutes: fc.integer({ min: 0, max: 120 }),
      dueMinutes: fc.integer({ min: -30, max: 240 }),
      excludeFirst: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(agentArbitrary, { minLength: 1, maxLength: 8 }),
        fc.array(itemArbitrary, { minLength: 1, maxLength: 12 }),
        (agentSpecs, itemSpecs) => {
          // Prepare
          const agents = agentSpecs.map((spec, index) =>
            agent(
              `agent-${index}`,
              Object.fromEntries(spec.skills.map((skill) => [skill, spec.proficiency])),
              {
                capacity: spec.capacity,
                activeCount: Math.min(spec.activeCount, spec.capacity),
                status: spec.status,
              },
            ),
          );
          const waiting = itemSpecs.map((spec, index) => ({
            ...item(`item-${index}`, spec.skill, {
              priority: spec.priority,
              enqueuedAt: NOW - spec.ageMinutes * MINUTE,
              createdAt: NOW - spec.ageMinutes * MINUTE,
              slaDueAt: NOW + spec.dueMinutes * MINUTE,
              excludedAgents: spec.excludeFirst ? ['agent-0'] : [],
            }),
            requiredSkills: [{ skill: spec.skill, minProficiency: spec.minProficiency }],
          }));
          // Act
          const assignments = flowtunePolicy().assign(round(waiting, agents));
          // Assess
          const used = new Map<string, number>();
          for (const assignment of assignments) {
            const chosen = agents.find((candidate) => candidate.agentId === assignment.agentId);
            const routed = waiting.find((candidate) => candidate.itemId === assignment.itemId);
            expect(chosen && routed && isEligible(chosen, routed)).toBe(true);
            used.set(assignment.agentId, (used.get(assignment.agentId) ?? 0) + 1);
          }
          for (const [agentId, count] of used) {
            const chosen = agents.find((candidate) => candidate.agentId === agentId);
            expect(count).toBeLessThanOrEqual((chosen?.capacity ?? 0) - (chosen?.activeCount ?? 0));
          }
          expect(new Set(assignments.map((assignment) => assignment.itemId)).size).toBe(assignments.length);
          expect(assignments.length).toBe(maximumMatching(waiting, agents));
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** Size of a maximum matching of items to free slots (Kuhn's augmenting paths), as the reference. */
function maximumMatching(items: readonly WaitingItem[], agents: readonly AgentState[]): number {
  const slots = agents.flatMap((candidate) =>
    Array.from(
      { length: candidate.status === 'available' ? candidate.capacity - candidate.activeCount : 0 },
      () => candidate,
    ),
  );
  const slotOwner = new Array<number>(slots.length).fill(-1);
  const tryItem = (itemIndex: number, seen: boolean[]): boolean => {
    const current = items[itemIndex];
    for (let slotIndex = 0; slotIndex < slots.length; slotIndex++) {
      const slot = slots[slotIndex];
      if (seen[slotIndex] || current === undefined || slot === undefined || !isEligible(slot, current))
        continue;
      seen[slotIndex] = true;
      const owner = slotOwner[slotIndex] ?? -1;
      if (owner < 0 || tryItem(owner, seen)) {
        slotOwner[slotIndex] = itemIndex;
        return true;
      }
    }
    return false;
  };
  let matched = 0;
  for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
    if (tryItem(itemIndex, new Array<boolean>(slots.length).fill(false))) matched++;
  }
  return matched;
}
