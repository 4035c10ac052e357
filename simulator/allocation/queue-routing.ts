import {
  EMPTY_ERROR_TALLY,
  type ErrorTally,
  fitSeasonalProfile,
  forecastArrivals,
  type SeasonalProfileOptionsInput,
  summariseErrors,
  tallyForecastError,
} from '../../domain/allocation/forecast';
import { type AllocationPolicy, type PastMove, recommendAllocation } from '../../domain/allocation/recommend';
import type { QueueSpec } from '../../domain/allocation/staffing';
import type { StaffingRecommended } from '../../domain/events/staffing';
import type { AgentState } from '../../domain/model';
import type { Assignment, DispatchRound, RoutingPolicy } from '../../domain/routing/types';

/**
 * Queue-partitioned routing for the simulator: each agent works only the queue it is logged into,
 * and a routing policy decides within each queue. With allocation on, the allocation job runs
 * every interval inside the same simulated clock: it forecasts each queue from the arrivals seen
 * so far (never the future), plans staffing, and moves agents between queues as
 * recommendAllocation says. Moves left for approval are applied after a simulated operator delay.
 *
 * It plugs into the engine as an ordinary RoutingPolicy, so the engine needs no change.
 */

const MS_PER_MINUTE = 60_000;
/** Forecast error is judged over this many recent intervals (all queues pooled). */
const RECENT_ERROR_INTERVALS = 8;

export interface AllocationRun {
  /** Epoch ms of the run. */
  readonly at: number;
  readonly recommendations: readonly StaffingRecommended[];
  /** Forecast arrivals per queue for the current interval. */
  readonly forecasts: Readonly<Record<string, number>>;
}

export interface AllocationSettings {
  readonly policy: AllocationPolicy;
  readonly forecastOptions: SeasonalProfileOptionsInput;
  /** Epoch ms at which the arrival history starts (a local midnight). */
  readonly historyStartMs: number;
  /** Interval counts per queue from historyStartMs up to the run's start (what the deployment already knew). */
  readonly historyCounts: Readonly<Record<string, readonly number[]>>;
  /** Every arrival of the run, sorted by time; only those before `now` are ever looked at. */
  readonly arrivals: readonly { readonly atMs: number; readonly queueId: string }[];
  /** Simulated operator approving moves left for approval after this delay; undefined = never approves. */
  readonly approvalDelayMinutes?: number;
}

export interface QueueRoutingOptions {
  readonly name: string;
  readonly queues: readonly QueueSpec[];
  /** A fresh routing policy for each queue. */
  readonly innerPolicy: (queueId: string) => RoutingPolicy;
  readonly initialAssignments: Readonly<Record<string, string>>;
  /** Shift end of each agent (epoch ms), for the allocation's shift-end guardrail. */
  readonly shiftEnds: Readonly<Record<string, number | undefined>>;
  /** Omit to keep everyone in their starting queue (allocation off). */
  readonly allocation?: AllocationSettings;
}

export interface QueueRoutingController {
  readonly policy: RoutingPolicy;
  /** Each allocation run's recommendations, in order. */
  readonly runs: AllocationRun[];
  readonly assignments: () => Readonly<Record<string, string>>;
  /** One-interval-ahead forecast error of the runs so far, all queues pooled. */
  readonly forecastTally: () => ErrorTally;
}

