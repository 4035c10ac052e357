import { describe, expect, it } from 'vitest';
import { defaultSoakFaults, runSoak } from '../../local/soak/soak';

/**
 * The soak of `npm run soak`, small: 300 items with 10% duplicates, 5% malformed, completions
 * out of order and the seeded fault plan, through the real handlers and state machine on
 * DynamoDB Local, on virtual time. The invariants are the same as the 10,000-item run's.
 *
 * On virtual time the run is a function of the seed, so the figures are exact: what seed 5
 * gives, the same on an idle laptop and beside a CPU hog. A change to the workload plan, to the
 * calls a handler makes (each SDK call draws from the fault plan's seeded streams) or to the
 * fault plan changes them: re-read them from a run and say why in the commit. A run that differs
 * from the previous one without such a change is a determinism defect, not a flaky test.
 */
describe('the soak, 300 items under faults', { timeout: 900_000 }, () => {
  it('loses nothing, decides each routing exactly once, never exceeds an agent capacity, and ends the same on every machine', async () => {
    // Act
    const result = await runSoak({
      items: 300,
      seed: 5,
      arrivalsPerMinute: 4,
      agents: 16,
      faults: defaultSoakFaults(5),
    });

    // Assess
    const { kpis, capacity, session } = result;
    expect(kpis.lost.map((outcome) => `${outcome.itemId}: ${outcome.reason}`)).toEqual([]);
    expect(result.routingViolations).toEqual([]);
    expect(capacity.violations).toEqual([]);
    expect(capacity.leaks).toEqual([]);
    expect(session.failures).toEqual([]);
    expect(session.settled).toBe(true);
    expect(result.passed).toBe(true);
    // The trouble was really there, and was handled.
    expect(session.log.counts.duplicateCreatedSent).toBe(30);
    expect(kpis.duplicatesIgnored.created).toBeGreaterThanOrEqual(30);
    const malformed = session.outcomes.filter((outcome) => outcome.plannedFate === 'malformed');
    expect(malformed).toHaveLength(15);
    expect(malformed.every((outcome) => outcome.final === 'rejected')).toBe(true);
    // Exactly what seed 5 yields on virtual time: where every item ended, the faults injected,
    // the capacity samples (one every 30 simulated seconds).
    expect(kpis.byState).toEqual({
      completed: 279,
      rejected: 15,
      cancelled: 2,
      closed: 0,
      exception: 4,
      lost: 0,
    });
    expect(
      session.outcomes
        .filter((outcome) => outcome.final === 'exception')
        .map((outcome) => `${outcome.itemId} (${outcome.plannedFate}): ${outcome.reason}`),
    ).toEqual([
      'ORD-00035 (never-completes): in the exception queue: escalated after 2 attempt(s) (timeout)',
      'TCK-00051 (never-completes): in the exception queue: escalated after 2 attempt(s) (timeout)',
      'TCK-00102 (complete): in the exception queue: escalated after 1 attempt(s) (timeout)',
      'CLM-00246 (complete): in the exception queue: escalated after 1 attempt(s) (timeout)',
    ]);
    expect(result.faultsInjected).toEqual({
      'sdk-throttle': 75,
      'sdk-error': 28,
      crash: 23,
      error: 9,
      throttle: 26,
      timeout: 32,
    });
    expect(capacity.samples).toBe(197);
    expect(kpis.reroutes).toBe(2);
    expect(kpis.slaAttainment).toBeCloseTo(0.9858657243816255, 12);
    expect(result.simulatedHours).toBeCloseTo(5 / 3, 9);
  });
});
