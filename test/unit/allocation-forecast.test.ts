import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backtest,
  binArrivals,
  EMPTY_ERROR_TALLY,
  ForecastInputError,
  fitHoltWinters,
  fitSeasonalProfile,
  forecastArrivals,
  forecastErrors,
  type IntervalSeries,
  summariseErrors,
  tallyForecastError,
  truncateSeries,
  tuneHoltWinters,
  weekdayOfLocalDay,
} from '../../domain/allocation/forecast';
import { createStream, type RandomSource } from '../../domain/random';

/** Monday 2026-01-05 00:00 UTC. */
const MONDAY = Date.parse('2026-01-05T00:00:00Z');
const DAY_MS = 86_400_000;

/** A weekday intraday shape at 30-minute resolution: quiet nights, a morning and an afternoon peak. */
function weekdayShape(slot: number): number {
  const hour = slot / 2;
  if (hour < 7 || hour >= 21) return 1;
  return 20 + 15 * Math.sin(((hour - 7) / 14) * Math.PI) + (hour >= 13 && hour < 16 ? 10 : 0);
}

/** Weekends: a third of the volume, flat through the day. */
function weekendShape(slot: number): number {
  const hour = slot / 2;
  return hour < 9 || hour >= 18 ? 0.5 : 8;
}

/** True expected arrivals for interval `index` of a series starting on MONDAY at 30 minutes. */
function trueRate(index: number): number {
  const day = Math.floor(index / 48);
  const weekday = (day + 1) % 7; // MONDAY is weekday 1
  const slot = index % 48;
  return weekday === 0 || weekday === 6 ? weekendShape(slot) : weekdayShape(slot);
}

function poisson(random: RandomSource, mean: number): number {
  // Knuth's method is fine for the small means used here.
  const limit = Math.exp(-mean);
  let product = random.next();
  let count = 0;
  while (product > limit) {
    product *= random.next();
    count++;
  }
  return count;
}

function seriesOf(counts: number[], intervalMinutes = 30): IntervalSeries {
  return { startMs: MONDAY, intervalMinutes, utcOffsetMinutes: 0, counts };
}

describe('binArrivals', () => {
  it('counts timestamps into intervals from the local midnight and ignores those outside', () => {
    // Prepare
    const timestamps = [
      MONDAY - 1,
      MONDAY,
      MONDAY + 14 * 60_000,
      MONDAY + 15 * 60_000,
      MONDAY + 59 * 60_000,
      MONDAY + 60 * 60_000,
    ];

    // Act
    const series = binArrivals(timestamps, {
      startMs: MONDAY + 5 * 60_000,
      endMs: MONDAY + 60 * 60_000,
      intervalMinutes: 15,
    });

    // Assess
    expect(series.startMs).toBe(MONDAY);
    expect(series.counts).toEqual([2, 1, 0, 1]);
  });

  it('aligns days to local midnight with the UTC offset given', () => {
    // Prepare: 23:30 UTC on Sunday is 01:30 on Monday at UTC+2.
    const sundayLate = MONDAY - 30 * 60_000;

    // Act
    const series = binArrivals([sundayLate], {
      startMs: sundayLate,
      endMs: sundayLate + DAY_MS,
      intervalMinutes: 60,
      utcOffsetMinutes: 120,
    });

    // Assess
    expect(series.startMs).toBe(MONDAY - 2 * 3_600_000);
    expect(series.counts[1]).toBe(1);
  });

  it('refuses interval lengths that do not tile a day', () => {
    // Prepare / Act / Assess
    expect(() => binArrivals([], { startMs: MONDAY, endMs: MONDAY + DAY_MS, intervalMinutes: 25 })).toThrow(
      /divide a day/,
    );
  });
});

describe('weekdayOfLocalDay', () => {
  it('knows 2026-01-05 was a Monday', () => {
    // Prepare / Act / Assess
    expect(weekdayOfLocalDay(MONDAY / DAY_MS)).toBe(1);
  });
});

