import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentState } from '../../domain/model';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import {
  adaptThresholds,
  type CategoryDemand,
  capacityShortfall,
  changeImpact,
  DEFAULT_TUNING_CONFIG,
  nextPolicyVersion,
  planStandby,
  ThresholdSettings,
} from '../../domain/tuning';

const fraction = fc.double({ min: 0, max: 1, noNaN: true });
const signal = fc.oneof(fraction, fc.constant(Number.NaN), fc.double({ min: -5, max: 5, noNaN: true }));

/** Guardrail settings that validate: min ≤ base ≤ max, drawn independently for both thresholds. */
const guardrail = fc
  .tuple(fraction, fraction, fraction)
  .map((values) => [...values].sort((a, b) => a - b))
  .map(([min = 0, base = 0, max = 1]) => ({ min, base, max }));

const thresholdSettings = fc
  .record({
    minConfidence: guardrail,
    maxAutoRisk: guardrail,
    maxStepPerCycle: fc.double({ min: 0, max: 0.5, noNaN: true }),
    minChange: fc.double({ min: 0, max: 0.05, noNaN: true }),
    errorGain: fc.double({ min: 0, max: 10, noNaN: true }),
    reopenGain: fc.double({ min: 0, max: 10, noNaN: true }),
    loadGain: fc.double({ min: 0, max: 10, noNaN: true }),
  })
  .map((overrides) => ThresholdSettings.parse({ ...overrides, minCompletions: 1 }));

const policyWithThresholds = fc
  .record({ minConfidence: fraction, maxAutoRisk: fraction })
  .map((thresholds): Policy => ({ ...DEFAULT_POLICY, ...thresholds }));

