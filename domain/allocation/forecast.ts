import { z } from 'zod';

/**
 * Near-term arrival forecasts per queue. Two model families, both pure and deterministic:
 *
 * - a **seasonal profile with a smoothed level** (the default): each kind of day (weekdays that
 *   look alike are pooled, e.g. Sunday–Thursday at an Israeli bank) has an intraday profile, the
 *   robust mean of past days' counts per interval; an exponentially smoothed ratio of actual to
 *   profile tracks today's level, so a surge or a quiet day is followed within a few intervals;
 * - **Holt–Winters** (additive or multiplicative seasonality, optional damped trend) for series
 *   with one dominant season and too little history to pool day kinds.
 *
 * Times are epoch ms; the calendar (day boundaries, weekdays) is read in local time through an
 * injected UTC offset, never through the machine's time zone.
 */

const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;
/** 1970-01-01 was a Thursday: weekday index (0 = Sunday) of local day 0. */
const EPOCH_WEEKDAY = 4;

/** Interval lengths that tile a day exactly. */
export const IntervalMinutes = z
  .number()
  .int()
  .min(5)
  .max(60)
  .refine((minutes) => 1440 % minutes === 0, {
    message: 'must divide a day exactly (5, 10, 15, 20, 30, 60)',
  });

/** Arrival counts in consecutive intervals, the first starting at a local midnight. */
export interface IntervalSeries {
  /** Epoch ms at which the first interval starts (a local midnight). */
  readonly startMs: number;
  readonly intervalMinutes: number;
  /** Local time = UTC + this offset; the calendar the seasonality follows. */
  readonly utcOffsetMinutes: number;
  readonly counts: readonly number[];
}

export class ForecastInputError extends Error {
  override readonly name = 'ForecastInputError';
}

function intervalsPerDay(intervalMinutes: number): number {
  return 1440 / intervalMinutes;
}

/** Local day number (days since 1970-01-01 local) of an epoch-ms instant. */
function localDay(epochMs: number, utcOffsetMinutes: number): number {
  return Math.floor((epochMs + utcOffsetMinutes * MS_PER_MINUTE) / MS_PER_DAY);
}

/** Weekday (0 = Sunday … 6 = Saturday) of a local day number. */
export function weekdayOfLocalDay(day: number): number {
  return (((day + EPOCH_WEEKDAY) % 7) + 7) % 7;
}

/** Epoch ms of the local midnight at or before `epochMs`. */
export function localMidnight(epochMs: number, utcOffsetMinutes: number): number {
  return localDay(epochMs, utcOffsetMinutes) * MS_PER_DAY - utcOffsetMinutes * MS_PER_MINUTE;
}

/** Epoch ms at which interval `index` of the series starts. */
export function intervalStartMs(series: IntervalSeries, index: number): number {
  return series.startMs + index * series.intervalMinutes * MS_PER_MINUTE;
}

/**
 * Counts arrival timestamps into intervals from `startMs` (rounded down to the local midnight)
 * up to `endMs` (exclusive); timestamps outside are ignored.
 *
 * @example
 * const series = binArrivals(callTimes, { startMs, endMs, intervalMinutes: 15, utcOffsetMinutes: 120 });
 * series.counts.length; // 96 per day
 */
export function binArrivals(
  timestampsMs: Iterable<number>,
  options: {
    readonly startMs: number;
    readonly endMs: number;
    readonly intervalMinutes: number;
    readonly utcOffsetMinutes?: number;
  },
): IntervalSeries {
  const intervalMinutes = IntervalMinutes.parse(options.intervalMinutes);
  const utcOffsetMinutes = options.utcOffsetMinutes ?? 0;
  const startMs = localMidnight(options.startMs, utcOffsetMinutes);
  const intervalMs = intervalMinutes * MS_PER_MINUTE;
  const length = Math.max(0, Math.ceil((options.endMs - startMs) / intervalMs));
  const counts = new Array<number>(length).fill(0);
  for (const timestamp of timestampsMs) {
    if (timestamp < startMs || timestamp >= options.endMs) continue;
    const index = Math.floor((timestamp - startMs) / intervalMs);
    counts[index] = (counts[index] ?? 0) + 1;
  }
  return { startMs, intervalMinutes, utcOffsetMinutes, counts };
}

