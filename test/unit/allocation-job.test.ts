import { describe, expect, it } from 'vitest';
import {
  AllocationSettings,
  type ArrivalDay,
  historyStartMs,
  offloadPolicyVersion,
  policyWithAutomation,
  queueSeries,
  rollUpArrivals,
  routineWorkOf,
  scoreForecasts,
} from '../../domain/allocation/job';
import { DEFAULT_POLICY } from '../../domain/policy';
import { emptyBucket, type ObservationBucket } from '../../domain/tuning/observations';

const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const DAY = 86_400_000;
const MIDNIGHT = Date.parse('2026-11-20T00:00:00Z');

const SETTINGS = AllocationSettings.parse({
  queues: [
    {
      queueId: 'cards',
      categories: ['cards', 'card-activation'],
      requiredSkills: [{ skill: 'cards' }],
      target: { fraction: 0.8, withinSeconds: 60 },
    },
    { queueId: 'loans', requiredSkills: [{ skill: 'loans' }], target: { fraction: 0.8, withinSeconds: 120 } },
  ],
  policy: { version: 'alloc-1', offload: { categories: ['card-activation'] } },
});

function bucket(start: number, arrivals: Record<string, number>): ObservationBucket {
  return { ...emptyBucket(start, 60), arrivals };
}

describe('allocation settings', () => {
  it('refuses a category claimed by two queues: an item belongs to one queue', () => {
    // Act
    const parsed = AllocationSettings.safeParse({
      queues: [
        {
          queueId: 'cards',
          categories: ['cards', 'fraud'],
          requiredSkills: [{ skill: 'cards' }],
          target: { fraction: 0.8, withinSeconds: 60 },
        },
        {
          queueId: 'fraud',
          requiredSkills: [{ skill: 'fraud' }],
          target: { fraction: 0.8, withinSeconds: 60 },
        },
      ],
      policy: { version: 'alloc-1' },
    });

    // Assess
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe(
      'category "fraud" already belongs to queue "cards"; an item belongs to one queue',
    );
  });
});

