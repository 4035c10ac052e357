import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LpSolver } from '../../domain/metrics';
import { createPolicy, POLICY_REGISTRY } from '../../domain/routing';
import { runEngine, type SimAgent, type SimJob } from '../../simulator/engine';
import { highsSolver } from '../../simulator/lp';
import { runReplication, simulate, withPredictions } from '../../simulator/run';
import { loadScenario, parseScenario, ScenarioError } from '../../simulator/scenario';
import { buildWorkload } from '../../simulator/workload';

const TINY = join(__dirname, 'fixtures', 'tiny-scenario.yaml');
let solver: LpSolver;

beforeAll(async () => {
  solver = await highsSolver();
});

describe('scenario files', () => {
  it('load with defaults applied', () => {
    // Act
    const scenario = loadScenario(TINY);
    // Assess
    expect(scenario.name).toBe('tiny');
    expect(scenario.categories[0]?.handlingCv).toBe(1.2);
    expect(scenario.predictions).toEqual({ mode: 'learned', noiseCv: 0.5, historyPerCell: 20 });
  });

  it('are refused with the field path and the reason', () => {
    // Prepare: a category nobody can serve, and a negative share.
    const text = `
name: broken
horizonHours: 2
categories:
  - { name: x, share: -1, meanHandlingSeconds: 60, requiredSkills: [{ skill: x }], slaSeconds: 600 }
agents:
  - { group: g, count: 2, skills: { y: 3 } }
`;
    // Act & Assess
    expect(() => parseScenario(text, 'broken.yaml')).toThrow(ScenarioError);
    expect(() => parseScenario(text, 'broken.yaml')).toThrow(/categories\.0\.share: Too small/);
    expect(() => parseScenario(text, 'broken.yaml')).toThrow(
      /categories\.0\.requiredSkills: no agent group holds every skill/,
    );
  });
});

describe('workload and bounds', () => {
  it('sets the arrival rate to the load times the LP capacity of the workforce', () => {
    // Act
    const workload = buildWorkload(loadScenario(TINY), 0.8, 7, solver);
    // Assess
    expect(workload.arrivalRate).toBeCloseTo(0.8 * workload.capacityRate, 9);
    expect(workload.capacityRate).toBeGreaterThan(0);
    expect(workload.slaCeiling).toBeGreaterThan(0.5);
    expect(workload.slaCeiling).toBeLessThan(1);
  });

  it('draws the same arrivals, sizes and patience for the same seed, whatever the noise setting', () => {
    // Prepare
    const scenario = loadScenario(TINY);
    // Act
    const first = buildWorkload(scenario, 0.9, 3, solver);
    const again = buildWorkload(scenario, 0.9, 3, solver);
    const noisy = buildWorkload(withPredictions(scenario, 'noisy'), 0.9, 3, solver);
    const other = buildWorkload(scenario, 0.9, 4, solver);
    // Assess
    const arrivals = (jobs: readonly SimJob[]) =>
      jobs.map((job) => [job.arrivalAt, job.category, job.patienceSeconds]);
    expect(arrivals(again.jobs)).toEqual(arrivals(first.jobs));
    expect(arrivals(noisy.jobs)).toEqual(arrivals(first.jobs));
    expect([...noisy.sizes]).toEqual([...first.sizes]);
    expect(noisy.jobs.map((job) => job.hintSeconds)).not.toEqual(first.jobs.map((job) => job.hintSeconds));
    expect(arrivals(other.jobs)).not.toEqual(arrivals(first.jobs));
  });
});

describe('discrete-event engine', () => {
  it('is deterministic: the same workload and policy give identical metrics', () => {
    // Prepare
    const workload = buildWorkload(loadScenario(TINY), 0.9, 11, solver);
    // Act
    const first = runReplication(workload, 'flowtune').metrics;
    const second = runReplication(workload, 'flowtune').metrics;
    // Assess
    expect(second).toEqual(first);
  });

  it('runs every registered policy within the hard constraints (the engine rejects any violation)', () => {
    // Prepare
    const workload = buildWorkload(loadScenario(TINY), 1.1, 5, solver);
    for (const policy of Object.keys(POLICY_REGISTRY)) {
      // Act
      const { metrics } = runReplication(workload, policy);
      // Assess
      expect(metrics.arrivals).toBeGreaterThan(50);
      expect(metrics.completed + metrics.abandoned).toBeLessThanOrEqual(metrics.arrivals);
      expect(metrics.utilisation).toBeLessThanOrEqual(1 + 1e-9);
    }
  });

  it('abandons items whose patience runs out and never serves them', () => {
    // Prepare: one agent busy for an hour with the first job; the second gives up after 60 s.
    const agents: SimAgent[] = [{ agentId: 'a', skills: [{ skill: 's', proficiency: 3 }], capacity: 1 }];
    const job = (itemId: string, arrivalAt: number, patienceSeconds: number): SimJob => ({
      itemId,
      arrivalAt,
      category: 's',
      requiredSkills: [{ skill: 's', minProficiency: 1 }],
      priority: 3,
      slaDueAt: arrivalAt + 7200,
      patienceSeconds,
    });
    // Act
    const result = runEngine({
      agents,
      jobs: [job('first', 0, Number.POSITIVE_INFINITY), job('second', 10, 60)],
      policy: createPolicy('flowtune'),
      handlingSeconds: () => 3600,
      features: { global: { count: 0, mean: 0, m2: 0 }, byCategory: {}, byCategoryAgent: {} },
      learnOnline: true,
      useHints: false,
      window: [0, 100],
      hardStopAt: 10_000,
      epochMs: 0,
      dispatchIntervalSeconds: 0,
      keepOutcomes: true,
    });
    // Assess
    expect(
      result.outcomes?.map((outcome) => [outcome.itemId, outcome.startedAt, outcome.abandonedAt]),
    ).toEqual([
      ['first', 0, undefined],
      ['second', undefined, 70],
    ]);
    expect(result.metrics.abandonmentRate).toBe(0.5);
  });

  it('summarises replications with 95% confidence intervals and the throughput bound', () => {
    // Act
    const summary = simulate({
      scenario: loadScenario(TINY),
      policy: 'flowtune',
      load: 0.9,
      replications: 3,
      seed: 1,
      solver,
    });
    // Assess
    expect(summary.metrics.meanWait.replications).toBe(3);
    expect(summary.metrics.meanWait.halfWidth).toBeGreaterThan(0);
    expect(summary.throughputVsBound).toBeGreaterThan(0.8);
    expect(summary.throughputVsBound).toBeLessThan(1.1);
    expect(summary.reference.erlangCMeanWait).toBeGreaterThanOrEqual(0);
  });
});
