import { describe, expect, it } from 'vitest';
import {
  capacityModel,
  computeRunMetrics,
  erlangA,
  erlangC,
  estimate,
  quantile,
  solveOptimal,
  throughputModel,
} from '../../domain/metrics';
import { highsSolver } from '../../simulator/lp';

describe('statistics', () => {
  it('interpolates quantiles like R type 7', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10, 0, 5], 0.9)).toBeCloseTo(9, 9);
  });

  it('gives the Student t 95% interval over replications', () => {
    // Prepare: mean 11, sd 1, n 3 → t(2) = 4.303, half-width 4.303 / √3
    const result = estimate([10, 11, 12]);
    // Assess
    expect(result.mean).toBe(11);
    expect(result.halfWidth).toBeCloseTo(4.303 / Math.sqrt(3), 3);
  });
});

describe('queueing references', () => {
  it('matches the textbook Erlang C example (10 agents, 8 calls/min of 1 min)', () => {
    // Erlang C with A = 8, N = 10: P(wait) ≈ 0.409, mean wait ≈ 0.2045 min
    const result = erlangC(10, 8 / 60, 60, 20);
    expect(result.probabilityOfWait).toBeCloseTo(0.409, 3);
    expect(result.meanWaitSeconds).toBeCloseTo(12.27, 1);
  });

  it('gives less waiting with abandonment (Erlang A) than without, and stays finite above 100% load', () => {
    const withAbandonment = erlangA(10, 8 / 60, 60, 120, 20);
    const overloaded = erlangA(10, 12 / 60, 60, 120, 20);
    expect(withAbandonment.meanWaitSeconds).toBeLessThan(erlangC(10, 8 / 60, 60, 20).meanWaitSeconds);
    expect(overloaded.abandonment).toBeGreaterThan(0.1);
    expect(Number.isFinite(overloaded.meanWaitSeconds)).toBe(true);
  });
});

describe('static planning LPs (HiGHS)', () => {
  it('finds the capacity of a two-skill system and the throughput bound of a window', async () => {
    // Prepare: agent 0 only does A (60 s); agent 1 does A (120 s) or B (60 s); mix 50/50.
    const solver = await highsSolver();
    const system = {
      demand: [1, 1],
      agentSlots: [1, 1],
      handlingSeconds: (category: number, agent: number) =>
        agent === 0 ? (category === 0 ? 60 : Number.POSITIVE_INFINITY) : category === 0 ? 120 : 60,
    };
    // Act
    const capacity = solveOptimal(solver, capacityModel(system), 'capacity');
    const bound = solveOptimal(solver, throughputModel({ ...system, demand: [100, 10] }, 3600), 'throughput');
    // Assess: best split: agent 0 on A, agent 1 on B → s/2 ≤ 1/60 each → s = 1/30 per second.
    expect(capacity).toBeCloseTo(1 / 30, 9);
    // B is capped at 10 (600 s of agent 1); agent 0 does 60 A, agent 1 spends 3000 s on 25 A → 95.
    expect(bound).toBeCloseTo(95, 6);
  });
});

describe('run metrics', () => {
  it('counts waits of served, abandoned and unresolved items, SLA over all arrivals, and fairness', () => {
    // Act
    const metrics = computeRunMetrics({
      outcomes: [
        { arrivedAt: 0, slaDueAt: 100, startedAt: 10, completedAt: 50 },
        { arrivedAt: 0, slaDueAt: 100, startedAt: 30, completedAt: 150 },
        { arrivedAt: 0, slaDueAt: 100, abandonedAt: 20 },
        { arrivedAt: 0, slaDueAt: 100 },
      ],
      completionsInWindow: 2,
      windowSeconds: 3600,
      endedAt: 40,
      agents: [
        { agentId: 'a', busySeconds: 1800, availableSeconds: 3600 },
        { agentId: 'b', busySeconds: 900, availableSeconds: 3600 },
      ],
    });
    // Assess
    expect(metrics.meanWait).toBe((10 + 30 + 20 + 40) / 4);
    expect(metrics.slaAttainment).toBe(0.25);
    expect(metrics.abandonmentRate).toBe(0.25);
    expect(metrics.throughputPerHour).toBe(2);
    expect(metrics.utilisation).toBeCloseTo(2700 / 7200, 9);
    expect(metrics.fairness).toBe(2);
  });
});