describe('fitSeasonalProfile', () => {
  it('recovers a noise-free daily and weekly seasonal series exactly', () => {
    // Prepare: three weeks of the true rates, forecast the fourth.
    const counts = Array.from({ length: 21 * 48 }, (_, index) => trueRate(index));

    // Act
    const model = fitSeasonalProfile(seriesOf(counts));
    const forecast = forecastArrivals(model, 7 * 48);

    // Assess
    const truth = Array.from({ length: 7 * 48 }, (_, index) => trueRate(21 * 48 + index));
    forecast.forEach((value, index) => {
      expect(value).toBeCloseTo(truth[index] ?? Number.NaN, 9);
    });
    // Monday–Friday pooled into one day kind, Saturday and Sunday into another.
    const kinds = model.dayKindOfWeekday;
    expect(new Set([kinds[1], kinds[2], kinds[3], kinds[4], kinds[5]]).size).toBe(1);
    expect(kinds[0]).toBe(kinds[6]);
    expect(kinds[0]).not.toBe(kinds[1]);
  });

  it('forecasts a noisy seasonal series with a WAPE close to the Poisson floor', () => {
    // Prepare
    const random = createStream(7, 'poisson-arrivals');
    const counts = Array.from({ length: 28 * 48 }, (_, index) => poisson(random, trueRate(index)));
    const series = seriesOf(counts);

    // Act
    const { forecasts, actuals, targetIndices } = backtest(
      series,
      { kind: 'seasonal-profile' },
      { fromIndex: 21 * 48, step: 3 },
    );
    const errors = forecastErrors(actuals, forecasts);

    // Assess: the floor is the error of forecasting with the true rate itself.
    const truth = targetIndices.map(trueRate);
    const floor = forecastErrors(actuals, truth);
    expect(errors.wape).toBeLessThan(floor.wape * 1.15);
    expect(Math.abs(errors.bias)).toBeLessThan(0.05);
  });

  it('follows a surge in the level within a few intervals', () => {
    // Prepare: two weeks as usual, then today at 1.8 times the usual rate since 09:00.
    const counts = Array.from({ length: 14 * 48 + 24 }, (_, index) =>
      index >= 14 * 48 + 18 ? 1.8 * trueRate(index) : trueRate(index),
    );

    // Act
    const calm = fitSeasonalProfile(seriesOf(counts.slice(0, 14 * 48 + 18)), { levelSmoothing: 0.3 });
    const surging = fitSeasonalProfile(seriesOf(counts), { levelSmoothing: 0.3 });

    // Assess
    expect(calm.level).toBeCloseTo(1, 9);
    expect(surging.level).toBeGreaterThan(1.7);
    expect(forecastArrivals(surging, 1)[0]).toBeGreaterThan(1.7 * trueRate(14 * 48 + 24));
  });

  it('keeps a single freak interval from bending the profile', () => {
    // Prepare: one weekday interval in the history with twenty times its usual count.
    const counts = Array.from({ length: 21 * 48 }, (_, index) => trueRate(index));
    const freak = 7 * 48 + 20; // Monday of the second week, 10:00
    counts[freak] = 20 * trueRate(freak);
    const series = seriesOf(counts);

    // Act
    const clipped = forecastArrivals(fitSeasonalProfile(series, { levelWindowDays: 1 }), 21)[20] ?? 0;
    const unclipped =
      forecastArrivals(fitSeasonalProfile(series, { levelWindowDays: 1, outlierClip: 1000 }), 21)[20] ?? 0;

    // Assess: fifteen weekdays pooled; the freak counts as 1.5× the median at most, not 20×.
    expect(clipped / trueRate(freak)).toBeCloseTo(15.5 / 15, 6);
    expect(unclipped / trueRate(freak)).toBeCloseTo(34 / 15, 6);
  });

  it('needs a complete day and says so', () => {
    // Prepare / Act / Assess
    expect(() => fitSeasonalProfile(seriesOf([1, 2, 3]))).toThrow(ForecastInputError);
    expect(() => fitSeasonalProfile(seriesOf([1, 2, 3]))).toThrow(/complete day/);
  });

  it('refuses a series that does not start at a local midnight', () => {
    // Prepare
    const series = { ...seriesOf(Array.from({ length: 96 }, () => 1)), startMs: MONDAY + 3_600_000 };

    // Act / Assess
    expect(() => fitSeasonalProfile(series)).toThrow(/local midnight/);
  });

  it('is deterministic and never forecasts negative arrivals', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 50 }), { minLength: 48, maxLength: 48 * 16 }),
        fc.integer({ min: 1, max: 96 }),
        (counts, horizon) => {
          // Prepare
          const series = seriesOf(counts);

          // Act
          const first = forecastArrivals(fitSeasonalProfile(series), horizon);
          const second = forecastArrivals(fitSeasonalProfile(series), horizon);

          // Assess
          expect(first).toEqual(second);
          expect(first.every((value) => value >= 0 && Number.isFinite(value))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('Holt–Winters', () => {
  const seasonLength = 24;
  const additiveTruth = (index: number) =>
    50 + 0.05 * index + 20 * Math.sin((2 * Math.PI * index) / seasonLength);

  it('recovers a noise-free additive seasonal series with a linear trend', () => {
    // Prepare
    const counts = Array.from({ length: 10 * seasonLength }, (_, index) => additiveTruth(index));

    // Act
    const model = fitHoltWinters(seriesOf(counts, 60), {
      seasonLength,
      seasonality: 'additive',
      alpha: 0.3,
      beta: 0.1,
      gamma: 0.2,
    });
    const forecast = forecastArrivals(model, seasonLength);

    // Assess
    forecast.forEach((value, step) => {
      expect(Math.abs(value - additiveTruth(10 * seasonLength + step))).toBeLessThan(0.5);
    });
  });

  it('recovers a multiplicative seasonal series', () => {
    // Prepare
    const truth = (index: number) => 40 * (1 + 0.6 * Math.sin((2 * Math.PI * index) / seasonLength));
    const counts = Array.from({ length: 8 * seasonLength }, (_, index) => truth(index));

    // Act
    const model = tuneHoltWinters(seriesOf(counts, 60), { seasonLength, seasonality: 'multiplicative' });
    const forecast = forecastArrivals(model, seasonLength);

    // Assess
    const errors = forecastErrors(
      Array.from({ length: seasonLength }, (_, step) => truth(8 * seasonLength + step)),
      forecast,
    );
    expect(errors.wape).toBeLessThan(0.02);
  });

  it('damps the trend when asked, so long horizons level off', () => {
    // Prepare
    const counts = Array.from({ length: 6 * seasonLength }, (_, index) => 10 + index);
    const series = seriesOf(counts, 60);

    // Act
    const undamped = forecastArrivals(fitHoltWinters(series, { seasonLength, beta: 0.2, phi: 1 }), 200);
    const damped = forecastArrivals(fitHoltWinters(series, { seasonLength, beta: 0.2, phi: 0.9 }), 200);

    // Assess
    expect(undamped[199] ?? 0).toBeGreaterThan(damped[199] ?? 0);
    expect((damped[199] ?? 0) - (damped[150] ?? 0)).toBeLessThan(1);
  });

  it('needs two seasons of history and says so', () => {
    // Prepare / Act / Assess
    expect(() => fitHoltWinters(seriesOf([1, 2, 3], 60), { seasonLength })).toThrow(/two seasons/);
  });
});

describe('forecast errors', () => {
  it('computes WAPE, MAPE and bias from textbook values', () => {
    // Prepare
    const actuals = [100, 50, 0, 50];
    const forecasts = [110, 40, 5, 50];

    // Act
    const errors = forecastErrors(actuals, forecasts);

    // Assess: |10|+|10|+|5|+0 = 25 over 200; MAPE over the three non-empty intervals (10%, 20%, 0%).
    expect(errors.wape).toBeCloseTo(0.125, 12);
    expect(errors.mape).toBeCloseTo(0.1, 12);
    expect(errors.bias).toBeCloseTo(5 / 200, 12);
  });

  it('tallies intervals one at a time to the same figures as the batch computation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 200 }), fc.double({ min: 0, max: 200, noNaN: true })), {
          minLength: 1,
          maxLength: 50,
        }),
        (pairs) => {
          // Prepare
          const actuals = pairs.map(([actual]) => actual);
          const forecasts = pairs.map(([, forecast]) => forecast);

          // Act
          let tally = EMPTY_ERROR_TALLY;
          for (const [actual, forecast] of pairs) tally = tallyForecastError(tally, actual, forecast);

          // Assess
          const batch = forecastErrors(actuals, forecasts);
          const running = summariseErrors(tally);
          expect(running.intervals).toBe(batch.intervals);
          if (Number.isNaN(batch.wape)) expect(running.wape).toBeNaN();
          else expect(running.wape).toBeCloseTo(batch.wape, 9);
        },
      ),
    );
  });

  it('refuses forecasts and actuals that do not pair up', () => {
    // Prepare / Act / Assess
    expect(() => forecastErrors([1, 2], [1])).toThrow(/pair up/);
  });

  it('backtests only on what was known at each origin', () => {
    // Prepare: a series whose last day is all zeros after a normal history.
    const counts = Array.from({ length: 3 * 48 }, (_, index) => (index >= 2 * 48 ? 0 : trueRate(index)));
    const series = seriesOf(counts);

    // Act
    const { forecasts } = backtest(series, { kind: 'seasonal-profile' }, { fromIndex: 2 * 48 });
    const fromKnownOnly = forecastArrivals(fitSeasonalProfile(truncateSeries(series, 2 * 48)), 1)[0];

    // Assess: the first forecast of the collapsed day is made before any zero was seen.
    expect(forecasts[0]).toBe(fromKnownOnly);
    expect(forecasts[0] ?? 0).toBeGreaterThan(0);
  });
});
