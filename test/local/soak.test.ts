import { describe, expect, it } from 'vitest';
import { defaultSoakFaults, runSoak } from '../../local/soak/soak';

/**
 * The soak of `npm run soak`, small: 300 items with 10% duplicates, 5% malformed, completions
 * out of order and the seeded fault plan, through the real handlers and state machine on
 * DynamoDB Local. The invariants are the same as the 10,000-item run's.
 */
describe('the soak, 300 items under faults', { timeout: 180_000 }, () => {
  it('loses nothing, decides each routing exactly once and never exceeds an agent capacity', async () => {
    // Act
    const result = await runSoak({
      items: 300,
      seed: 5,
      ratePerSecond: 40,
      timeScale: 600,
      agents: 16,
      faults: defaultSoakFaults(5),
      settleTimeoutMs: 90_000,
    });

    // Assess
    const { kpis, capacity, session } = result;
    expect(kpis.lost.map((outcome) => `${outcome.itemId}: ${outcome.reason}`)).toEqual([]);
    expect(result.routingViolations).toEqual([]);
    expect(capacity.violations).toEqual([]);
    expect(capacity.leaks).toEqual([]);
    expect(capacity.samples).toBeGreaterThan(5);
    expect(session.failures).toEqual([]);
    expect(session.settled).toBe(true);
    expect(result.passed).toBe(true);
    // The trouble was really there, and was handled.
    expect(Object.values(result.faultsInjected).reduce((sum, count) => sum + count, 0)).toBeGreaterThan(20);
    expect(session.log.counts.duplicateCreatedSent).toBe(30);
    expect(kpis.duplicatesIgnored.created).toBeGreaterThanOrEqual(30);
    const malformed = session.outcomes.filter((outcome) => outcome.plannedFate === 'malformed');
    expect(malformed).toHaveLength(15);
    expect(malformed.every((outcome) => outcome.final === 'rejected')).toBe(true);
    // Every item meant to complete either completed or, with the SLA clock, escalated on its own
    // deadline (timeout) into the human exception queue; no other exception is acceptable.
    const meantToComplete = session.outcomes.filter((outcome) => outcome.plannedFate === 'complete');
    const otherwise = meantToComplete.filter(
      (outcome) =>
        outcome.final !== 'completed' &&
        !(outcome.final === 'exception' && /\(timeout\)/.test(outcome.reason)),
    );
    expect(otherwise.map((outcome) => `${outcome.itemId}: ${outcome.final} ${outcome.reason}`)).toEqual([]);
    expect(kpis.byState.completed).toBeGreaterThan(meantToComplete.length / 3);
  });
});
