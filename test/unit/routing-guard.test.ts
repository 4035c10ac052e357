import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentState, HandlingFeatures, WaitingItem } from '../../domain/model';
import { DEFAULT_FLOWTUNE_WEIGHTS, flowtunePolicy } from '../../domain/routing/flowtune';
import type { DispatchRound } from '../../domain/routing/types';

/**
 * The guard in Flowtune's cost: business priority and SLA urgency reorder an item only while its
 * SLA is at risk; otherwise the item is ordered as the simple rule orders it (longest waiting
 * first, to the fastest eligible agent), and every decision says which regime applied.
 */

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
    idleSince: NOW - 5 * MINUTE,
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
    slaDueAt: NOW + 8 * 60 * MINUTE,
    excludedAgents: [],
    ...overrides,
  };
}

function stats(mean: number, count = 200) {
  return { count, mean, m2: count * (1.2 * mean) ** 2 };
}

const FEATURES: HandlingFeatures = {
  global: stats(600, 2000),
  byCategory: { billing: stats(600) },
  byCategoryAgent: { 'billing#fast': stats(200), 'billing#slow': stats(1200) },
};

function round(waiting: WaitingItem[], agents: AgentState[]): DispatchRound {
  return { now: NOW, waiting, agents, features: FEATURES };
}

describe('the guard (efficiency vs urgency order)', () => {
  it('serves the longest-waiting item first when no SLA is at risk, whatever the priorities, and says so', () => {
    // Prepare: one slot; the older item has priority 1, the newer priority 5; both SLAs hours away.
    const waiting = [
      item('old-low', { priority: 1, enqueuedAt: NOW - 12 * MINUTE }),
      item('new-high', { priority: 5, enqueuedAt: NOW - 2 * MINUTE }),
    ];

    // Act
    const [guarded] = flowtunePolicy().assign(round(waiting, [agent('fast')]));
    const [unguarded] = flowtunePolicy({ weights: { riskGain: 0 } }).assign(round(waiting, [agent('fast')]));

    // Assess
    expect(guarded?.itemId).toBe('old-low');
    expect(Math.abs(guarded?.terms.find((term) => term.name === 'priority')?.value ?? 1)).toBe(0);
    expect(Math.abs(guarded?.terms.find((term) => term.name === 'sla')?.value ?? 1)).toBe(0);
    expect(guarded?.explanation.summary).toContain('efficiency order: SLA not at risk');
    // Guard off (riskGain 0): priority reorders as before, and the explanation says so.
    expect(unguarded?.itemId).toBe('new-high');
    expect(unguarded?.explanation.summary).toContain('urgency order (guard off)');
  });

  it('lets SLA urgency and priority reorder an item whose SLA is at risk, and says by how much', () => {
    // Prepare: the newer item is due in 12 minutes (handling ~10 min): serving it later risks a breach.
    const waiting = [
      item('relaxed', { enqueuedAt: NOW - 12 * MINUTE }),
      item('at-risk', { priority: 5, enqueuedAt: NOW - 2 * MINUTE, slaDueAt: NOW + 12 * MINUTE }),
    ];

    // Act
    const [assignment] = flowtunePolicy().assign(round(waiting, [agent('fast')]));

    // Assess
    expect(assignment?.itemId).toBe('at-risk');
    expect(assignment?.terms.find((term) => term.name === 'priority')?.value).toBeLessThan(0);
    expect(assignment?.explanation.summary).toMatch(
      /urgency order: SLA at risk \(serving now lowers the breach chance by \d+%\)/,
    );
  });

  it('moves an item into the urgency order only once its breach-chance gain reaches riskGain', () => {
    // Prepare: the same round under a threshold above and below the newer item's gain (~18%).
    const waiting = [
      item('relaxed', { enqueuedAt: NOW - 12 * MINUTE }),
      item('tight', { priority: 5, enqueuedAt: NOW - 2 * MINUTE, slaDueAt: NOW + 25 * MINUTE }),
    ];
    const [probe] = flowtunePolicy({ weights: { riskGain: 1e-9 } }).assign(round(waiting, [agent('fast')]));
    expect(probe?.itemId).toBe('tight');
    const gain = Number(/by ([\d.]+)%/.exec(probe?.explanation.summary ?? '')?.[1] ?? Number.NaN) / 100;
    expect(gain).toBeGreaterThan(0);

    // Act
    const below = flowtunePolicy({ weights: { riskGain: gain / 2 } }).assign(round(waiting, [agent('fast')]));
    const above = flowtunePolicy({ weights: { riskGain: Math.min(1, gain * 2) } }).assign(
      round(waiting, [agent('fast')]),
    );

    // Assess
    expect(below[0]?.itemId).toBe('tight');
    expect(above[0]?.itemId).toBe('relaxed');
  });

  it('keeps the customer tier in the efficiency order: a contract, not a workload property', () => {
    // Prepare
    const waiting = [
      item('std', { enqueuedAt: NOW - 11 * MINUTE }),
      item('gold', { customerTier: 'gold', enqueuedAt: NOW - 10 * MINUTE }),
    ];

    // Act
    const [assignment] = flowtunePolicy().assign(round(waiting, [agent('fast')]));

    // Assess
    expect(assignment?.itemId).toBe('gold');
    expect(assignment?.explanation.summary).toContain('efficiency order');
  });

  it('on any round with no SLA at risk, serves the longest-waiting items and the fastest agent works, as the simple rule', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ priority: fc.integer({ min: 1, max: 5 }), waitedMinutes: fc.nat({ max: 120 }) }),
          {
            minLength: 1,
            maxLength: 12,
          },
        ),
        fc.integer({ min: 1, max: 4 }),
        (specs, agentCount) => {
          // Prepare: one category, agents of equal speed but "fast", SLAs 8 h away.
          const waiting = specs.map((spec, index) =>
            item(`i-${index}`, {
              priority: spec.priority,
              // Distinct waits (a second apart per index) so "longest waiting" is one answer.
              enqueuedAt: NOW - spec.waitedMinutes * MINUTE - index * 1000,
            }),
          );
          const agents = [
            agent('fast'),
            ...Array.from({ length: agentCount - 1 }, (_, index) => agent(`same-${index}`)),
          ];

          // Act
          const assignments = flowtunePolicy().assign(round(waiting, agents));

          // Assess: the assigned items are the longest-waiting ones, the oldest on the fastest agent.
          const byWait = [...waiting].sort((left, right) => left.enqueuedAt - right.enqueuedAt);
          const expected = byWait
            .slice(0, Math.min(agents.length, waiting.length))
            .map((entry) => entry.itemId);
          expect(assignments.map((assignment) => assignment.itemId).sort()).toEqual([...expected].sort());
          // The fastest agent is never left idle while an item waits.
          expect(assignments.some((assignment) => assignment.agentId === 'fast')).toBe(true);
          for (const assignment of assignments) {
            expect(assignment.explanation.summary).toContain('efficiency order');
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('defaults to a guard threshold of a 5-point breach-chance gain', () => {
    expect(DEFAULT_FLOWTUNE_WEIGHTS.riskGain).toBe(0.05);
  });
});
