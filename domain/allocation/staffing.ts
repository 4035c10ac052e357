import { z } from 'zod';
import { erlangA, erlangC, type QueueReference } from '../metrics/erlang';
import type { AgentState, HandlingFeatures } from '../model';
import { buildHandlingModel, hasRequiredSkills } from '../scoring';

/**
 * How many agents each queue needs to meet its service-level target, interval by interval, from
 * the forecast arrivals and the predicted handling time, and how that compares with who is on
 * shift. Erlang C (M/M/n) for queues whose callers wait as long as it takes; Erlang A (M/M/n+M)
 * where they abandon, which needs fewer agents for the same target because impatient callers
 * leave the queue. Both come from domain/metrics/erlang.
 *
 * An agent with capacity k counts as k servers (chat agents holding three conversations): the
 * simulator and the dispatcher treat each slot as an independent server too.
 */

const MS_PER_MINUTE = 60_000;

export const ServiceLevelTarget = z.object({
  /** Fraction of arrivals to answer within `withinSeconds`, e.g. 0.8. */
  fraction: z.number().gt(0).lt(1),
  withinSeconds: z.number().min(0),
});
export type ServiceLevelTarget = z.infer<typeof ServiceLevelTarget>;

/** A queue as allocation sees it: who can work it and what service it promises. */
export const QueueSpec = z.object({
  queueId: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a lowercase queue slug'),
  /** Handling-time category in the feature store; defaults to the queue id. */
  category: z.string().min(1).optional(),
  requiredSkills: z
    .array(z.object({ skill: z.string().min(1), minProficiency: z.number().int().min(1).max(5).default(1) }))
    .min(1),
  target: ServiceLevelTarget,
  /** Mean patience of waiting callers (exponential), seconds; omit when nobody abandons (Erlang C). */
  meanPatienceSeconds: z.number().positive().optional(),
  /** Highest offered load per server accepted when staffing, so nobody runs flat out. */
  maxOccupancy: z.number().gt(0).max(1).default(1),
});
export type QueueSpec = z.infer<typeof QueueSpec>;
export type QueueSpecInput = z.input<typeof QueueSpec>;

/** Most servers searched for one interval; beyond it a target counts as unreachable. */
const MAX_SERVERS = 5000;

/**
 * Queueing figures for `servers` servers. Arrival rate in 1/s. No arrivals: everything is
 * answered at once. No servers: nothing is.
 */
export function queuePerformance(
  servers: number,
  arrivalRate: number,
  meanHandlingSeconds: number,
  target: ServiceLevelTarget,
  meanPatienceSeconds?: number,
): QueueReference {
  if (arrivalRate <= 0) {
    return { probabilityOfWait: 0, meanWaitSeconds: 0, abandonment: 0, serviceLevel: 1, utilisation: 0 };
  }
  if (servers <= 0) {
    return {
      probabilityOfWait: 1,
      meanWaitSeconds: Number.POSITIVE_INFINITY,
      abandonment: meanPatienceSeconds === undefined ? 0 : 1,
      serviceLevel: 0,
      utilisation: Number.POSITIVE_INFINITY,
    };
  }
  return meanPatienceSeconds === undefined
    ? erlangC(servers, arrivalRate, meanHandlingSeconds, target.withinSeconds)
    : erlangA(servers, arrivalRate, meanHandlingSeconds, meanPatienceSeconds, target.withinSeconds);
}

export interface ServerRequirement {
  /** Fewest servers meeting the target and the occupancy cap (MAX_SERVERS when unreachable). */
  readonly servers: number;
  readonly reachable: boolean;
  /** Performance with that many servers. */
  readonly performance: QueueReference;
}

/**
 * Fewest servers that answer `target.fraction` of arrivals within `target.withinSeconds` with
 * offered load per server at most `maxOccupancy`.
 *
 * @example
 * // 100 calls per 30 minutes, 180 s handling, 80% within 20 s (the classic textbook case):
 * requiredServers({ arrivalRate: 100 / 1800, meanHandlingSeconds: 180, target: { fraction: 0.8, withinSeconds: 20 } }).servers; // 14
 */
