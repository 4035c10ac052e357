import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentState, HandlingFeatures, HandlingStats } from '../../domain/model';
import {
  HANDLING_MODEL_VERSION,
  isEligible,
  lognormalSurvival,
  normalCdf,
  predictHandling,
  scoreItem,
  updateHandlingStats,
} from '../../domain/scoring';

const NOW = Date.parse('2026-03-02T10:00:00Z');

function statsOf(values: readonly number[]): HandlingStats | undefined {
  let stats: HandlingStats | undefined;
  for (const value of values) stats = updateHandlingStats(stats, value);
  return stats;
}

function repeated(value: number, count: number): HandlingStats {
  return { count, mean: value, m2: 0 };
}

function agent(overrides: Partial<AgentState> = {}): AgentState {
  return {
    agentId: 'agent-1',
    kind: 'person',
    status: 'available',
    skills: [{ skill: 'billing', proficiency: 3 }],
    capacity: 1,
    activeCount: 0,
    idleSince: NOW - 60_000,
    ...overrides,
  };
}

const EMPTY_FEATURES: HandlingFeatures = {
  global: { count: 0, mean: 0, m2: 0 },
  byCategory: {},
  byCategoryAgent: {},
};

const billingItem = {
  category: 'billing',
  priority: 3,
  customerTier: 'standard',
  createdAt: NOW - 5 * 60_000,
  slaDueAt: NOW + 60 * 60_000,
  requiredSkills: [{ skill: 'billing', minProficiency: 2 }],
};

describe('updateHandlingStats', () => {
  it('matches the two-pass mean and variance for any sequence of durations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e5, noNaN: true }), { minLength: 2, maxLength: 200 }),
        (values) => {
          // Prepare
          const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
          const sumOfSquares = values.reduce((sum, value) => sum + (value - mean) ** 2, 0);
          // Act
          const stats = statsOf(values);
          // Assess
          expect(stats?.count).toBe(values.length);
          expect(stats?.mean).toBeCloseTo(mean, 6);
          expect(Math.abs((stats?.m2 ?? 0) - sumOfSquares)).toBeLessThanOrEqual(
            1e-6 * Math.max(1, sumOfSquares),
          );
        },
      ),
    );
  });

  it('starts from nothing with the first observation as the mean', () => {
    expect(updateHandlingStats(undefined, 120)).toEqual({ count: 1, mean: 120, m2: 0 });
  });

  it('rejects a negative or non-finite duration with the bad value in the message', () => {
    expect(() => updateHandlingStats(undefined, -3)).toThrow(/-3/);
    expect(() => updateHandlingStats(undefined, Number.NaN)).toThrow(/NaN/);
  });
});

describe('predictHandling', () => {
  it('falls back to the prior default with zero confidence when there is no data at all', () => {
    // Act
    const prediction = predictHandling(EMPTY_FEATURES, 'billing', 'agent-1', {
      strength: 5,
      defaultSeconds: 300,
    });
    // Assess
    expect(prediction).toEqual({ seconds: 300, confidence: 0, observations: 0 });
  });

  it('shrinks a thinly observed category toward the global mean', () => {
    // Prepare: global mean 600 s from 1,000 items; one billing item took 100 s.
    const features: HandlingFeatures = {
      global: repeated(600, 1000),
      byCategory: { billing: repeated(100, 1) },
      byCategoryAgent: {},
    };
    // Act
    const prediction = predictHandling(features, 'billing');
    // Assess: (1·100 + 5·~600) / 6
    expect(prediction.seconds).toBeGreaterThan(450);
    expect(prediction.seconds).toBeLessThan(600);
    expect(prediction.observations).toBe(1);
  });

  it('trusts a well-observed category × agent cell and reports high confidence', () => {
    // Prepare
    const features: HandlingFeatures = {
      global: repeated(600, 2000),
      byCategory: { billing: repeated(400, 1000) },
      byCategoryAgent: { 'billing#agent-1': repeated(200, 500) },
    };
    // Act
    const prediction = predictHandling(features, 'billing', 'agent-1');
    // Assess
    expect(prediction.seconds).toBeGreaterThan(195);
    expect(prediction.seconds).toBeLessThan(205);
    expect(prediction.confidence).toBeGreaterThan(0.98);
    expect(prediction.observations).toBe(500);
  });

  it("carries an agent's speed in other categories into a category it has never handled", () => {
    // Prepare: agent-fast is twice as fast as the category mean on billing; never did refunds.
    const features: HandlingFeatures = {
      global: repeated(500, 2000),
      byCategory: { billing: repeated(400, 1000), refunds: repeated(800, 1000) },
      byCategoryAgent: { 'billing#agent-fast': repeated(200, 300), 'refunds#agent-slow': repeated(800, 300) },
    };
    // Act
    const fast = predictHandling(features, 'refunds', 'agent-fast');
    const unknown = predictHandling(features, 'refunds', 'agent-new');
    // Assess
    expect(fast.seconds).toBeLessThan(450);
    expect(unknown.seconds).toBeGreaterThan(790);
    expect(unknown.seconds).toBeLessThanOrEqual(800);
  });

  it('gains confidence as observations accumulate', () => {
    // Prepare
    const few: HandlingFeatures = { ...EMPTY_FEATURES, byCategory: { billing: repeated(300, 3) } };
    const many: HandlingFeatures = { ...EMPTY_FEATURES, byCategory: { billing: repeated(300, 300) } };
    // Act
    const low = predictHandling(few, 'billing').confidence;
    const high = predictHandling(many, 'billing').confidence;
    // Assess
    expect(low).toBeLessThan(0.5);
    expect(high).toBeGreaterThan(0.95);
  });
});