/** The first `length` intervals of a series (what was known at that point). */
export function truncateSeries(series: IntervalSeries, length: number): IntervalSeries {
  return { ...series, counts: series.counts.slice(0, Math.max(0, length)) };
}

function assertAligned(series: IntervalSeries): void {
  IntervalMinutes.parse(series.intervalMinutes);
  if (localMidnight(series.startMs, series.utcOffsetMinutes) !== series.startMs) {
    throw new ForecastInputError(
      `series must start at a local midnight; ${new Date(series.startMs).toISOString()} is not one at UTC${series.utcOffsetMinutes >= 0 ? '+' : ''}${series.utcOffsetMinutes} min. Build it with binArrivals.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Seasonal profile with a smoothed level
// ---------------------------------------------------------------------------------------------

export const SeasonalProfileOptions = z.object({
  /** Weight of the newest actual/profile ratio in the level (0 = never adapt, 1 = last interval only). */
  levelSmoothing: z.number().min(0).max(1).default(0.1),
  /** Past counts further than this factor from the median of their slot are clipped before averaging. */
  outlierClip: z.number().min(1).default(1.5),
  /** Pool weekdays into day kinds (weekly seasonality) when the history allows it. */
  weekly: z.enum(['auto', 'off']).default('auto'),
  /** Complete days per weekday needed before weekdays get their own kinds. */
  minDaysPerWeekday: z.number().int().min(1).default(2),
  /** Weekdays pool when their daily volumes differ by at most this factor … */
  poolVolumeRatio: z.number().min(1).default(1.3),
  /** … and their intraday shapes by at most this L1 distance (0 = identical, 2 = disjoint). */
  poolShapeDistance: z.number().min(0).max(2).default(0.35),
  /** Intervals whose profile expects fewer arrivals than this do not move the level (ratios of tiny counts are noise). */
  minExpectedForLevel: z.number().min(0).default(5),
  /** How many days back the level is smoothed over (older days only shape the profiles). */
  levelWindowDays: z.number().int().min(1).default(7),
});
export type SeasonalProfileOptions = z.infer<typeof SeasonalProfileOptions>;
export type SeasonalProfileOptionsInput = z.input<typeof SeasonalProfileOptions>;

export interface SeasonalProfileModel {
  readonly kind: 'seasonal-profile';
  readonly options: SeasonalProfileOptions;
  readonly intervalMinutes: number;
  readonly utcOffsetMinutes: number;
  /** Epoch ms at which the first forecast interval starts (the end of the fitted series). */
  readonly originMs: number;
  /** Day kind of each weekday (index 0 = Sunday). */
  readonly dayKindOfWeekday: readonly number[];
  /** profiles[kind][slot]: expected arrivals in that slot of a day of that kind, at level 1. */
  readonly profiles: readonly (readonly number[])[];
  /** Today's level: how busy it is against the profile (1 = as usual). */
  readonly level: number;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Mean after clipping each value into [median / clip, median · clip]: one freak hour cannot bend a profile. */
function clippedMean(values: readonly number[], clip: number): number {
  if (values.length === 0) return 0;
  const centre = median(values);
  let total = 0;
  for (const value of values) {
    total += centre > 0 ? Math.min(Math.max(value, centre / clip), centre * clip) : value;
  }
  return total / values.length;
}

/** Counts of complete local days in the series, as rows of `slots` intervals, with their weekdays. */
function completeDays(series: IntervalSeries): { rows: number[][]; weekdays: number[] } {
  const slots = intervalsPerDay(series.intervalMinutes);
  const firstDay = localDay(series.startMs, series.utcOffsetMinutes);
  const rows: number[][] = [];
  const weekdays: number[] = [];
  for (let day = 0; (day + 1) * slots <= series.counts.length; day++) {
    rows.push(series.counts.slice(day * slots, (day + 1) * slots));
    weekdays.push(weekdayOfLocalDay(firstDay + day));
  }
  return { rows, weekdays };
}

/**
 * Groups weekdays into day kinds: alike in volume and in intraday shape. Each weekday starts
 * alone; weekdays are visited from the busiest and join the first kind whose founder is close
 * enough. Without enough history, every day is one kind (daily seasonality only).
 */
function dayKinds(
  rows: readonly (readonly number[])[],
  weekdays: readonly number[],
  options: SeasonalProfileOptions,
): number[] {
  const single = [0, 0, 0, 0, 0, 0, 0];
  if (options.weekly === 'off') return single;
  const byWeekday = Array.from({ length: 7 }, () => [] as (readonly number[])[]);
  rows.forEach((row, index) => {
    byWeekday[weekdays[index] ?? 0]?.push(row);
  });
  if (byWeekday.some((days) => days.length < options.minDaysPerWeekday)) return single;
  const slots = rows[0]?.length ?? 0;
  const summaries = byWeekday.map((days, weekday) => {
    // Medians: one odd day must not split a weekday off its kind.
    const profile = Array.from({ length: slots }, (_, slot) => median(days.map((day) => day[slot] ?? 0)));
    const volume = profile.reduce((sum, value) => sum + value, 0);
    const shape = profile.map((value) => (volume > 0 ? value / volume : 1 / slots));
    return { weekday, volume, shape };
  });
  const order = [...summaries].sort(
    (left, right) => right.volume - left.volume || left.weekday - right.weekday,
  );
  const kindOf = new Array<number>(7).fill(-1);
  const founders: (typeof summaries)[number][] = [];
  for (const candidate of order) {
    const kind = founders.findIndex((founder) => {
      const low = Math.min(founder.volume, candidate.volume);
      const high = Math.max(founder.volume, candidate.volume);
      const volumeRatio = low > 0 ? high / low : high === 0 ? 1 : Number.POSITIVE_INFINITY;
      let distance = 0;
      for (let slot = 0; slot < slots; slot++)
        distance += Math.abs((founder.shape[slot] ?? 0) - (candidate.shape[slot] ?? 0));
      return volumeRatio <= options.poolVolumeRatio && distance <= options.poolShapeDistance;
    });
    if (kind >= 0) kindOf[candidate.weekday] = kind;
    else {
      kindOf[candidate.weekday] = founders.length;
      founders.push(candidate);
    }
  }
  return kindOf;
}

/**
 * Fits the seasonal-profile model to a series of interval counts. Needs at least one complete
 * day; forecasts start where the series ends (which may be mid-day).
 *
 * @example
 * const model = fitSeasonalProfile(series, { levelSmoothing: 0.1 });
 * forecastArrivals(model, 4); // expected arrivals in the next four intervals
 */
export function fitSeasonalProfile(
  series: IntervalSeries,
  options: SeasonalProfileOptionsInput = {},
): SeasonalProfileModel {
  assertAligned(series);
  const parsed = SeasonalProfileOptions.parse(options);
  const slots = intervalsPerDay(series.intervalMinutes);
  const { rows, weekdays } = completeDays(series);
  if (rows.length === 0) {
    throw new ForecastInputError(
      `a seasonal profile needs at least one complete day of history; got ${series.counts.length} intervals of ${series.intervalMinutes} min (${slots} make a day)`,
    );
  }
  const dayKindOfWeekday = dayKinds(rows, weekdays, parsed);
  const kindCount = Math.max(...dayKindOfWeekday) + 1;
  const profiles = Array.from({ length: kindCount }, (_, kind) => {
    const days = rows.filter((_, index) => dayKindOfWeekday[weekdays[index] ?? 0] === kind);
    return Array.from({ length: slots }, (_, slot) =>
      clippedMean(
        days.map((day) => day[slot] ?? 0),
        parsed.outlierClip,
      ),
    );
  });
  const firstDay = localDay(series.startMs, series.utcOffsetMinutes);
  const expectedAt = (index: number): number => {
    const day = Math.floor(index / slots);
    const kind = dayKindOfWeekday[weekdayOfLocalDay(firstDay + day)] ?? 0;
    return profiles[kind]?.[index % slots] ?? 0;
  };
  let level = 1;
  const from = Math.max(0, series.counts.length - parsed.levelWindowDays * slots);
  for (let index = from; index < series.counts.length; index++) {
    const expected = expectedAt(index);
    if (expected < Math.max(parsed.minExpectedForLevel, Number.MIN_VALUE)) continue;
    level =
      parsed.levelSmoothing * ((series.counts[index] ?? 0) / expected) + (1 - parsed.levelSmoothing) * level;
  }
  return {
    kind: 'seasonal-profile',
    options: parsed,
    intervalMinutes: series.intervalMinutes,
    utcOffsetMinutes: series.utcOffsetMinutes,
    originMs: intervalStartMs(series, series.counts.length),
    dayKindOfWeekday,
    profiles,
    level,
  };
}

function forecastSeasonalProfile(model: SeasonalProfileModel, horizon: number): number[] {
  const intervalMs = model.intervalMinutes * MS_PER_MINUTE;
  const slots = intervalsPerDay(model.intervalMinutes);
  return Array.from({ length: horizon }, (_, step) => {
    const startMs = model.originMs + step * intervalMs;
    const day = localDay(startMs, model.utcOffsetMinutes);
    const slot = Math.floor((startMs - localMidnight(startMs, model.utcOffsetMinutes)) / intervalMs) % slots;
    const kind = model.dayKindOfWeekday[weekdayOfLocalDay(day)] ?? 0;
    return Math.max(0, model.level * (model.profiles[kind]?.[slot] ?? 0));
  });
}

// ---------------------------------------------------------------------------------------------
// Holt–Winters
// ---------------------------------------------------------------------------------------------

export const HoltWintersOptions = z.object({
  /** Season length in intervals; default one day. */
  seasonLength: z.number().int().min(2).optional(),
  seasonality: z.enum(['additive', 'multiplicative']).default('additive'),
  /** Level smoothing α. */
  alpha: z.number().min(0).max(1).default(0.2),
  /** Trend smoothing β (0 with phi 1: no trend). */
  beta: z.number().min(0).max(1).default(0),
  /** Seasonal smoothing γ. */
  gamma: z.number().min(0).max(1).default(0.1),
  /** Trend damping φ (1 = undamped). */
  phi: z.number().min(0).max(1).default(1),
});
export type HoltWintersOptions = z.infer<typeof HoltWintersOptions>;
export type HoltWintersOptionsInput = z.input<typeof HoltWintersOptions>;

export interface HoltWintersModel {
  readonly kind: 'holt-winters';
  readonly options: HoltWintersOptions & { readonly seasonLength: number };
  readonly intervalMinutes: number;
  readonly originMs: number;
  readonly level: number;
  readonly trend: number;
  /** Seasonal components, indexed by (series index mod seasonLength). */
  readonly seasonal: readonly number[];
  /** Number of intervals fitted (the phase of the next interval in the season). */
  readonly fittedLength: number;
  /** One-step-ahead forecasts over the fitted series after the first season (for tuning). */
  readonly oneStepForecasts: readonly number[];
}

/** Avoids dividing by zero in multiplicative seasonality (night intervals with no arrivals). */
const MULTIPLICATIVE_FLOOR = 0.5;

/**
 * Fits Holt–Winters by the classical recursions, initialised from the first two seasons
 * (trend: the change between their means; level: that trend line at the end of the first
 * season; seasonal: the mean deviation from the trend line at each phase).
 *
 * @example
 * fitHoltWinters(series, { seasonLength: 96, seasonality: 'additive', alpha: 0.2, gamma: 0.1 });
 */
export function fitHoltWinters(
  series: IntervalSeries,
  options: HoltWintersOptionsInput = {},
): HoltWintersModel {
  const parsed = HoltWintersOptions.parse(options);
  const seasonLength = parsed.seasonLength ?? intervalsPerDay(series.intervalMinutes);
  const values = series.counts;
  if (values.length < 2 * seasonLength) {
    throw new ForecastInputError(
      `Holt–Winters needs two seasons of history to start: ${2 * seasonLength} intervals, got ${values.length}`,
    );
  }
  const multiplicative = parsed.seasonality === 'multiplicative';
  const lift = (value: number) => (multiplicative ? Math.max(value, 0) + MULTIPLICATIVE_FLOOR : value);
  const seasonMean = (season: number) => {
    let total = 0;
    for (let index = season * seasonLength; index < (season + 1) * seasonLength; index++)
      total += lift(values[index] ?? 0);
    return total / seasonLength;
  };
  const firstMean = seasonMean(0);
  // Trend from the change between the first two seasons' means; none when β = 0 (a no-trend model).
  let trend = parsed.beta > 0 ? (seasonMean(1) - firstMean) / seasonLength : 0;
  // The trend line through the first season's mean at its midpoint; seasonal components are the
  // deviations from it averaged over two seasons, so a trend is not mistaken for seasonality.
  const trendLine = (index: number) => firstMean + trend * (index - (seasonLength - 1) / 2);
  const seasonal = Array.from({ length: seasonLength }, (_, phase) => {
    let total = 0;
    for (const index of [phase, phase + seasonLength]) {
      const value = lift(values[index] ?? 0);
      const line = trendLine(index);
      total += multiplicative ? value / Math.max(line, Number.MIN_VALUE) : value - line;
    }
    return total / 2;
  });
  let level = trendLine(seasonLength - 1);
  const { alpha, beta, gamma, phi } = parsed;
  const oneStepForecasts: number[] = [];
  for (let index = seasonLength; index < values.length; index++) {
    const value = lift(values[index] ?? 0);
    const phase = index % seasonLength;
    const season = seasonal[phase] ?? (multiplicative ? 1 : 0);
    const base = level + phi * trend;
    const predicted = multiplicative ? base * season : base + season;
    oneStepForecasts.push(Math.max(0, multiplicative ? predicted - MULTIPLICATIVE_FLOOR : predicted));
    const previousLevel = level;
    level = multiplicative
      ? alpha * (value / Math.max(season, Number.MIN_VALUE)) + (1 - alpha) * base
      : alpha * (value - season) + (1 - alpha) * base;
    trend = beta * (level - previousLevel) + (1 - beta) * phi * trend;
    seasonal[phase] = multiplicative
      ? gamma * (value / Math.max(level, Number.MIN_VALUE)) + (1 - gamma) * season
      : gamma * (value - level) + (1 - gamma) * season;
  }
  return {
    kind: 'holt-winters',
    options: { ...parsed, seasonLength },
    intervalMinutes: series.intervalMinutes,
    originMs: intervalStartMs(series, values.length),
    level,
    trend,
    seasonal,
    fittedLength: values.length,
    oneStepForecasts,
  };
}

function forecastHoltWinters(model: HoltWintersModel, horizon: number): number[] {
  const { seasonLength, phi, seasonality } = model.options;
  const multiplicative = seasonality === 'multiplicative';
  let damping = 0;
  return Array.from({ length: horizon }, (_, step) => {
    damping += phi ** (step + 1);
    const season = model.seasonal[(model.fittedLength + step) % seasonLength] ?? (multiplicative ? 1 : 0);
    const base = model.level + damping * model.trend;
    const value = multiplicative ? base * season - MULTIPLICATIVE_FLOOR : base + season;
    return Math.max(0, value);
  });
}

/**
 * Chooses Holt–Winters smoothing constants from a small grid by the one-step-ahead squared
 * error over the fitted series (deterministic: the first best in grid order wins).
 */
export function tuneHoltWinters(
  series: IntervalSeries,
  base: HoltWintersOptionsInput = {},
  grid: {
    readonly alpha?: readonly number[];
    readonly beta?: readonly number[];
    readonly gamma?: readonly number[];
    readonly phi?: readonly number[];
  } = {},
): HoltWintersModel {
  const alphas = grid.alpha ?? [0.05, 0.1, 0.2, 0.4, 0.6];
  const betas = grid.beta ?? [0];
  const gammas = grid.gamma ?? [0.05, 0.1, 0.2, 0.4];
  const phis = grid.phi ?? [1];
  let best: { model: HoltWintersModel; error: number } | undefined;
  for (const alpha of alphas)
    for (const beta of betas)
      for (const gamma of gammas)
        for (const phi of phis) {
          const model = fitHoltWinters(series, { ...base, alpha, beta, gamma, phi });
          const offset = model.options.seasonLength;
          let error = 0;
          model.oneStepForecasts.forEach((forecast, index) => {
            error += (forecast - (series.counts[offset + index] ?? 0)) ** 2;
          });
          if (best === undefined || error < best.error) best = { model, error };
        }
  if (best === undefined) throw new ForecastInputError('tuneHoltWinters: the grid is empty');
  return best.model;
}

// ---------------------------------------------------------------------------------------------
// Common entry points
// ---------------------------------------------------------------------------------------------

export type ForecastModel = SeasonalProfileModel | HoltWintersModel;

/**
 * Expected arrivals in each of the next `horizon` intervals after the model's origin.
 *
 * @example
 * forecastArrivals(fitSeasonalProfile(series), 4); // e.g. [31.2, 33.0, 35.8, 36.1]
 */
export function forecastArrivals(model: ForecastModel, horizon: number): number[] {
  if (!Number.isInteger(horizon) || horizon < 0) {
    throw new ForecastInputError(`horizon must be a whole number of intervals ≥ 0, got ${horizon}`);
  }
  return model.kind === 'seasonal-profile'
    ? forecastSeasonalProfile(model, horizon)
    : forecastHoltWinters(model, horizon);
}

/** Fits a model of the given kind with the given options. */
export type ForecasterSpec =
  | { readonly kind: 'seasonal-profile'; readonly options?: SeasonalProfileOptionsInput }
  | { readonly kind: 'holt-winters'; readonly options?: HoltWintersOptionsInput };

export function fitForecaster(series: IntervalSeries, spec: ForecasterSpec): ForecastModel {
  return spec.kind === 'seasonal-profile'
    ? fitSeasonalProfile(series, spec.options)
    : fitHoltWinters(series, spec.options);
}

/**
 * Rolling-origin backtest: from each origin in [fromIndex, series end), step by `step` intervals,
 * refits on what was known then and forecasts `leadIntervals` ahead; returns the forecast and
 * the actual of the interval `leadIntervals − 1` after each origin (lead 1 = the next interval).
 */
export function backtest(
  series: IntervalSeries,
  spec: ForecasterSpec,
  options: { readonly fromIndex: number; readonly leadIntervals?: number; readonly step?: number },
): { readonly forecasts: number[]; readonly actuals: number[]; readonly targetIndices: number[] } {
  const lead = options.leadIntervals ?? 1;
  const step = options.step ?? 1;
  const forecasts: number[] = [];
  const actuals: number[] = [];
  const targetIndices: number[] = [];
  for (let target = options.fromIndex; target < series.counts.length; target += step) {
    const origin = target - lead + 1;
    const model = fitForecaster(truncateSeries(series, origin), spec);
    const path = forecastArrivals(model, lead);
    forecasts.push(path[lead - 1] ?? 0);
    actuals.push(series.counts[target] ?? 0);
    targetIndices.push(target);
  }
  return { forecasts, actuals, targetIndices };
}

/**
 * Picks the seasonal-profile options with the lowest one-step WAPE over the last
 * `validationDays` days of the series (a backtest on history only, never on what is forecast).
 */
export function tuneSeasonalProfile(
  series: IntervalSeries,
  options: {
    readonly validationDays: number;
    readonly levelSmoothing?: readonly number[];
    readonly outlierClip?: readonly number[];
    readonly minExpectedForLevel?: readonly number[];
    readonly base?: SeasonalProfileOptionsInput;
  },
): { readonly options: SeasonalProfileOptions; readonly validationWape: number } {
  const slots = intervalsPerDay(series.intervalMinutes);
  const fromIndex = series.counts.length - options.validationDays * slots;
  if (fromIndex < slots) {
    throw new ForecastInputError(
      `tuning needs at least one day before the ${options.validationDays} validation day(s); the series has ${series.counts.length / slots} days`,
    );
  }
  let best: { options: SeasonalProfileOptions; validationWape: number } | undefined;
  const minExpectedGrid = options.minExpectedForLevel ?? [
    SeasonalProfileOptions.parse(options.base ?? {}).minExpectedForLevel,
  ];
  for (const levelSmoothing of options.levelSmoothing ?? [0.05, 0.1, 0.2]) {
    for (const outlierClip of options.outlierClip ?? [1.5, 2]) {
      for (const minExpectedForLevel of minExpectedGrid) {
        const candidate = SeasonalProfileOptions.parse({
          ...options.base,
          levelSmoothing,
          outlierClip,
          minExpectedForLevel,
        });
        const { forecasts, actuals } = backtest(
          series,
          { kind: 'seasonal-profile', options: candidate },
          { fromIndex },
        );
        const { wape } = forecastErrors(actuals, forecasts);
        // Strictly better only: ties keep the earlier (smoother, simpler) candidate.
        if (best === undefined || wape < best.validationWape)
          best = { options: candidate, validationWape: wape };
      }
    }
  }
  if (best === undefined) throw new ForecastInputError('tuneSeasonalProfile: the grid is empty');
  return best;
}

// ---------------------------------------------------------------------------------------------
// Forecast error
// ---------------------------------------------------------------------------------------------

/** Accuracy of forecasts against what then happened. */
export interface ForecastErrors {
  readonly intervals: number;
  readonly actualTotal: number;
  readonly forecastTotal: number;
  /** Σ|forecast − actual| / Σ actual: volume-weighted, defined whenever anything arrived. */
  readonly wape: number;
  /** Mean of |forecast − actual| / actual over intervals with arrivals (empty intervals have no percentage). */
  readonly mape: number;
  /** Σ(forecast − actual) / Σ actual: positive = over-forecast. */
  readonly bias: number;
}

/** Running sums from which ForecastErrors are read; add intervals as their actuals come in. */
export interface ErrorTally {
  readonly intervals: number;
  readonly actualTotal: number;
  readonly forecastTotal: number;
  readonly absoluteErrorTotal: number;
  readonly percentageErrorTotal: number;
  readonly intervalsWithArrivals: number;
}

export const EMPTY_ERROR_TALLY: ErrorTally = {
  intervals: 0,
  actualTotal: 0,
  forecastTotal: 0,
  absoluteErrorTotal: 0,
  percentageErrorTotal: 0,
  intervalsWithArrivals: 0,
};

/**
 * Adds one interval's forecast and actual to a tally (for tracking accuracy as time passes).
 *
 * @example
 * let tally = EMPTY_ERROR_TALLY;
 * tally = tallyForecastError(tally, 42, 40);
 * summariseErrors(tally).wape; // ≈ 0.048
 */
export function tallyForecastError(tally: ErrorTally, actual: number, forecast: number): ErrorTally {
  const error = Math.abs(forecast - actual);
  return {
    intervals: tally.intervals + 1,
    actualTotal: tally.actualTotal + actual,
    forecastTotal: tally.forecastTotal + forecast,
    absoluteErrorTotal: tally.absoluteErrorTotal + error,
    percentageErrorTotal: tally.percentageErrorTotal + (actual > 0 ? error / actual : 0),
    intervalsWithArrivals: tally.intervalsWithArrivals + (actual > 0 ? 1 : 0),
  };
}

export function summariseErrors(tally: ErrorTally): ForecastErrors {
  return {
    intervals: tally.intervals,
    actualTotal: tally.actualTotal,
    forecastTotal: tally.forecastTotal,
    wape: tally.actualTotal > 0 ? tally.absoluteErrorTotal / tally.actualTotal : Number.NaN,
    mape:
      tally.intervalsWithArrivals > 0 ? tally.percentageErrorTotal / tally.intervalsWithArrivals : Number.NaN,
    bias: tally.actualTotal > 0 ? (tally.forecastTotal - tally.actualTotal) / tally.actualTotal : Number.NaN,
  };
}

/** Errors of a list of forecasts against the matching actuals. */
export function forecastErrors(actuals: readonly number[], forecasts: readonly number[]): ForecastErrors {
  if (actuals.length !== forecasts.length) {
    throw new ForecastInputError(
      `${actuals.length} actuals but ${forecasts.length} forecasts; they must pair up`,
    );
  }
  let tally = EMPTY_ERROR_TALLY;
  actuals.forEach((actual, index) => {
    tally = tallyForecastError(tally, actual, forecasts[index] ?? 0);
  });
  return summariseErrors(tally);
}