export function requiredServers(input: {
  readonly arrivalRate: number;
  readonly meanHandlingSeconds: number;
  readonly target: ServiceLevelTarget;
  readonly meanPatienceSeconds?: number;
  readonly maxOccupancy?: number;
}): ServerRequirement {
  const { arrivalRate, meanHandlingSeconds, target, meanPatienceSeconds } = input;
  const maxOccupancy = input.maxOccupancy ?? 1;
  if (!(arrivalRate >= 0) || !(meanHandlingSeconds > 0)) {
    throw new RangeError(
      `arrival rate must be ≥ 0 and handling time > 0; got ${arrivalRate}/s and ${meanHandlingSeconds} s`,
    );
  }
  if (arrivalRate === 0) {
    return { servers: 0, reachable: true, performance: queuePerformance(0, 0, meanHandlingSeconds, target) };
  }
  const offered = arrivalRate * meanHandlingSeconds;
  // Below the offered load Erlang C has no steady state; Erlang A does (abandonment caps the queue).
  let servers = meanPatienceSeconds === undefined ? Math.max(1, Math.floor(offered)) : 1;
  servers = Math.max(servers, Math.ceil(offered / maxOccupancy - 1e-9));
  for (; servers <= MAX_SERVERS; servers++) {
    const performance = queuePerformance(
      servers,
      arrivalRate,
      meanHandlingSeconds,
      target,
      meanPatienceSeconds,
    );
    if (performance.serviceLevel >= target.fraction && offered / servers <= maxOccupancy + 1e-12) {
      return { servers, reachable: true, performance };
    }
  }
  return {
    servers: MAX_SERVERS,
    reachable: false,
    performance: queuePerformance(MAX_SERVERS, arrivalRate, meanHandlingSeconds, target, meanPatienceSeconds),
  };
}

/** Whether an agent works this queue during [fromMs, toMs): assigned here, online, eligible, on shift to the end. */
export function servesQueueThrough(
  agent: AgentState,
  queue: QueueSpec,
  assignedQueue: string | undefined,
  toMs: number,
): boolean {
  return (
    assignedQueue === queue.queueId &&
    agent.status !== 'offline' &&
    hasRequiredSkills(agent, queue) &&
    (agent.shiftEndsAt === undefined || agent.shiftEndsAt >= toMs)
  );
}

export interface IntervalStaffing {
  readonly startMs: number;
  readonly forecastArrivals: number;
  readonly requiredServers: number;
  readonly reachable: boolean;
  /** Servers of assigned agents on shift for the whole interval. */
  readonly onShiftServers: number;
  /** Expected service level with the on-shift servers. */
  readonly expectedServiceLevel: number;
}

export interface QueueStaffing {
  readonly queueId: string;
  readonly target: ServiceLevelTarget;
  readonly meanPatienceSeconds?: number;
  readonly predictedHandlingSeconds: number;
  /** Confidence of the handling-time prediction (0..1, from the scoring model). */
  readonly handlingConfidence: number;
  readonly intervals: readonly IntervalStaffing[];
  /** Forecast arrivals over the horizon, per hour. */
  readonly forecastArrivalsPerHour: number;
  /** Most servers any interval of the horizon needs. */
  readonly peakRequiredServers: number;
  /** Fewest servers on shift in any interval of the horizon. */
  readonly minOnShiftServers: number;
  /** Arrival-weighted expected service level over the horizon with the current staff. */
  readonly expectedServiceLevel: number;
  /** Agents assigned to the queue and on shift at the horizon's start. */
  readonly agentIds: readonly string[];
}

export interface StaffingInput {
  /** Epoch ms at which the first forecast interval starts. */
  readonly forecastStartMs: number;
  readonly intervalMinutes: number;
  readonly queues: readonly QueueSpec[];
  /** Forecast arrivals per interval, by queue id; every queue needs one, all the same length. */
  readonly forecasts: Readonly<Record<string, readonly number[]>>;
  /** The feature store's handling statistics; the scoring model predicts each queue's handling time. */
  readonly features: HandlingFeatures;
  readonly agents: readonly AgentState[];
  /** The queue each agent currently works (agents absent here work none, e.g. off the floor). */
  readonly assignments: Readonly<Record<string, string>>;
}

