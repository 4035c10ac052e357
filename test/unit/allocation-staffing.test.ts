import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeStaffing,
  QueueSpec,
  queuePerformance,
  requiredServers,
  weightedServiceLevel,
} from '../../domain/allocation/staffing';
import type { AgentState, HandlingFeatures } from '../../domain/model';

const NOW = Date.parse('2026-03-02T10:00:00Z');
const QUARTER_MS = 15 * 60_000;

/** The textbook case: 100 calls per half hour, 180 s handling, 80% answered within 20 s. */
const TEXTBOOK = {
  arrivalRate: 100 / 1800,
  meanHandlingSeconds: 180,
  target: { fraction: 0.8, withinSeconds: 20 },
} as const;

function agent(overrides: Partial<AgentState> & { agentId: string }): AgentState {
  return {
    kind: 'person',
    status: 'available',
    skills: [{ skill: 'cards', proficiency: 3 }],
    capacity: 1,
    activeCount: 0,
    idleSince: NOW - 60_000,
    ...overrides,
  };
}

const FEATURES: HandlingFeatures = {
  global: { count: 2000, mean: 240, m2: 2000 * 240 * 240 },
  byCategory: { cards: { count: 1000, mean: 180, m2: 1000 * 180 * 180 } },
  byCategoryAgent: {},
};

describe('Erlang C staffing', () => {
  it('reproduces the Erlang C table for 10 Erlangs of offered load', () => {
    // Prepare: P(wait) for A = 10 and n = 11..15, from published Erlang C tables.
    const table: Record<number, number> = { 11: 0.6821, 12: 0.4494, 13: 0.2853, 14: 0.1741, 15: 0.102 };

    // Act / Assess
    for (const [servers, probability] of Object.entries(table)) {
      const performance = queuePerformance(
        Number(servers),
        TEXTBOOK.arrivalRate,
        TEXTBOOK.meanHandlingSeconds,
        TEXTBOOK.target,
      );
      expect(performance.probabilityOfWait).toBeCloseTo(probability, 4);
    }
  });

  it('needs 14 agents for 80/20 on 100 calls per half hour of 180 s (13 answer only 79.6%)', () => {
    // Prepare / Act
    const requirement = requiredServers(TEXTBOOK);
    const withThirteen = queuePerformance(13, TEXTBOOK.arrivalRate, 180, TEXTBOOK.target);

    // Assess
    expect(requirement.servers).toBe(14);
    expect(requirement.reachable).toBe(true);
    expect(requirement.performance.serviceLevel).toBeCloseTo(0.8884, 4);
    expect(withThirteen.serviceLevel).toBeCloseTo(0.7956, 4);
  });

  it('raises the requirement to respect an occupancy cap when the target alone is easy', () => {
    // Prepare: 80% within 10 minutes is met near full occupancy; a 0.85 cap needs ⌈10 / 0.85⌉ = 12.
    const easy = { ...TEXTBOOK, target: { fraction: 0.8, withinSeconds: 600 } };

    // Act
    const uncapped = requiredServers(easy);
    const capped = requiredServers({ ...easy, maxOccupancy: 0.85 });

    // Assess
    expect(uncapped.servers).toBe(11);
    expect(capped.servers).toBe(12);
  });

  it('needs nobody when nothing arrives, and answers nothing with nobody', () => {
    // Prepare / Act / Assess
    expect(requiredServers({ ...TEXTBOOK, arrivalRate: 0 }).servers).toBe(0);
    expect(queuePerformance(0, TEXTBOOK.arrivalRate, 180, TEXTBOOK.target).serviceLevel).toBe(0);
  });

  it('refuses a handling time of zero with the values it got', () => {
    // Prepare / Act / Assess
    expect(() => requiredServers({ ...TEXTBOOK, meanHandlingSeconds: 0 })).toThrow(/handling time > 0/);
  });
});

