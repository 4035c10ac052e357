import { z } from 'zod';
import type { AgentState, HandlingFeatures } from '../model';
import type { Policy } from '../policy';
import type { ObservationBucket } from '../tuning/observations';
import {
  EMPTY_ERROR_TALLY,
  fitSeasonalProfile,
  forecastArrivals,
  IntervalMinutes,
  type IntervalSeries,
  localMidnight,
  SeasonalProfileOptions,
  summariseErrors,
  tallyForecastError,
} from './forecast';
import { AllocationPolicy, type AllocationResult, type RoutineWork, recommendAllocation } from './recommend';
import { QueueSpec } from './staffing';

/**
 * The scheduled allocation job's pure core: its settings (queues, guardrails, forecast options,
 * stored next to the decision policy), its state between runs (recent moves for the guardrails,
 * the offloads it applied, forecasts awaiting their actuals), the arrival history rolled up from
 * the tuning loop's observation buckets into per-interval counts, and one run's plan: forecast →
 * staffing → recommendations. The Lambda (lambdas/allocation/handler.ts) reads and writes; this
 * decides.
 */

const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;
/** Recent forecast error is judged over this many intervals (all queues pooled), as in the simulator. */
export const RECENT_ERROR_INTERVALS = 8;

const Slug = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a lowercase slug');

/** A queue as the job staffs it: a QueueSpec plus the item categories that make up its demand. */
export const AllocationQueue = QueueSpec.extend({
  /**
   * Item categories (WorkItemCreated.category) that belong to this queue: their arrivals are its
   * demand and its agents take them first. Default: the handling category, else the queue id.
   */
  categories: z.array(Slug).min(1).max(50).optional(),
});
export type AllocationQueue = z.infer<typeof AllocationQueue>;

/** The categories whose items belong to `queue`. */
export function categoriesOfQueue(queue: AllocationQueue): readonly string[] {
  return queue.categories ?? [queue.category ?? queue.queueId];
}

/**
 * The allocation job's settings: a validated document stored beside the decision policy
 * (Features, pk `POLICY`, sk `ALLOCATION`), changeable at run time; its `policy` holds the
 * guardrails (moves per hour, floors, cooldown, auto-apply limits, offload clearance).
 */
export const AllocationSettings = z
  .object({
    /** false: the job runs, reads nothing and changes nothing (an operator's off switch). */
    enabled: z.boolean().default(true),
    queues: z.array(AllocationQueue).min(1).max(50),
    policy: AllocationPolicy,
    forecast: SeasonalProfileOptions.partial().default({}),
    /** The centre's calendar (local time = UTC + this): day boundaries and weekdays of the seasonality. */
    utcOffsetMinutes: z.number().int().min(-720).max(840).default(0),
    /** Days of arrival history the forecast learns from (two weeks give weekly seasonality). */
    historyDays: z.number().int().min(1).max(56).default(14),
    /** Days of arrivals that measure a routine category's share of its queue (for offloads). */
    routineShareDays: z.number().int().min(1).max(28).default(7),
  })
  .superRefine((settings, context) => {
    const queueIds = new Set<string>();
    const owner = new Map<string, string>();
    settings.queues.forEach((queue, index) => {
      if (queueIds.has(queue.queueId)) {
        context.addIssue({
          code: 'custom',
          path: ['queues', index, 'queueId'],
          message: `queue "${queue.queueId}" is defined twice`,
        });
      }
      queueIds.add(queue.queueId);
      for (const category of categoriesOfQueue(queue)) {
        const other = owner.get(category);
        if (other !== undefined && other !== queue.queueId) {
          context.addIssue({
            code: 'custom',
            path: ['queues', index, 'categories'],
            message: `category "${category}" already belongs to queue "${other}"; an item belongs to one queue`,
          });
        }
        owner.set(category, queue.queueId);
      }
    });
    if (settings.utcOffsetMinutes % settings.policy.intervalMinutes !== 0) {
      context.addIssue({
        code: 'custom',
        path: ['utcOffsetMinutes'],
        message: `must be a multiple of policy.intervalMinutes (${settings.policy.intervalMinutes}) so intervals start on the local day's boundaries`,
      });
    }
  });