/** Arrival-weighted service level of a queue across intervals with the given servers per interval. */
export function weightedServiceLevel(
  arrivals: readonly number[],
  serversPerInterval: readonly number[],
  intervalSeconds: number,
  meanHandlingSeconds: number,
  target: ServiceLevelTarget,
  meanPatienceSeconds?: number,
): number {
  let weighted = 0;
  let total = 0;
  arrivals.forEach((count, index) => {
    if (count <= 0) return;
    const performance = queuePerformance(
      serversPerInterval[index] ?? 0,
      count / intervalSeconds,
      meanHandlingSeconds,
      target,
      meanPatienceSeconds,
    );
    weighted += count * performance.serviceLevel;
    total += count;
  });
  return total > 0 ? weighted / total : 1;
}

/**
 * Staffing needed per queue and interval against the staff on shift.
 *
 * @example
 * const plan = computeStaffing({ forecastStartMs, intervalMinutes: 15, queues, forecasts, features, agents, assignments });
 * plan.find((queue) => queue.queueId === 'cards')?.peakRequiredServers; // e.g. 14
 */
export function computeStaffing(input: StaffingInput): QueueStaffing[] {
  const intervalMs = input.intervalMinutes * MS_PER_MINUTE;
  const intervalSeconds = intervalMs / 1000;
  const handling = buildHandlingModel(input.features);
  return input.queues.map((queue) => {
    const forecast = input.forecasts[queue.queueId];
    if (forecast === undefined) {
      throw new RangeError(
        `no forecast for queue "${queue.queueId}"; forecasts were given for: ${Object.keys(input.forecasts).join(', ') || '(none)'}`,
      );
    }
    const prediction = handling.category(queue.category ?? queue.queueId);
    const intervals: IntervalStaffing[] = forecast.map((arrivals, index) => {
      const startMs = input.forecastStartMs + index * intervalMs;
      const onShiftServers = input.agents
        .filter((agent) =>
          servesQueueThrough(agent, queue, input.assignments[agent.agentId], startMs + intervalMs),
        )
        .reduce((sum, agent) => sum + Math.max(0, agent.capacity), 0);
      const arrivalRate = Math.max(0, arrivals) / intervalSeconds;
      const requirement = requiredServers({
        arrivalRate,
        meanHandlingSeconds: prediction.seconds,
        target: queue.target,
        maxOccupancy: queue.maxOccupancy,
        ...(queue.meanPatienceSeconds === undefined
          ? {}
          : { meanPatienceSeconds: queue.meanPatienceSeconds }),
      });
      return {
        startMs,
        forecastArrivals: arrivals,
        requiredServers: requirement.servers,
        reachable: requirement.reachable,
        onShiftServers,
        expectedServiceLevel: queuePerformance(
          onShiftServers,
          arrivalRate,
          prediction.seconds,
          queue.target,
          queue.meanPatienceSeconds,
        ).serviceLevel,
      };
    });
    const totalArrivals = forecast.reduce((sum, value) => sum + Math.max(0, value), 0);
    const horizonHours = (forecast.length * intervalSeconds) / 3600;
    return {
      queueId: queue.queueId,
      target: queue.target,
      ...(queue.meanPatienceSeconds === undefined ? {} : { meanPatienceSeconds: queue.meanPatienceSeconds }),
      predictedHandlingSeconds: prediction.seconds,
      handlingConfidence: prediction.confidence,
      intervals,
      forecastArrivalsPerHour: horizonHours > 0 ? totalArrivals / horizonHours : 0,
      peakRequiredServers: Math.max(0, ...intervals.map((interval) => interval.requiredServers)),
      minOnShiftServers:
        intervals.length === 0 ? 0 : Math.min(...intervals.map((interval) => interval.onShiftServers)),
      expectedServiceLevel: weightedServiceLevel(
        forecast,
        intervals.map((interval) => interval.onShiftServers),
        intervalSeconds,
        prediction.seconds,
        queue.target,
        queue.meanPatienceSeconds,
      ),
      agentIds: input.agents
        .filter((agent) =>
          servesQueueThrough(agent, queue, input.assignments[agent.agentId], input.forecastStartMs),
        )
        .map((agent) => agent.agentId)
        .sort(),
    };
  });
}
