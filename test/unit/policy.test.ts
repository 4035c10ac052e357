import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, DEFAULT_SLA_CLOCK, decidePath, Policy } from '../../domain/policy';
import type { ItemScore } from '../../domain/scoring/types';

const confidentScore: ItemScore = {
  modelVersion: 'test',
  predictedHandlingSeconds: 600,
  slaBreachRisk: 0.1,
  escalationRisk: 0.05,
  effectivePriority: 5,
  confidence: 0.8,
  secondsToDue: 3600,
};
const item = { category: 'billing', priority: 3 };

describe('decidePath', () => {
  it('routes a confident, low-risk item to the best agent', () => {
    expect(decidePath(item, confidentScore, DEFAULT_POLICY).path).toBe('routing');
  });

  it('sends a low-confidence item to human review and says why', () => {
    const policy = { ...DEFAULT_POLICY, minConfidence: 0.5 };

    const decision = decidePath(item, { ...confidentScore, confidence: 0.2 }, policy);

    expect(decision).toEqual({
      path: 'human-review',
      reason: 'confidence 0.20 is below the policy minimum 0.5',
    });
  });

  it('sends a high-risk item to human review', () => {
    const decision = decidePath(item, { ...confidentScore, escalationRisk: 0.99 }, DEFAULT_POLICY);

    expect(decision.path).toBe('human-review');
    expect(decision.reason).toMatch(/risk 0.99/);
  });

  it('automates routine categories only at low priority', () => {
    const policy = { ...DEFAULT_POLICY, automationCategories: ['password-reset'], automationMaxPriority: 2 };

    expect(decidePath({ category: 'password-reset', priority: 2 }, confidentScore, policy).path).toBe(
      'automation',
    );
    expect(decidePath({ category: 'password-reset', priority: 4 }, confidentScore, policy).path).toBe(
      'routing',
    );
  });
});

describe('Policy schema', () => {
  it('accepts the default policy and rejects out-of-range thresholds', () => {
    expect(Policy.safeParse(DEFAULT_POLICY).success).toBe(true);
    expect(Policy.safeParse({ ...DEFAULT_POLICY, minConfidence: 1.5 }).success).toBe(false);
  });

  it('reads a policy stored before the SLA clock existed with the default clock', () => {
    const { slaClock: _clock, ...stored } = DEFAULT_POLICY;
    expect(Policy.parse(stored).slaClock).toEqual(DEFAULT_SLA_CLOCK);
    expect(
      Policy.safeParse({ ...DEFAULT_POLICY, slaClock: { ...DEFAULT_SLA_CLOCK, rerouteAtSlaFraction: 0 } })
        .success,
    ).toBe(false);
  });
});