describe('isEligible', () => {
  const requirement = { requiredSkills: [{ skill: 'billing', minProficiency: 3 }], excludedAgents: [] };

  it('accepts an available agent with the skill at the minimum proficiency and a free slot', () => {
    expect(isEligible(agent(), requirement)).toBe(true);
  });

  it('refuses an agent below the minimum proficiency or without the skill', () => {
    expect(isEligible(agent({ skills: [{ skill: 'billing', proficiency: 2 }] }), requirement)).toBe(false);
    expect(isEligible(agent({ skills: [{ skill: 'refunds', proficiency: 5 }] }), requirement)).toBe(false);
  });

  it('refuses an agent that is busy, offline, at capacity, excluded or past its shift end', () => {
    expect(isEligible(agent({ status: 'busy' }), requirement)).toBe(false);
    expect(isEligible(agent({ status: 'offline' }), requirement)).toBe(false);
    expect(isEligible(agent({ capacity: 2, activeCount: 2 }), requirement)).toBe(false);
    expect(isEligible(agent(), { ...requirement, excludedAgents: ['agent-1'] })).toBe(false);
    expect(isEligible(agent({ shiftEndsAt: NOW - 1 }), requirement, NOW)).toBe(false);
  });
});

describe('scoreItem', () => {
  const features: HandlingFeatures = {
    global: repeated(600, 500),
    byCategory: { billing: { count: 500, mean: 600, m2: 500 * (1.2 * 600) ** 2 } },
    byCategoryAgent: {},
  };

  it('stamps the model version and the agent-independent predicted handling time', () => {
    // Act
    const score = scoreItem({ item: billingItem, features, agents: [agent()], now: NOW });
    // Assess
    expect(score.modelVersion).toBe(HANDLING_MODEL_VERSION);
    expect(score.predictedHandlingSeconds).toBeCloseTo(600, 0);
    expect(score.secondsToDue).toBe(3600);
  });

  it('raises the SLA-breach risk as the due time approaches', () => {
    // Act
    const relaxed = scoreItem({ item: billingItem, features, agents: [agent()], now: NOW });
    const tight = scoreItem({
      item: { ...billingItem, slaDueAt: NOW + 5 * 60_000 },
      features,
      agents: [agent()],
      now: NOW,
    });
    const late = scoreItem({
      item: { ...billingItem, slaDueAt: NOW - 1000 },
      features,
      agents: [agent()],
      now: NOW,
    });
    // Assess
    expect(relaxed.slaBreachRisk).toBeLessThan(0.1);
    expect(tight.slaBreachRisk).toBeGreaterThan(relaxed.slaBreachRisk);
    expect(late.slaBreachRisk).toBe(1);
  });

  it('adds a queueing delay when every eligible agent is busy', () => {
    // Prepare
    const item = { ...billingItem, slaDueAt: NOW + 15 * 60_000 };
    // Act
    const free = scoreItem({ item, features, agents: [agent()], now: NOW });
    const busy = scoreItem({ item, features, agents: [agent({ status: 'busy', activeCount: 1 })], now: NOW });
    // Assess
    expect(busy.slaBreachRisk).toBeGreaterThan(free.slaBreachRisk);
  });

  it('sets both risks to 1 when agents are known but none holds the required skills', () => {
    // Act
    const score = scoreItem({
      item: billingItem,
      features,
      agents: [agent({ skills: [{ skill: 'refunds', proficiency: 5 }] })],
      now: NOW,
    });
    // Assess
    expect(score.slaBreachRisk).toBe(1);
    expect(score.escalationRisk).toBe(1);
  });

  it('does not treat an unknown roster as "nobody can do it"', () => {
    expect(scoreItem({ item: billingItem, features, agents: [], now: NOW }).slaBreachRisk).toBeLessThan(0.1);
  });

  it('lifts the effective priority for higher tiers and urgent items, within 1..10', () => {
    // Act
    const standard = scoreItem({ item: billingItem, features, agents: [agent()], now: NOW });
    const platinum = scoreItem({
      item: { ...billingItem, customerTier: 'platinum' },
      features,
      agents: [agent()],
      now: NOW,
    });
    const urgent = scoreItem({
      item: { ...billingItem, priority: 5, customerTier: 'platinum', slaDueAt: NOW },
      features,
      agents: [agent()],
      now: NOW,
    });
    // Assess
    expect(platinum.effectivePriority).toBeGreaterThan(standard.effectivePriority);
    expect(urgent.effectivePriority).toBe(10);
    expect(standard.escalationRisk).toBeLessThanOrEqual(standard.slaBreachRisk);
  });
});

describe('distributions', () => {
  it('computes the standard normal CDF at known points', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 6);
  });

  it('puts half the lognormal mass above the median exp(mu)', () => {
    // Prepare: mean 100, CV 1.2 → median = 100 / sqrt(1 + 1.44)
    const median = 100 / Math.sqrt(2.44);
    // Act & Assess
    expect(lognormalSurvival(median, 100, 1.2)).toBeCloseTo(0.5, 6);
  });
});