export type AllocationSettings = z.infer<typeof AllocationSettings>;
export type AllocationSettingsInput = z.input<typeof AllocationSettings>;

/** An offload this job applied through the decision policy, until it lapses. */
export const ActiveOffload = z.object({
  queueId: Slug,
  category: z.string().min(1),
  shareOfQueue: z.number().min(0).max(1),
  recommendationId: z.string().min(1),
  appliedAt: z.number(),
  validUntil: z.number(),
});
export type ActiveOffload = z.infer<typeof ActiveOffload>;

/** A one-interval-ahead forecast, kept until its actual is known and then for the error window. */
export const ForecastRecord = z.object({
  queueId: Slug,
  /** Epoch ms at which the forecast interval starts. */
  start: z.number(),
  forecast: z.number().min(0),
  actual: z.number().min(0).optional(),
});
export type ForecastRecord = z.infer<typeof ForecastRecord>;

/** What the job carries from one run to the next (Features, ALLOCATION / STATE). */
export const AllocationJobState = z.object({
  /** Moves recommended (applied or left for approval): the hourly budgets and the cooldown. */
  recentMoves: z
    .array(
      z.object({
        agentId: z.string().min(1),
        at: z.number(),
        decision: z.enum(['auto-applied', 'approval-required']),
      }),
    )
    .default([]),
  offloads: z.array(ActiveOffload).default([]),
  forecasts: z.array(ForecastRecord).default([]),
  /** How far the arrival rollups reach, for the interval length they were made with. */
  arrivals: z
    .object({
      intervalMinutes: IntervalMinutes,
      /** Start of the first observation bucket ever seen: history before it is unknown, not zero. */
      observedFrom: z.number().optional(),
      /** Rollups are complete up to here (an interval boundary). */
      rolledUntil: z.number().optional(),
    })
    .optional(),
  lastRunAt: z.number().optional(),
});
export type AllocationJobState = z.infer<typeof AllocationJobState>;

export const INITIAL_ALLOCATION_STATE: AllocationJobState = {
  recentMoves: [],
  offloads: [],
  forecasts: [],
};

// ---------------------------------------------------------------------------------------------
// Arrival history: per-interval counts per category, one record per UTC day
// ---------------------------------------------------------------------------------------------

/** One UTC day of arrival counts per category, interval by interval (Features, ALLOCATION / ARRIVALS#…). */
export const ArrivalDay = z.object({
  /** The UTC day, YYYY-MM-DD. */
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a UTC day YYYY-MM-DD'),
  intervalMinutes: IntervalMinutes,
  /** counts[category][i]: arrivals in the day's i-th interval. */
  counts: z.record(z.string(), z.array(z.number().int().min(0))),
});
export type ArrivalDay = z.infer<typeof ArrivalDay>;

