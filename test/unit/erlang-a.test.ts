import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { erlangA, erlangC } from '../../domain/metrics/erlang';
import { createStream, exponential } from '../../domain/random';

/**
 * Monte Carlo M/M/n+M, first come first served: each caller starts service when the earliest
 * server frees after every earlier caller who stayed; a caller whose patience runs out first
 * abandons and uses no server. Service level = answered within T / all arrivals.
 */
function simulateErlangA(input: {
  readonly agents: number;
  readonly arrivalRate: number;
  readonly meanHandlingSeconds: number;
  readonly meanPatienceSeconds: number;
  readonly targetSeconds: number;
  readonly arrivals: number;
  readonly seed: number;
}): { serviceLevel: number; abandonment: number } {
  const random = createStream(input.seed, 'erlang-a');
  const freeAt = new Array<number>(input.agents).fill(0);
  let now = 0;
  let within = 0;
  let abandoned = 0;
  for (let caller = 0; caller < input.arrivals; caller++) {
    now += exponential(random, 1 / input.arrivalRate);
    let server = 0;
    for (let index = 1; index < input.agents; index++)
      if ((freeAt[index] ?? 0) < (freeAt[server] ?? 0)) server = index;
    const start = Math.max(now, freeAt[server] ?? 0);
    const wait = start - now;
    if (wait > exponential(random, input.meanPatienceSeconds)) {
      abandoned++;
      continue;
    }
    if (wait <= input.targetSeconds) within++;
    freeAt[server] = start + exponential(random, input.meanHandlingSeconds);
  }
  return { serviceLevel: within / input.arrivals, abandonment: abandoned / input.arrivals };
}

describe('Erlang A service level', () => {
  it.each([
    { agents: 10, arrivalRate: 8 / 60, meanHandlingSeconds: 60, meanPatienceSeconds: 120, targetSeconds: 20 },
    {
      agents: 10,
      arrivalRate: 12 / 60,
      meanHandlingSeconds: 60,
      meanPatienceSeconds: 120,
      targetSeconds: 20,
    },
    { agents: 5, arrivalRate: 6 / 60, meanHandlingSeconds: 60, meanPatienceSeconds: 30, targetSeconds: 60 },
  ])(
    'matches a simulated M/M/n+M queue where abandoners count as misses ($agents agents, patience $meanPatienceSeconds s)',
    (queue) => {
      // Prepare
      const simulated = simulateErlangA({ ...queue, arrivals: 200_000, seed: 7 });

      // Act
      const analytic = erlangA(
        queue.agents,
        queue.arrivalRate,
        queue.meanHandlingSeconds,
        queue.meanPatienceSeconds,
        queue.targetSeconds,
      );

      // Assess: the abandonment is exact; the service level within simulation noise and the approximation.
      expect(Math.abs(analytic.abandonment - simulated.abandonment)).toBeLessThan(0.005);
      expect(Math.abs(analytic.serviceLevel - simulated.serviceLevel)).toBeLessThan(0.01);
    },
  );

  it('counts callers who abandon before the target time as misses (the service level never exceeds the share not abandoning)', () => {
    // Prepare: very impatient callers (mean 30 s) against a 60 s target: many leave before 60 s.
    const queue = erlangA(5, 6 / 60, 60, 30, 60);

    // Assess: the old definition put this at 99.95 %; every abandoner is a miss.
    expect(queue.abandonment).toBeGreaterThan(0.25);
    expect(queue.serviceLevel).toBeLessThanOrEqual(1 - queue.abandonment + 1e-12);
  });

  it('answers within 0 s exactly those who find a free agent', () => {
    // Act
    const queue = erlangA(10, 9 / 60, 60, 120, 0);

    // Assess
    expect(queue.serviceLevel).toBeCloseTo(1 - queue.probabilityOfWait, 12);
  });

  it('approaches Erlang C as patience grows without bound', () => {
    // Act
    const patient = erlangA(10, 8 / 60, 60, 1e9, 20);
    const noAbandonment = erlangC(10, 8 / 60, 60, 20);

    // Assess
    expect(patient.serviceLevel).toBeCloseTo(noAbandonment.serviceLevel, 6);
  });

  it('stays a probability below the share not abandoning, for any load, patience and target', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0.001, max: 2, noNaN: true }),
        fc.double({ min: 10, max: 900, noNaN: true }),
        fc.double({ min: 5, max: 3600, noNaN: true }),
        fc.integer({ min: 0, max: 600 }),
        (agents, arrivalRate, handling, patience, within) => {
          // Act
          const queue = erlangA(agents, arrivalRate, handling, patience, within);

          // Assess
          expect(queue.serviceLevel).toBeGreaterThanOrEqual(0);
          expect(queue.serviceLevel).toBeLessThanOrEqual(1 - queue.abandonment + 1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stays accurate when the departures expected within the target run into the thousands', () => {
    // Prepare: 3,000 agents, 30 s handling, a 60 s target: n·μ·T = 6,000 (e^−6000 underflows).
    const queue = erlangA(3000, 99, 30, 60, 60);

    // Assess: finite and consistent, not 0 from an underflowed Poisson sum.
    expect(Number.isFinite(queue.serviceLevel)).toBe(true);
    expect(queue.serviceLevel).toBeGreaterThan(0.9);
  });
});
