import {
  backtest,
  binArrivals,
  type ForecastErrors,
  fitSeasonalProfile,
  forecastArrivals,
  forecastErrors,
  type IntervalSeries,
  localMidnight,
  type SeasonalProfileOptions,
  truncateSeries,
  tuneSeasonalProfile,
} from '../../domain/allocation/forecast';
import type { CallArrival } from './bank-log';

/**
 * Forecast accuracy on a real call-centre log: hourly arrivals per call type (queue), with the
 * last `holdoutDays` days held out. Each queue's options are tuned on the week of history before
 * the hold-out (never on the hold-out), then every hold-out hour is forecast from what was known
 * at its start (rolling origin, one hour ahead, the allocation job's near-term use) and, as a
 * harder check, from the midnight before (day ahead). The total is the sum of the queue
 * forecasts (bottom-up), since staffing needs queues and the total follows from them.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface QueueForecastResult {
  readonly queue: string;
  readonly holdoutArrivals: number;
  readonly options: Pick<SeasonalProfileOptions, 'levelSmoothing' | 'outlierClip' | 'minExpectedForLevel'>;
  readonly validationWape: number;
  readonly oneHourAhead: ForecastErrors;
}

export interface ForecastEvaluation {
  readonly calls: number;
  readonly days: number;
  readonly holdoutDays: number;
  readonly holdoutStart: string;
  readonly queues: readonly QueueForecastResult[];
  /** Total hourly arrivals, one hour ahead, sum of the queue forecasts: the headline figure. */
  readonly totalOneHourAhead: ForecastErrors;
  /** Total hourly arrivals forecast at the midnight before each hold-out day. */
  readonly totalDayAhead: ForecastErrors;
  /** One model on the total instead of the sum of queues, one hour ahead (for comparison). */
  readonly totalSingleModel: ForecastErrors;
  /** Same hour one week earlier (the naive seasonal baseline). */
  readonly totalSeasonalNaive: ForecastErrors;
  /**
   * WAPE a forecaster knowing each hour's true Poisson rate would still make (≈ Σ√(2λ/π) / Σλ,
   * with λ the actual count): the part of the error no model can remove.
   */
  readonly poissonFloorWape: number;
}

function hourlySeries(timestamps: readonly number[], startMs: number, endMs: number): IntervalSeries {
  return binArrivals(timestamps, { startMs, endMs, intervalMinutes: 60 });
}

function addInto(target: number[], values: readonly number[]): void {
  values.forEach((value, index) => {
    target[index] = (target[index] ?? 0) + value;
  });
}

/** Forecasts of each hold-out day made at its midnight, concatenated. */
function dayAheadForecasts(
  series: IntervalSeries,
  options: SeasonalProfileOptions,
  holdoutFrom: number,
): number[] {
  const forecasts: number[] = [];
  for (let origin = holdoutFrom; origin < series.counts.length; origin += 24) {
    const model = fitSeasonalProfile(truncateSeries(series, origin), options);
    forecasts.push(...forecastArrivals(model, Math.min(24, series.counts.length - origin)));
  }
  return forecasts;
}

/**
 * Runs the evaluation on parsed call arrivals.
 *
 * @example
 * const evaluation = evaluateForecastOnCalls(readBankLog(), { holdoutDays: 7 });
 * evaluation.totalOneHourAhead.wape; // ≈ 0.15
 */
