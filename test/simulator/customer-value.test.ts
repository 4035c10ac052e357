import { beforeAll, describe, expect, it } from 'vitest';
import type { LpSolver } from '../../domain/metrics';
import {
  evaluateCustomerValue,
  OTHERS_MAX_LOSS_POINTS,
  withGoldCustomers,
} from '../../simulator/customer-value/evaluate';
import { highsSolver } from '../../simulator/lp';
import { loadScenario } from '../../simulator/scenario';
import { buildWorkload } from '../../simulator/workload';

/**
 * The customer tier in the routing cost, measured on the simulator with the dispatcher's routing
 * code: the same arrivals run with the tier weighed in and ignored. Seeded, so the figures are
 * the same on every machine.
 */
describe('customer value in the simulator', { timeout: 300_000 }, () => {
  let solver: LpSolver;

  beforeAll(async () => {
    solver = await highsSolver();
  });

  it('draws tiers from their own stream, leaving arrivals and handling as they were', () => {
    // Prepare
    const workload = buildWorkload(loadScenario('scenarios/flexible.yaml'), 1, 11, solver);

    // Act
    const tiered = withGoldCustomers(workload, 0.2);

    // Assess
    expect(tiered.jobs.map(({ customerTier: _tier, ...job }) => job)).toEqual(workload.jobs);
    const gold = tiered.jobs.filter((job) => job.customerTier === 'gold').length / tiered.jobs.length;
    expect(gold).toBeGreaterThan(0.15);
    expect(gold).toBeLessThan(0.25);
  });

  it("raises gold items' SLA attainment and keeps the others within the stated bound", () => {
    // Act
    const result = evaluateCustomerValue({
      scenario: loadScenario('scenarios/flexible.yaml'),
      load: 1,
      replications: 2,
      seed: 1,
      solver,
    });

    // Assess
    expect(result.goldGainPoints).toBeGreaterThan(0);
    expect(result.othersChangePoints).toBeGreaterThanOrEqual(-OTHERS_MAX_LOSS_POINTS);
    expect(result.claimHolds).toBe(true);
    // Weight 0 is the control: the tier then changes nothing.
    const control = evaluateCustomerValue({
      scenario: loadScenario('scenarios/flexible.yaml'),
      load: 1,
      replications: 1,
      seed: 1,
      solver,
      customerWeight: 0,
    });
    expect(control.goldGainPoints).toBe(0);
  });
});