describe('Erlang A staffing', () => {
  it('approaches Erlang C as callers become endlessly patient', () => {
    // Prepare / Act
    const patient = queuePerformance(14, TEXTBOOK.arrivalRate, 180, TEXTBOOK.target, 1e9);
    const noAbandonment = queuePerformance(14, TEXTBOOK.arrivalRate, 180, TEXTBOOK.target);

    // Assess
    expect(patient.probabilityOfWait).toBeCloseTo(noAbandonment.probabilityOfWait, 3);
    expect(patient.serviceLevel).toBeCloseTo(noAbandonment.serviceLevel, 3);
  });

  it('needs no more agents than Erlang C, and fewer when callers are impatient', () => {
    // Prepare / Act
    const erlangCServers = requiredServers(TEXTBOOK).servers;
    const patient = requiredServers({ ...TEXTBOOK, meanPatienceSeconds: 1e7 }).servers;
    const impatient = requiredServers({ ...TEXTBOOK, meanPatienceSeconds: 60 }).servers;

    // Assess
    expect(patient).toBe(erlangCServers);
    expect(impatient).toBeLessThan(erlangCServers);
  });

  it('staffs an overloaded queue with abandonment (below the offered load Erlang C cannot)', () => {
    // Prepare: 10 Erlangs offered, very impatient callers, a lax target.
    const input = {
      ...TEXTBOOK,
      target: { fraction: 0.5, withinSeconds: 60 },
      meanPatienceSeconds: 30,
    };

    // Act
    const requirement = requiredServers(input);

    // Assess
    expect(requirement.reachable).toBe(true);
    expect(requirement.servers).toBeLessThanOrEqual(10);
    expect(requirement.performance.serviceLevel).toBeGreaterThanOrEqual(0.5);
  });

  it('never expects a worse service level from more agents', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0.001, max: 0.2, noNaN: true }),
        fc.double({ min: 30, max: 900, noNaN: true }),
        fc.option(fc.double({ min: 10, max: 3600, noNaN: true }), { nil: undefined }),
        fc.integer({ min: 0, max: 300 }),
        (servers, arrivalRate, handling, patience, within) => {
          // Prepare
          const target = { fraction: 0.8, withinSeconds: within };

          // Act
          const fewer = queuePerformance(servers, arrivalRate, handling, target, patience);
          const more = queuePerformance(servers + 1, arrivalRate, handling, target, patience);

          // Assess
          expect(more.serviceLevel).toBeGreaterThanOrEqual(fewer.serviceLevel - 1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('computeStaffing', () => {
  const cards = QueueSpec.parse({
    queueId: 'cards',
    requiredSkills: [{ skill: 'cards', minProficiency: 2 }],
    target: { fraction: 0.8, withinSeconds: 20 },
  });

  it('compares the Erlang requirement per interval with the assigned agents on shift', () => {
    // Prepare: 50 calls per quarter hour (the textbook rate) and handling learnt as 180 s.
    const agents = [
      ...Array.from({ length: 12 }, (_, index) => agent({ agentId: `a${index}` })),
      agent({ agentId: 'chat', capacity: 3 }),
      agent({ agentId: 'leaving', shiftEndsAt: NOW + QUARTER_MS }),
      agent({ agentId: 'offline', status: 'offline' }),
      agent({ agentId: 'novice', skills: [{ skill: 'cards', proficiency: 1 }] }),
      agent({ agentId: 'elsewhere' }),
    ];
    const assignments = Object.fromEntries(
      agents.map((member) => [member.agentId, member.agentId === 'elsewhere' ? 'loans' : 'cards']),
    );

    // Act
    const [staffing] = computeStaffing({
      forecastStartMs: NOW,
      intervalMinutes: 15,
      queues: [cards],
      forecasts: { cards: [50, 50] },
      features: FEATURES,
      agents,
      assignments,
    });

    // Assess
    expect(staffing?.predictedHandlingSeconds).toBeCloseTo(180, 0);
    expect(staffing?.peakRequiredServers).toBe(14);
    // 12 people + a 3-slot agent; "leaving" counts only in the first quarter hour.
    expect(staffing?.intervals.map((interval) => interval.onShiftServers)).toEqual([16, 15]);
    expect(staffing?.minOnShiftServers).toBe(15);
    expect(staffing?.forecastArrivalsPerHour).toBe(200);
    expect(staffing?.agentIds).toEqual(
      [...Array.from({ length: 12 }, (_, index) => `a${index}`), 'chat', 'leaving'].sort(),
    );
    expect(staffing?.expectedServiceLevel).toBeGreaterThan(0.8);
  });

  it('says which queue lacks a forecast', () => {
    // Prepare / Act / Assess
    expect(() =>
      computeStaffing({
        forecastStartMs: NOW,
        intervalMinutes: 15,
        queues: [cards],
        forecasts: { loans: [1] },
        features: FEATURES,
        agents: [],
        assignments: {},
      }),
    ).toThrow(/no forecast for queue "cards"/);
  });
});

describe('weightedServiceLevel', () => {
  it('weights each interval by its arrivals', () => {
    // Prepare: an empty interval, then the textbook interval at 13 and at 14 agents.
    const arrivals = [0, 100, 100];
    const servers = [0, 13, 14];

    // Act
    const level = weightedServiceLevel(arrivals, servers, 1800, 180, TEXTBOOK.target);

    // Assess
    expect(level).toBeCloseTo((0.7956 + 0.8884) / 2, 3);
  });
});