export function evaluateForecastOnCalls(
  calls: readonly CallArrival[],
  options: { readonly holdoutDays?: number; readonly validationDays?: number } = {},
): ForecastEvaluation {
  const holdoutDays = options.holdoutDays ?? 7;
  const validationDays = options.validationDays ?? 7;
  const first = calls[0];
  const last = calls[calls.length - 1];
  if (first === undefined || last === undefined) throw new Error('no calls to evaluate on');
  const startMs = localMidnight(first.arrivalMs, 0);
  const endMs = localMidnight(last.arrivalMs, 0) + DAY_MS;
  const days = Math.round((endMs - startMs) / DAY_MS);
  if (days < holdoutDays + validationDays + 1) {
    throw new Error(
      `the log covers ${days} days; evaluation needs ${holdoutDays} hold-out + ${validationDays} validation + 1`,
    );
  }
  const holdoutFrom = (days - holdoutDays) * 24;
  const total = hourlySeries(
    calls.map((call) => call.arrivalMs),
    startMs,
    endMs,
  );
  const actual = total.counts.slice(holdoutFrom);

  const queueNames = [...new Set(calls.map((call) => call.type))].sort();
  const oneHourSum: number[] = [];
  const dayAheadSum: number[] = [];
  const queues: QueueForecastResult[] = queueNames.map((queue) => {
    const series = hourlySeries(
      calls.filter((call) => call.type === queue).map((call) => call.arrivalMs),
      startMs,
      endMs,
    );
    const tuned = tuneSeasonalProfile(truncateSeries(series, holdoutFrom), {
      validationDays,
      minExpectedForLevel: [1, 2, 5],
    });
    const rolling = backtest(
      series,
      { kind: 'seasonal-profile', options: tuned.options },
      { fromIndex: holdoutFrom },
    );
    addInto(oneHourSum, rolling.forecasts);
    addInto(dayAheadSum, dayAheadForecasts(series, tuned.options, holdoutFrom));
    return {
      queue,
      holdoutArrivals: rolling.actuals.reduce((sum, value) => sum + value, 0),
      options: {
        levelSmoothing: tuned.options.levelSmoothing,
        outlierClip: tuned.options.outlierClip,
        minExpectedForLevel: tuned.options.minExpectedForLevel,
      },
      validationWape: tuned.validationWape,
      oneHourAhead: forecastErrors(rolling.actuals, rolling.forecasts),
    };
  });

  const singleTuned = tuneSeasonalProfile(truncateSeries(total, holdoutFrom), {
    validationDays,
    minExpectedForLevel: [1, 2, 5],
  });
  const single = backtest(
    total,
    { kind: 'seasonal-profile', options: singleTuned.options },
    { fromIndex: holdoutFrom },
  );
  const naive = actual.map((_, index) => total.counts[holdoutFrom + index - 7 * 24] ?? 0);
  const floorNumerator = actual.reduce((sum, count) => sum + Math.sqrt((2 * count) / Math.PI), 0);
  const actualTotal = actual.reduce((sum, count) => sum + count, 0);

  return {
    calls: calls.length,
    days,
    holdoutDays,
    holdoutStart: new Date(startMs + holdoutFrom * HOUR_MS).toISOString().slice(0, 10),
    queues,
    totalOneHourAhead: forecastErrors(actual, oneHourSum),
    totalDayAhead: forecastErrors(actual, dayAheadSum),
    totalSingleModel: forecastErrors(actual, single.forecasts),
    totalSeasonalNaive: forecastErrors(actual, naive),
    poissonFloorWape: actualTotal > 0 ? floorNumerator / actualTotal : Number.NaN,
  };
}

function percent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : 'n/a';
}

/** A plain-text report of the evaluation. */
export function formatForecastEvaluation(evaluation: ForecastEvaluation): string {
  const lines = [
    `Anonymous Bank call centre (Technion SEE lab, Mandelbaum & Guedj): ${evaluation.calls} calls over ${evaluation.days} days`,
    `hold-out: the last ${evaluation.holdoutDays} days from ${evaluation.holdoutStart}; hourly arrivals; options tuned on the week before`,
    '',
    'total hourly arrivals                         WAPE    MAPE    bias',
    ...(
      [
        ['sum of queue forecasts, 1 hour ahead', evaluation.totalOneHourAhead],
        ['sum of queue forecasts, day ahead', evaluation.totalDayAhead],
        ['one model on the total, 1 hour ahead', evaluation.totalSingleModel],
        ['same hour last week (naive)', evaluation.totalSeasonalNaive],
      ] as const
    ).map(
      ([label, errors]) =>
        `  ${label.padEnd(44)}${percent(errors.wape).padStart(6)}  ${percent(errors.mape).padStart(6)}  ${percent(errors.bias).padStart(6)}`,
    ),
    `  Poisson floor (error even with the true rate)  ${percent(evaluation.poissonFloorWape).padStart(5)}`,
    '',
    'per queue, 1 hour ahead        calls   WAPE   (validation)  level α  clip  min expected',
    ...evaluation.queues.map(
      (queue) =>
        `  ${queue.queue.padEnd(26)}${String(queue.holdoutArrivals).padStart(7)}  ${percent(queue.oneHourAhead.wape).padStart(6)}  (${percent(queue.validationWape).padStart(6)})     ${queue.options.levelSmoothing.toFixed(2)}   ${queue.options.outlierClip.toFixed(1)}   ${queue.options.minExpectedForLevel}`,
    ),
  ];
  return lines.join('\n');
}