/** The UTC day (YYYY-MM-DD) holding an instant. */
export function utcDayKey(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

function utcDayStart(epochMs: number): number {
  return Math.floor(epochMs / MS_PER_DAY) * MS_PER_DAY;
}

/** The UTC days that [fromMs, toMs) touches. */
export function utcDayKeys(fromMs: number, toMs: number): string[] {
  const keys: string[] = [];
  for (let day = utcDayStart(fromMs); day < toMs; day += MS_PER_DAY) keys.push(utcDayKey(day));
  return keys;
}

/**
 * Rolls observation buckets up into the per-interval arrival counts of [fromMs, toMs) (interval
 * boundaries), overwriting those intervals in the days given: counts are set, never added, so
 * rolling the same window up again writes the same. Returns every day the window touches.
 *
 * @example
 * rollUpArrivals(storedDays, await tuning.readBuckets(from, to), { fromMs: from, toMs: to, intervalMinutes: 15 });
 */
export function rollUpArrivals(
  days: readonly ArrivalDay[],
  buckets: readonly ObservationBucket[],
  window: { readonly fromMs: number; readonly toMs: number; readonly intervalMinutes: number },
): ArrivalDay[] {
  const intervalMs = window.intervalMinutes * MS_PER_MINUTE;
  const slots = 1440 / window.intervalMinutes;
  const byDay = new Map<string, Record<string, number[]>>();
  for (const key of utcDayKeys(window.fromMs, window.toMs)) {
    const stored = days.find((day) => day.day === key && day.intervalMinutes === window.intervalMinutes);
    const counts: Record<string, number[]> = {};
    for (const [category, values] of Object.entries(stored?.counts ?? {})) {
      counts[category] = Array.from({ length: slots }, (_, index) => values[index] ?? 0);
    }
    byDay.set(key, counts);
  }
  const slotOf = (at: number) => {
    const counts = byDay.get(utcDayKey(at));
    return counts === undefined
      ? undefined
      : { counts, index: Math.floor((at - utcDayStart(at)) / intervalMs) };
  };
  // Clear the window's intervals first: what the buckets say replaces what was there.
  for (let start = window.fromMs; start < window.toMs; start += intervalMs) {
    const slot = slotOf(start);
    if (slot === undefined) continue;
    for (const values of Object.values(slot.counts)) values[slot.index] = 0;
  }
  for (const bucket of buckets) {
    if (bucket.start < window.fromMs || bucket.start >= window.toMs) continue;
    const slot = slotOf(bucket.start);
    if (slot === undefined) continue;
    for (const [category, count] of Object.entries(bucket.arrivals)) {
      if (count <= 0) continue;
      const values = slot.counts[category] ?? new Array<number>(slots).fill(0);
      values[slot.index] = (values[slot.index] ?? 0) + count;
      slot.counts[category] = values;
    }
  }
  return [...byDay.entries()].map(([day, counts]) => ({
    day,
    intervalMinutes: window.intervalMinutes,
    counts,
  }));
}

/** Arrivals of `categories` in the interval starting at `start`, from the rollups. */
function countAt(
  days: ReadonlyMap<string, ArrivalDay>,
  categories: readonly string[],
  start: number,
  intervalMs: number,
): number {
  const day = days.get(utcDayKey(start));
  if (day === undefined) return 0;
  const index = Math.floor((start - utcDayStart(start)) / intervalMs);
  let total = 0;
  for (const category of categories) total += day.counts[category]?.[index] ?? 0;
  return total;
}

function indexDays(days: readonly ArrivalDay[], intervalMinutes: number): Map<string, ArrivalDay> {
  return new Map(days.filter((day) => day.intervalMinutes === intervalMinutes).map((day) => [day.day, day]));
}

/**
 * Where the forecast's history starts: `historyDays` local days back, but never before the first
 * full local day after the first observation (days before it are unknown, not quiet).
 */
export function historyStartMs(settings: AllocationSettings, now: number, observedFrom: number): number {
  const { utcOffsetMinutes } = settings;
  const intervalMs = settings.policy.intervalMinutes * MS_PER_MINUTE;
  const window = localMidnight(now, utcOffsetMinutes) - settings.historyDays * MS_PER_DAY;
  const midnight = localMidnight(observedFrom, utcOffsetMinutes);
  const firstFullDay = observedFrom - midnight < intervalMs ? midnight : midnight + MS_PER_DAY;
  return Math.max(window, firstFullDay);
}

/**
 * Interval counts per queue over [startMs, endMs) (startMs a local midnight, endMs an interval
 * boundary): the sum of the queue's categories, from the rollups.
 */
export function queueSeries(
  settings: AllocationSettings,
  days: readonly ArrivalDay[],
  startMs: number,
  endMs: number,
): Record<string, IntervalSeries> {
  const { intervalMinutes } = settings.policy;
  const intervalMs = intervalMinutes * MS_PER_MINUTE;
  const indexed = indexDays(days, intervalMinutes);
  const length = Math.max(0, Math.floor((endMs - startMs) / intervalMs));
  const series: Record<string, IntervalSeries> = {};
  for (const queue of settings.queues) {
    const categories = categoriesOfQueue(queue);
    series[queue.queueId] = {
      startMs,
      intervalMinutes,
      utcOffsetMinutes: settings.utcOffsetMinutes,
      counts: Array.from({ length }, (_, index) =>
        countAt(indexed, categories, startMs + index * intervalMs, intervalMs),
      ),
    };
  }
  return series;
}

/**
 * Each cleared routine category's share of its queue's arrivals over [fromMs, toMs): what an
 * offload of that category would take off the queue. Queues with no arrivals give nothing.
 */
export function routineWorkOf(
  settings: AllocationSettings,
  days: readonly ArrivalDay[],
  fromMs: number,
  toMs: number,
): RoutineWork[] {
  const cleared = new Set(settings.policy.offload.categories);
  const intervalMs = settings.policy.intervalMinutes * MS_PER_MINUTE;
  const indexed = indexDays(days, settings.policy.intervalMinutes);
  const work: RoutineWork[] = [];
  for (const queue of settings.queues) {
    const categories = categoriesOfQueue(queue);
    const totals = new Map<string, number>(categories.map((category) => [category, 0]));
    for (let start = fromMs; start < toMs; start += intervalMs) {
      for (const category of categories) {
        totals.set(category, (totals.get(category) ?? 0) + countAt(indexed, [category], start, intervalMs));
      }
    }
    const queueTotal = [...totals.values()].reduce((sum, value) => sum + value, 0);
    if (queueTotal <= 0) continue;
    for (const category of categories) {
      if (!cleared.has(category)) continue;
      const share = (totals.get(category) ?? 0) / queueTotal;
      if (share > 0) work.push({ queueId: queue.queueId, category, shareOfArrivals: share });
    }
  }
  return work;
}

// ---------------------------------------------------------------------------------------------
// Forecast error, tracked as time passes
// ---------------------------------------------------------------------------------------------

/**
 * Fills in the actuals of forecast intervals that have ended, keeps the last
 * RECENT_ERROR_INTERVALS intervals, and returns their pooled WAPE (undefined when nothing arrived).
 */
export function scoreForecasts(
  records: readonly ForecastRecord[],
  actualOf: (queueId: string, start: number) => number | undefined,
  options: { readonly settledUntil: number; readonly intervalMinutes: number },
): { readonly records: ForecastRecord[]; readonly recentWape: number | undefined } {
  const keepFrom = options.settledUntil - RECENT_ERROR_INTERVALS * options.intervalMinutes * MS_PER_MINUTE;
  const intervalMs = options.intervalMinutes * MS_PER_MINUTE;
  const kept = records
    .map((record) => {
      if (record.actual !== undefined || record.start + intervalMs > options.settledUntil) return record;
      const actual = actualOf(record.queueId, record.start);
      return actual === undefined ? record : { ...record, actual };
    })
    // Older intervals leave the error window; those still running wait for their actuals.
    .filter((record) => record.start >= keepFrom || record.start + intervalMs > options.settledUntil);
  let tally = EMPTY_ERROR_TALLY;
  for (const record of kept) {
    if (record.actual !== undefined) tally = tallyForecastError(tally, record.actual, record.forecast);
  }
  const { wape } = summariseErrors(tally);
  return { records: kept, recentWape: Number.isFinite(wape) ? wape : undefined };
}

// ---------------------------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------------------------

export interface AllocationPlanInput {
  /** Epoch ms, injected. */
  readonly now: number;
  readonly settings: AllocationSettings;
  /** Interval counts per queue, from a local midnight up to the last settled interval. */
  readonly series: Readonly<Record<string, IntervalSeries>>;
  /** Start of the interval the plan begins with (the current one). */
  readonly forecastStartMs: number;
  readonly features: HandlingFeatures;
  readonly agents: readonly AgentState[];
  /** The queue each agent works now, with moves awaiting approval counted as made (not proposed twice). */
  readonly assignments: Readonly<Record<string, string>>;
  readonly state: AllocationJobState;
  readonly routineWork: readonly RoutineWork[];
  readonly forecastWape?: number;
}

export interface AllocationPlan {
  /** Forecast arrivals per interval of the horizon, by queue, from forecastStartMs. */
  readonly forecasts: Readonly<Record<string, readonly number[]>>;
  readonly result: AllocationResult;
  /** The state to save: moves recorded, the current interval's forecasts added, old entries dropped. */
  readonly state: AllocationJobState;
}

/**
 * Forecasts each queue from its history, plans the horizon's staffing and recommends moves and
 * offloads within the guardrails (recommendAllocation), and returns the state the next run needs.
 *
 * @example
 * const plan = planAllocation({ now, settings, series, forecastStartMs, features, agents, assignments,
 *   state, routineWork });
 * plan.result.recommendations; // StaffingRecommended details, in the order chosen
 */
export function planAllocation(input: AllocationPlanInput): AllocationPlan {
  const { now, settings, state } = input;
  const { policy } = settings;
  const intervalMs = policy.intervalMinutes * MS_PER_MINUTE;
  const horizonIntervals = Math.ceil(policy.horizonMinutes / policy.intervalMinutes);
  const forecasts: Record<string, number[]> = {};
  for (const queue of settings.queues) {
    const series = input.series[queue.queueId];
    if (series === undefined) throw new RangeError(`no arrival history for queue "${queue.queueId}"`);
    const model = fitSeasonalProfile(series, settings.forecast);
    // The last settled interval may end before the current one starts: forecast across the gap.
    const gap = Math.max(0, Math.round((input.forecastStartMs - model.originMs) / intervalMs));
    forecasts[queue.queueId] = forecastArrivals(model, gap + horizonIntervals).slice(gap);
  }
  const result = recommendAllocation({
    now,
    policy,
    queues: settings.queues,
    forecasts,
    forecastStartMs: input.forecastStartMs,
    features: input.features,
    agents: input.agents,
    assignments: input.assignments,
    recentMoves: state.recentMoves,
    routineWork: input.routineWork,
    ...(input.forecastWape === undefined ? {} : { forecastWape: input.forecastWape }),
  });
  const keepMovesFrom = now - Math.max(60, policy.cooldownMinutes) * MS_PER_MINUTE;
  const recentMoves = [
    ...state.recentMoves.filter((move) => move.at > keepMovesFrom),
    ...result.recommendations.flatMap((recommendation) =>
      recommendation.kind === 'move'
        ? [{ agentId: recommendation.agentId, at: now, decision: recommendation.decision }]
        : [],
    ),
  ];
  const recorded = new Set(state.forecasts.map((record) => `${record.queueId}@${record.start}`));
  const newForecasts = settings.queues
    .filter((queue) => !recorded.has(`${queue.queueId}@${input.forecastStartMs}`))
    .map((queue) => ({
      queueId: queue.queueId,
      start: input.forecastStartMs,
      forecast: forecasts[queue.queueId]?.[0] ?? 0,
    }));
  return {
    forecasts,
    result,
    state: { ...state, recentMoves, forecasts: [...state.forecasts, ...newForecasts], lastRunAt: now },
  };
}

// ---------------------------------------------------------------------------------------------
// Offloads through the decision policy
// ---------------------------------------------------------------------------------------------

const OFFLOAD_SUFFIX = /\+a\d{12}$/;

/**
 * The version id of a policy changed by the allocation job at `now`: the active version's stem
 * with `+a<yyyymmddhhmm>` (UTC), e.g. `default-1+a202611200915`.
 *
 * @example
 * offloadPolicyVersion('default-1+a202611200900', Date.parse('2026-11-20T09:15:00Z')); // 'default-1+a202611200915'
 */
export function offloadPolicyVersion(activeVersion: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 12);
  return `${activeVersion.replace(OFFLOAD_SUFFIX, '')}+a${stamp}`;
}

/**
 * The policy with `add` automated and `remove` no longer automated, or undefined when that
 * changes nothing. Categories in the active policy that the job did not add stay as they are.
 */
export function policyWithAutomation(
  policy: Policy,
  change: { readonly add: readonly string[]; readonly remove: readonly string[] },
  version: string,
): Policy | undefined {
  const removed = new Set(change.remove);
  const automated = policy.automationCategories.filter((category) => !removed.has(category));
  for (const category of change.add) if (!automated.includes(category)) automated.push(category);
  const same =
    automated.length === policy.automationCategories.length &&
    automated.every((category) => policy.automationCategories.includes(category));
  return same ? undefined : { ...policy, version, automationCategories: automated };
}
