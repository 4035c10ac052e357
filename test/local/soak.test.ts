import { describe, expect, it } from 'vitest';
import { defaultSoakFaults, runSoak } from '../../local/soak/soak';

/**
 * The soak of `npm run soak`, small: 300 items with 10% duplicates, 5% malformed, completions
 * out of order and the seeded fault plan, through the real handlers and state machine on
 * DynamoDB Local, on virtual time. The invariants are the same as the 10,000-item run's.
 *
 * On virtual time the run is a function of the seed, so where the items end is exact: what seed 5
 * gives, the same on an idle laptop and beside a CPU hog. A change to the workload plan, to the
 * calls a handler makes (each SDK call draws from the fault plan's seeded streams) or to the
 * fault plan may change it: re-read it from a run and say why in the commit. A run that differs
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
    // Exactly what seed 5 yields on virtual time: where every item ended, and why the four in the
    // exception queue are there (two never completed by their agent, two meant to complete that
    // escalated on their own SLA timeout).
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
    // The faults (their counts move with every SDK call a handler adds, so bounds, not figures).
    const faults = result.faultsInjected;
    for (const kind of ['sdk-throttle', 'sdk-error', 'crash', 'error', 'throttle', 'timeout'])
      expect(faults[kind] ?? 0, kind).toBeGreaterThan(5);
    expect(Object.values(faults).reduce((sum, count) => sum + count, 0)).toBeGreaterThan(100);
    // One capacity sample every 30 simulated seconds of a run of under two simulated hours.
    expect(capacity.samples).toBeGreaterThan(150);
    expect(result.simulatedHours).toBeLessThan(2);
  });
});