describe('adaptive thresholds', () => {
  it('never leaves the guardrails and never moves further than the step, whatever the signals', () => {
    fc.assert(
      fc.property(
        policyWithThresholds,
        thresholdSettings,
        fc.record({ largeErrorRate: signal, reopenRate: signal, occupancy: signal }),
        (policy, settings, signals) => {
          // Act
          const { policy: adapted } = adaptThresholds(policy, { ...signals, completions: 1000 }, settings);

          // Assess
          for (const field of ['minConfidence', 'maxAutoRisk'] as const) {
            const guard = settings[field];
            const inside = Math.min(guard.max, Math.max(guard.min, policy[field]));
            expect(adapted[field]).toBeGreaterThanOrEqual(guard.min);
            expect(adapted[field]).toBeLessThanOrEqual(guard.max);
            expect(Math.abs(adapted[field] - inside)).toBeLessThanOrEqual(settings.maxStepPerCycle + 1e-4);
          }
          const { minConfidence: _c, maxAutoRisk: _r, ...rest } = adapted;
          const { minConfidence: _c0, maxAutoRisk: _r0, ...before } = policy;
          expect(rest).toEqual(before);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('sends more items to people when predictions are often far off, and fewer when everyone is busy', () => {
    const settings = DEFAULT_TUNING_CONFIG.thresholds;
    const policy = { ...DEFAULT_POLICY, minConfidence: 0.05, maxAutoRisk: 0.9 };

    const erratic = adaptThresholds(
      policy,
      { completions: 500, largeErrorRate: 0.8, reopenRate: 0.05, occupancy: 0.8 },
      settings,
    );
    const busy = adaptThresholds(
      policy,
      { completions: 500, largeErrorRate: 0.4, reopenRate: 0.05, occupancy: 1 },
      settings,
    );

    expect(erratic.policy.minConfidence).toBeGreaterThan(policy.minConfidence);
    expect(busy.policy.maxAutoRisk).toBeGreaterThan(policy.maxAutoRisk);
  });

  it('leaves the policy alone with too few completions to judge', () => {
    const result = adaptThresholds(
      DEFAULT_POLICY,
      { completions: 3, largeErrorRate: 1, reopenRate: 1, occupancy: 1 },
      DEFAULT_TUNING_CONFIG.thresholds,
    );

    expect(result.changes).toEqual([]);
    expect(result.policy).toBe(DEFAULT_POLICY);
  });
});

function agent(
  agentId: string,
  skills: Record<string, number>,
  status: AgentState['status'] = 'available',
): AgentState {
  return {
    agentId,
    kind: 'person',
    status,
    skills: Object.entries(skills).map(([skill, proficiency]) => ({ skill, proficiency })),
    capacity: 1,
    activeCount: 0,
    idleSince: 0,
  };
}

const DEMANDS: CategoryDemand[] = [
  {
    category: 'billing',
    arrivalsPerSecond: 0.02,
    handlingSeconds: 300,
    requiredSkills: [{ skill: 'billing', minProficiency: 1 }],
  },
  {
    category: 'vip',
    arrivalsPerSecond: 0.01,
    handlingSeconds: 400,
    requiredSkills: [{ skill: 'billing', minProficiency: 4 }],
  },
];

describe('capacity check', () => {
  it('finds the short group of categories even when the workforce as a whole has room', () => {
    // Prepare: 10 billing agents, 2 seniors; vip needs 4 busy slots, only seniors can take it.
    const roster = [
      ...Array.from({ length: 10 }, (_, index) => agent(`b-${index}`, { billing: 3 })),
      agent('s-0', { billing: 5 }),
      agent('s-1', { billing: 5 }),
    ];

    // Act
    const check = capacityShortfall(DEMANDS, roster, 0.8);

    // Assess: 10 busy slots of 12 overall (0.83), but vip alone needs 4 / 0.8 = 5 of its 2.
    expect(check.occupancy).toBeCloseTo(10 / 12, 5);
    expect(check.worst?.categories).toEqual(['vip']);
    expect(check.worst?.shortfallSlots).toBeCloseTo(3, 5);
  });

  it('calls the people skilled for the scarce category first, and only as many as the guardrails allow', () => {
    const roster = [
      ...Array.from({ length: 10 }, (_, index) => agent(`b-${index}`, { billing: 3 })),
      agent('s-0', { billing: 5 }),
    ];
    const standby = [
      agent('a-generalist', { billing: 3 }, 'offline'),
      agent('z-senior-1', { billing: 4 }, 'offline'),
      agent('z-senior-2', { billing: 4 }, 'offline'),
      agent('z-senior-3', { billing: 4 }, 'offline'),
      agent('z-senior-4', { billing: 4 }, 'offline'),
    ];

    const plan = planStandby({
      demands: DEMANDS,
      onDuty: roster,
      standby,
      targetOccupancy: 0.8,
      autoAllowed: 2,
      maxTotal: 3,
    });

    expect(plan.activations).toEqual([
      { agentId: 'z-senior-1', decision: 'auto' },
      { agentId: 'z-senior-2', decision: 'auto' },
      { agentId: 'z-senior-3', decision: 'approval' },
    ]);
  });

  it('never calls more than allowed, never anyone twice, and only people from the standby list', () => {
    const skills = fc.dictionary(
      fc.constantFrom('billing', 'tech', 'orders'),
      fc.integer({ min: 1, max: 5 }),
      { minKeys: 1 },
    );
    fc.assert(
      fc.property(
        fc.array(skills, { minLength: 0, maxLength: 12 }),
        fc.array(skills, { minLength: 0, maxLength: 12 }),
        fc.array(fc.double({ min: 0, max: 0.05, noNaN: true }), { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 8 }),
        (rosterSkills, standbySkills, rates, autoAllowed, maxTotal) => {
          const demands: CategoryDemand[] = ['billing', 'tech', 'orders'].map((category, index) => ({
            category,
            arrivalsPerSecond: rates[index] ?? 0,
            handlingSeconds: 300,
            requiredSkills: [{ skill: category, minProficiency: 2 }],
          }));
          const standby = standbySkills.map((held, index) => agent(`sb-${index}`, held, 'offline'));
          const plan = planStandby({
            demands,
            onDuty: rosterSkills.map((held, index) => agent(`on-${index}`, held)),
            standby,
            targetOccupancy: 0.85,
            autoAllowed,
            maxTotal,
          });
          const ids = plan.activations.map((entry) => entry.agentId);
          expect(ids.length).toBeLessThanOrEqual(maxTotal);
          expect(new Set(ids).size).toBe(ids.length);
          expect(ids.every((id) => standby.some((candidate) => candidate.agentId === id))).toBe(true);
          expect(plan.activations.filter((entry) => entry.decision === 'auto').length).toBeLessThanOrEqual(
            autoAllowed,
          );
          expect(plan.after.totalShortfallSlots).toBeLessThanOrEqual(plan.before.totalShortfallSlots + 1e-9);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('policy versions and impact', () => {
  it('names the loop’s versions after the active one, without piling up suffixes', () => {
    expect(nextPolicyVersion('default-1', 1)).toBe('default-1+t1');
    expect(nextPolicyVersion('default-1+t6', 7)).toBe('default-1+t7');
  });

  it('holds a new routing strategy or a large weight change for approval, not a small weight change', () => {
    const settings = DEFAULT_TUNING_CONFIG.approval;
    const base: Policy = { ...DEFAULT_POLICY, routing: { strategy: 'flowtune', weights: { sla: 4 } } };

    const strategy = changeImpact(
      base,
      { ...base, version: 'v2', routing: { strategy: 'round-robin', weights: {} } },
      settings,
    );
    const large = changeImpact(
      base,
      { ...base, version: 'v2', routing: { strategy: 'flowtune', weights: { sla: 8 } } },
      settings,
    );
    const small = changeImpact(
      base,
      { ...base, version: 'v2', routing: { strategy: 'flowtune', weights: { sla: 4.4 } } },
      settings,
    );
    const thresholds = changeImpact(base, { ...base, version: 'v2', minConfidence: 0.3 }, settings);

    expect(strategy.highImpact).toBe(true);
    expect(large.highImpact).toBe(true);
    expect(small).toEqual({ changes: ['routing.weights.sla'], highImpact: false, reasons: [] });
    expect(thresholds).toEqual({ changes: ['minConfidence'], highImpact: false, reasons: [] });
  });
});