describe('arrival rollups', () => {
  it('counts each bucket into its interval and category, and writes the same counts when rolled up again', () => {
    // Prepare
    const buckets = [
      bucket(MIDNIGHT + 9 * 60 * MINUTE, { cards: 3, loans: 1 }),
      bucket(MIDNIGHT + 9 * 60 * MINUTE + 14 * MINUTE, { cards: 2 }),
      bucket(MIDNIGHT + 9 * 60 * MINUTE + 15 * MINUTE, { 'card-activation': 4 }),
    ];
    const window = {
      fromMs: MIDNIGHT + 9 * 60 * MINUTE,
      toMs: MIDNIGHT + 10 * 60 * MINUTE,
      intervalMinutes: 15,
    };

    // Act
    const once = rollUpArrivals([], buckets, window);
    const twice = rollUpArrivals(once, buckets, window);

    // Assess: 09:00 is interval 36 of the day.
    const [day] = once;
    expect(day?.day).toBe('2026-11-20');
    expect(day?.counts.cards?.slice(36, 38)).toEqual([5, 0]);
    expect(day?.counts['card-activation']?.slice(36, 38)).toEqual([0, 4]);
    expect(day?.counts.loans?.[36]).toBe(1);
    expect(twice).toEqual(once);
  });

  it('replaces only the window it rolls up, keeping the intervals before it', () => {
    // Prepare: 08:00 already rolled up; the window is 09:00–09:15 with nothing observed.
    const stored: ArrivalDay[] = [
      { day: '2026-11-20', intervalMinutes: 15, counts: { cards: Array.from({ length: 96 }, () => 7) } },
    ];

    // Act
    const [day] = rollUpArrivals(stored, [], {
      fromMs: MIDNIGHT + 9 * 60 * MINUTE,
      toMs: MIDNIGHT + 9 * 60 * MINUTE + QUARTER,
      intervalMinutes: 15,
    });

    // Assess
    expect(day?.counts.cards?.slice(35, 38)).toEqual([7, 0, 7]);
  });

  it('sums a queue’s categories into its series and measures a routine category’s share of it', () => {
    // Prepare: one full day, 16 cards, 4 activations and 4 loans calls a quarter.
    const day: ArrivalDay = {
      day: '2026-11-19',
      intervalMinutes: 15,
      counts: {
        cards: Array.from({ length: 96 }, () => 16),
        'card-activation': Array.from({ length: 96 }, () => 4),
        loans: Array.from({ length: 96 }, () => 4),
      },
    };

    // Act
    const series = queueSeries(SETTINGS, [day], MIDNIGHT - DAY, MIDNIGHT);
    const routine = routineWorkOf(SETTINGS, [day], MIDNIGHT - DAY, MIDNIGHT);

    // Assess
    expect(series.cards?.counts).toHaveLength(96);
    expect(series.cards?.counts[0]).toBe(20);
    expect(series.loans?.counts[95]).toBe(4);
    expect(routine).toEqual([{ queueId: 'cards', category: 'card-activation', shareOfArrivals: 0.2 }]);
  });

  it('starts the history at the first full local day after the first observation', () => {
    // Act
    const fromMidnight = historyStartMs(
      SETTINGS,
      MIDNIGHT + 9 * 60 * MINUTE,
      MIDNIGHT - 2 * DAY + 5 * MINUTE,
    );
    const fromAfternoon = historyStartMs(
      SETTINGS,
      MIDNIGHT + 9 * 60 * MINUTE,
      MIDNIGHT - 2 * DAY + 15 * 60 * MINUTE,
    );
    const longAgo = historyStartMs(SETTINGS, MIDNIGHT + 9 * 60 * MINUTE, MIDNIGHT - 400 * DAY);

    // Assess
    expect(fromMidnight).toBe(MIDNIGHT - 2 * DAY);
    expect(fromAfternoon).toBe(MIDNIGHT - DAY);
    expect(longAgo).toBe(MIDNIGHT - 14 * DAY);
  });
});

describe('forecast error as time passes', () => {
  it('scores forecasts once their interval has settled and keeps only the recent window', () => {
    // Prepare
    const records = [
      { queueId: 'cards', start: MIDNIGHT - 20 * QUARTER, forecast: 50, actual: 10 },
      { queueId: 'cards', start: MIDNIGHT - QUARTER, forecast: 20 },
      { queueId: 'cards', start: MIDNIGHT, forecast: 20 },
    ];

    // Act
    const scored = scoreForecasts(records, () => 10, { settledUntil: MIDNIGHT, intervalMinutes: 15 });

    // Assess: the old one left the window, the last one still runs.
    expect(scored.records).toEqual([
      { queueId: 'cards', start: MIDNIGHT - QUARTER, forecast: 20, actual: 10 },
      { queueId: 'cards', start: MIDNIGHT, forecast: 20 },
    ]);
    expect(scored.recentWape).toBe(1);
  });
});

describe('offloads through the decision policy', () => {
  it('adds and removes automated categories as a new version, leaving the others alone', () => {
    // Prepare
    const active = {
      ...DEFAULT_POLICY,
      version: 'default-1+a202611200900',
      automationCategories: ['password-reset', 'card-activation'],
    };

    // Act
    const version = offloadPolicyVersion(active.version, Date.parse('2026-11-20T09:15:42Z'));
    const next = policyWithAutomation(
      active,
      { add: ['address-change'], remove: ['card-activation'] },
      version,
    );
    const unchanged = policyWithAutomation(active, { add: ['password-reset'], remove: [] }, version);

    // Assess
    expect(version).toBe('default-1+a202611200915');
    expect(next).toEqual({ ...active, version, automationCategories: ['password-reset', 'address-change'] });
    expect(unchanged).toBeUndefined();
  });
});