/** Builds the queue-partitioned policy and, when configured, its allocation job. */
export function queueRouting(options: QueueRoutingOptions): QueueRoutingController {
  const assignments: Record<string, string> = { ...options.initialAssignments };
  const inner = new Map(options.queues.map((queue) => [queue.queueId, options.innerPolicy(queue.queueId)]));
  const runs: AllocationRun[] = [];
  const settings = options.allocation;
  const intervalMs = (settings?.policy.intervalMinutes ?? 15) * MS_PER_MINUTE;
  const queueIds = options.queues.map((queue) => queue.queueId);

  // Live interval counts, extended as simulated time passes.
  const counts = new Map<string, number[]>(
    queueIds.map((queueId) => [queueId, [...(settings?.historyCounts[queueId] ?? [])]]),
  );
  let arrivalCursor = 0;
  let nextRunAt = Number.NEGATIVE_INFINITY;
  const pastMoves: PastMove[] = [];
  const pendingApprovals: { dueAt: number; agentId: string; toQueue: string }[] = [];
  /** forecast of (queue, interval index) made one interval ahead, awaiting its actual. */
  const pendingForecasts: { queueId: string; index: number; forecast: number }[] = [];
  const scored: { actual: number; forecast: number; index: number }[] = [];
  let tally: ErrorTally = EMPTY_ERROR_TALLY;

  const completeIntervalsAt = (now: number): number =>
    settings === undefined ? 0 : Math.floor((now - settings.historyStartMs) / intervalMs);

  /** Extends every queue's counts with the arrivals of intervals that have ended by `now`. */
  const catchUp = (now: number) => {
    if (settings === undefined) return;
    const complete = completeIntervalsAt(now);
    for (const series of counts.values()) while (series.length < complete) series.push(0);
    const endOfComplete = settings.historyStartMs + complete * intervalMs;
    for (; arrivalCursor < settings.arrivals.length; arrivalCursor++) {
      const arrival = settings.arrivals[arrivalCursor];
      if (arrival === undefined || arrival.atMs >= endOfComplete) break;
      const index = Math.floor((arrival.atMs - settings.historyStartMs) / intervalMs);
      const series = counts.get(arrival.queueId);
      if (series !== undefined && index >= 0 && index < series.length)
        series[index] = (series[index] ?? 0) + 1;
    }
    for (let position = pendingForecasts.length - 1; position >= 0; position--) {
      const pending = pendingForecasts[position];
      if (pending === undefined || pending.index >= complete) continue;
      const actual = counts.get(pending.queueId)?.[pending.index] ?? 0;
      tally = tallyForecastError(tally, actual, pending.forecast);
      scored.push({ actual, forecast: pending.forecast, index: pending.index });
      pendingForecasts.splice(position, 1);
    }
  };

  const recentWape = (complete: number): number | undefined => {
    let recent = EMPTY_ERROR_TALLY;
    for (const entry of scored) {
      if (entry.index >= complete - RECENT_ERROR_INTERVALS)
        recent = tallyForecastError(recent, entry.actual, entry.forecast);
    }
    const { wape } = summariseErrors(recent);
    return Number.isFinite(wape) ? wape : undefined;
  };

  const runAllocation = (round: DispatchRound) => {
    if (settings === undefined) return;
    const { policy } = settings;
    const now = round.now;
    catchUp(now);
    for (let index = pendingApprovals.length - 1; index >= 0; index--) {
      const pending = pendingApprovals[index];
      if (pending !== undefined && pending.dueAt <= now) {
        assignments[pending.agentId] = pending.toQueue;
        pendingApprovals.splice(index, 1);
      }
    }
    const complete = completeIntervalsAt(now);
    const forecastStartMs = settings.historyStartMs + complete * intervalMs;
    const horizonIntervals = Math.ceil(policy.horizonMinutes / policy.intervalMinutes);
    const forecasts: Record<string, number[]> = {};
    for (const queueId of queueIds) {
      const model = fitSeasonalProfile(
        {
          startMs: settings.historyStartMs,
          intervalMinutes: policy.intervalMinutes,
          utcOffsetMinutes: 0,
          counts: counts.get(queueId) ?? [],
        },
        settings.forecastOptions,
      );
      const path = forecastArrivals(model, horizonIntervals);
      forecasts[queueId] = path;
      if (!pendingForecasts.some((pending) => pending.queueId === queueId && pending.index === complete))
        pendingForecasts.push({ queueId, index: complete, forecast: path[0] ?? 0 });
    }
    const agents: AgentState[] = round.agents.map((agent) => {
      const shiftEndsAt = options.shiftEnds[agent.agentId];
      return shiftEndsAt === undefined ? agent : { ...agent, shiftEndsAt };
    });
    // Moves awaiting approval count as planned, so they are not proposed twice.
    const planned = { ...assignments };
    for (const pending of pendingApprovals) planned[pending.agentId] = pending.toQueue;
    const forecastWape = recentWape(complete);
    const result = recommendAllocation({
      now,
      policy,
      queues: options.queues,
      forecasts,
      forecastStartMs,
      features: round.features,
      agents,
      assignments: planned,
      recentMoves: pastMoves,
      ...(forecastWape === undefined ? {} : { forecastWape }),
    });
    for (const recommendation of result.recommendations) {
      if (recommendation.kind !== 'move') continue;
      pastMoves.push({ agentId: recommendation.agentId, at: now, decision: recommendation.decision });
      if (recommendation.decision === 'auto-applied')
        assignments[recommendation.agentId] = recommendation.toQueue;
      else if (settings.approvalDelayMinutes !== undefined) {
        pendingApprovals.push({
          dueAt: now + settings.approvalDelayMinutes * MS_PER_MINUTE,
          agentId: recommendation.agentId,
          toQueue: recommendation.toQueue,
        });
      }
    }
    runs.push({
      at: now,
      recommendations: result.recommendations,
      forecasts: Object.fromEntries(queueIds.map((queueId) => [queueId, forecasts[queueId]?.[0] ?? 0])),
    });
  };

  const policy: RoutingPolicy = {
    name: options.name,
    assign(round: DispatchRound): Assignment[] {
      if (settings !== undefined && round.now >= nextRunAt) {
        runAllocation(round);
        const everyMs = intervalMs;
        nextRunAt =
          settings.historyStartMs +
          (Math.floor((round.now - settings.historyStartMs) / everyMs) + 1) * everyMs;
      } else if (settings !== undefined) {
        // Approvals land between runs too.
        for (let index = pendingApprovals.length - 1; index >= 0; index--) {
          const pending = pendingApprovals[index];
          if (pending !== undefined && pending.dueAt <= round.now) {
            assignments[pending.agentId] = pending.toQueue;
            pendingApprovals.splice(index, 1);
          }
        }
      }
      const assigned: Assignment[] = [];
      for (const queueId of queueIds) {
        const waiting = round.waiting.filter((item) => item.category === queueId);
        if (waiting.length === 0) continue;
        const agents = round.agents.filter((agent) => assignments[agent.agentId] === queueId);
        if (agents.length === 0) continue;
        const queuePolicy = inner.get(queueId);
        if (queuePolicy === undefined) continue;
        assigned.push(...queuePolicy.assign({ ...round, waiting, agents }));
      }
      return assigned;
    },
  };

  return {
    policy,
    runs,
    assignments: () => ({ ...assignments }),
    forecastTally: () => tally,
  };
}
