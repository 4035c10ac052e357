import { z } from 'zod';
import type {
  QueueStaffingFigures,
  StaffingMoveRecommended,
  StaffingOffloadRecommended,
  StaffingRecommended,
} from '../events/staffing';
import type { AgentState, HandlingFeatures } from '../model';
import { hasRequiredSkills } from '../scoring';
import { IntervalMinutes } from './forecast';
import {
  computeStaffing,
  type QueueSpec,
  type QueueStaffing,
  queuePerformance,
  servesQueueThrough,
} from './staffing';

/**
 * Recommends moves of cross-skilled agents between queues, and offloading routine categories to
 * automation, so every queue meets its service-level target over the coming horizon; applies
 * them itself only within the policy's guardrails, otherwise leaves them for approval.
 *
 * Hard constraints, never broken by any recommendation (auto-applied or not):
 * - only people are moved, only to a queue whose required skills they hold at the required
 *   proficiency, only while online, and never when their shift ends within the horizon;
 * - a queue never drops below its floor (minimum staff) and a donor queue never drops below its
 *   own service-level target;
 * - at most `maxMovesPerHour` moves in any trailing hour, and an agent moved is not moved again
 *   within the cooldown.
 * Moves are chosen greedily by the net arrivals per hour answered within target they add.
 */

const MS_PER_MINUTE = 60_000;
const MS_PER_HOUR = 3_600_000;

const QueueSlug = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/);

/** The allocation guardrails, versioned and changeable at run time like the decision policy. */
export const AllocationPolicy = z
  .object({
    version: z.string().min(1),
    intervalMinutes: IntervalMinutes.default(15),
    /** How far ahead staffing is planned; moves last this long. */
    horizonMinutes: z
      .number()
      .int()
      .min(5)
      .max(24 * 60)
      .default(60),
    /** Most moves (applied or proposed) in any trailing hour: people are not chess pieces. */
    maxMovesPerHour: z.number().int().min(0).default(4),
    /** 'never': everything waits for approval. 'within-guardrails': Flowtune applies what the limits below allow. */
    autoApply: z.enum(['never', 'within-guardrails']).default('within-guardrails'),
    /** Most moves applied without approval in any trailing hour (the rest wait for approval). */
    maxAutoMovesPerHour: z.number().int().min(0).default(2),
    /** Floor per queue: agents that must stay in it whatever happens elsewhere. */
    minStaffPerQueue: z.record(QueueSlug, z.number().int().min(0)).default({}),
    /** Floor for queues not listed in minStaffPerQueue. */
    defaultMinStaff: z.number().int().min(0).default(1),
    /** An agent moved is not moved again for this long (no ping-pong). */
    cooldownMinutes: z.number().int().min(0).default(30),
    /** A recommendation must add at least this many arrivals per hour answered within target. */
    minGainPerHour: z.number().min(0).default(1),
    /** Below this handling-prediction confidence, recommendations wait for approval. */
    minConfidenceForAuto: z.number().min(0).max(1).default(0.5),
    /** Above this recent forecast WAPE, recommendations wait for approval. */
    maxForecastWapeForAuto: z.number().min(0).default(0.3),
    offload: z
      .object({
        enabled: z.boolean().default(true),
        /** Categories cleared for automation (compliance decides, not the optimiser). */
        categories: z.array(z.string().min(1)).default([]),
        /** Most of a queue's arrivals sent to automation by one recommendation. */
        maxShareOfQueue: z.number().min(0).max(1).default(0.3),
        autoApply: z.boolean().default(false),
      })
      .default({ enabled: true, categories: [], maxShareOfQueue: 0.3, autoApply: false }),
  })
  .refine((policy) => policy.maxAutoMovesPerHour <= policy.maxMovesPerHour, {
    message: 'maxAutoMovesPerHour cannot exceed maxMovesPerHour',
    path: ['maxAutoMovesPerHour'],
  })
  .refine((policy) => policy.horizonMinutes >= policy.intervalMinutes, {
    message: 'horizonMinutes must cover at least one interval',
    path: ['horizonMinutes'],
  });
export type AllocationPolicy = z.infer<typeof AllocationPolicy>;
export type AllocationPolicyInput = z.input<typeof AllocationPolicy>;

/** A move made earlier (auto-applied, or approved and applied). */
export interface PastMove {
  readonly agentId: string;
  /** Epoch ms. */
  readonly at: number;
  readonly decision: 'auto-applied' | 'approval-required';
}

/** A routine category inside a queue, as observed in its recent mix. */
export interface RoutineWork {
  readonly queueId: string;
  readonly category: string;
  /** Fraction of the queue's arrivals in this category. */
  readonly shareOfArrivals: number;
}

export interface AllocationInput {
  /** Epoch ms, injected. */
  readonly now: number;
  readonly policy: AllocationPolicy;
  readonly queues: readonly QueueSpec[];
  /** Forecast arrivals per interval from `forecastStartMs`, by queue; at least the horizon long. */
  readonly forecasts: Readonly<Record<string, readonly number[]>>;
  /** Start of the first forecast interval (the current interval's start). */
  readonly forecastStartMs: number;
  readonly features: HandlingFeatures;
  readonly agents: readonly AgentState[];
  /** The queue each agent works now. */
  readonly assignments: Readonly<Record<string, string>>;
  readonly recentMoves?: readonly PastMove[];
  readonly routineWork?: readonly RoutineWork[];
  /** Recent WAPE of the forecasts, when tracked. */
  readonly forecastWape?: number;
}

export interface AllocationResult {
  readonly runId: string;
  /** Staffing before any recommendation. */
  readonly staffing: readonly QueueStaffing[];
  /** In the order chosen; each assumes the earlier ones of the run are applied. */
  readonly recommendations: readonly StaffingRecommended[];
  /** Assignments once the auto-applied moves are made (approval-required ones are not). */
  readonly assignmentsAfterAutoApplied: Readonly<Record<string, string>>;
}

/** Working state of one queue during the greedy search. */
interface QueueState {
  readonly spec: QueueSpec;
  readonly staffing: QueueStaffing;
  /** Forecast arrivals per interval over the horizon (reduced by offloads). */
  arrivals: number[];
  servers: number[];
  agentCount: number;
}

function percent(value: number): string {
  return `${Math.round(value * 100)}%`;
}

function clockTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(11, 16)} UTC`;
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * Plans the horizon's staffing and recommends moves and offloads within the policy.
 *
 * @example
 * const result = recommendAllocation({ now, policy: AllocationPolicy.parse({ version: 'alloc-1' }), queues,
 *   forecasts, forecastStartMs, features, agents, assignments });
 * result.recommendations[0]?.reason; // "Move agent-7 from loans to cards for the next 60 min: …"
 */
export function recommendAllocation(input: AllocationInput): AllocationResult {
  const { now, policy } = input;
  const intervalMs = policy.intervalMinutes * MS_PER_MINUTE;
  const intervalSeconds = intervalMs / 1000;
  const horizonIntervals = Math.ceil(policy.horizonMinutes / policy.intervalMinutes);
  const horizonEnd = now + policy.horizonMinutes * MS_PER_MINUTE;
  const horizonHours = (horizonIntervals * intervalSeconds) / 3600;
  const runId = `alloc-${now}`;

  const forecasts: Record<string, number[]> = {};
  for (const queue of input.queues) {
    const forecast = input.forecasts[queue.queueId] ?? [];
    forecasts[queue.queueId] = Array.from({ length: horizonIntervals }, (_, index) =>
      Math.max(0, forecast[index] ?? forecast[forecast.length - 1] ?? 0),
    );
  }
  const staffing = computeStaffing({
    forecastStartMs: input.forecastStartMs,
    intervalMinutes: policy.intervalMinutes,
    queues: input.queues,
    forecasts,
    features: input.features,
    agents: input.agents,
    assignments: input.assignments,
  });

  const states = new Map<string, QueueState>();
  input.queues.forEach((spec, index) => {
    const queueStaffing = staffing[index];
    if (queueStaffing === undefined) return;
    states.set(spec.queueId, {
      spec,
      staffing: queueStaffing,
      arrivals: [...(forecasts[spec.queueId] ?? [])],
      servers: queueStaffing.intervals.map((interval) => interval.onShiftServers),
      agentCount: queueStaffing.agentIds.length,
    });
  });

  const serviceLevelCache = new Map<string, number>();
  const serviceLevelOf = (state: QueueState, servers: readonly number[], arrivals: readonly number[]) => {
    let weighted = 0;
    let total = 0;
    arrivals.forEach((count, index) => {
      if (count <= 0) return;
      const serverCount = servers[index] ?? 0;
      const key = `${state.spec.queueId}|${serverCount}|${count}`;
      let level = serviceLevelCache.get(key);
      if (level === undefined) {
        level = queuePerformance(
          serverCount,
          count / intervalSeconds,
          state.staffing.predictedHandlingSeconds,
          state.spec.target,
          state.spec.meanPatienceSeconds,
        ).serviceLevel;
        serviceLevelCache.set(key, level);
      }
      weighted += count * level;
      total += count;
    });
    return total > 0 ? weighted / total : 1;
  };
  const arrivalsPerHour = (arrivals: readonly number[]) =>
    horizonHours > 0 ? arrivals.reduce((sum, value) => sum + value, 0) / horizonHours : 0;
  const floorOf = (queueId: string) => policy.minStaffPerQueue[queueId] ?? policy.defaultMinStaff;
  const figures = (
    state: QueueState,
    serversBefore: readonly number[],
    serversAfter: readonly number[],
    arrivalsBefore: readonly number[],
    arrivalsAfter: readonly number[],
  ): QueueStaffingFigures => ({
    queueId: state.spec.queueId,
    forecastArrivalsPerHour: roundTo(arrivalsPerHour(arrivalsAfter), 2),
    predictedHandlingSeconds: roundTo(state.staffing.predictedHandlingSeconds, 1),
    requiredServers: state.staffing.peakRequiredServers,
    onShiftServersBefore: Math.min(...serversBefore),
    onShiftServersAfter: Math.min(...serversAfter),
    targetServiceLevel: state.spec.target.fraction,
    targetSeconds: state.spec.target.withinSeconds,
    expectedServiceLevelBefore: roundTo(serviceLevelOf(state, serversBefore, arrivalsBefore), 4),
    expectedServiceLevelAfter: roundTo(serviceLevelOf(state, serversAfter, arrivalsAfter), 4),
    model: state.spec.meanPatienceSeconds === undefined ? 'erlang-c' : 'erlang-a',
  });

  // Guardrail budgets from the trailing hour.
  const recentMoves = input.recentMoves ?? [];
  const inLastHour = recentMoves.filter((move) => move.at > now - MS_PER_HOUR && move.at <= now);
  let moveBudget = Math.max(0, policy.maxMovesPerHour - inLastHour.length);
  let autoBudget = Math.max(
    0,
    Math.min(
      policy.maxAutoMovesPerHour - inLastHour.filter((move) => move.decision === 'auto-applied').length,
      moveBudget,
    ),
  );
  const coolingDown = new Set(
    recentMoves
      .filter((move) => move.at > now - policy.cooldownMinutes * MS_PER_MINUTE && move.at <= now)
      .map((move) => move.agentId),
  );
  const planned: Record<string, string> = { ...input.assignments };
  const autoApplied: Record<string, string> = { ...input.assignments };
  const movedThisRun = new Set<string>();
  const recommendations: StaffingRecommended[] = [];

  const lowConfidence = (queues: readonly QueueState[]): string | undefined => {
    if (policy.autoApply === 'never') return 'the allocation policy applies nothing without approval';
    const unsure = queues.find((state) => state.staffing.handlingConfidence < policy.minConfidenceForAuto);
    if (unsure !== undefined) {
      return `handling-time confidence for ${unsure.spec.queueId} is ${unsure.staffing.handlingConfidence.toFixed(2)}, below the ${policy.minConfidenceForAuto} needed to act alone`;
    }
    if (input.forecastWape !== undefined && input.forecastWape > policy.maxForecastWapeForAuto) {
      return `recent forecast error (WAPE ${percent(input.forecastWape)}) is above the ${percent(policy.maxForecastWapeForAuto)} allowed to act alone`;
    }
    return undefined;
  };

  const movable = (agent: AgentState): boolean =>
    agent.kind === 'person' &&
    agent.status !== 'offline' &&
    (agent.shiftEndsAt === undefined || agent.shiftEndsAt > horizonEnd);
  const intervalEnds = Array.from(
    { length: horizonIntervals },
    (_, index) => input.forecastStartMs + (index + 1) * intervalMs,
  );

  interface Candidate {
    readonly agent: AgentState;
    readonly from: QueueState;
    readonly to: QueueState;
    readonly gain: number;
    readonly fromAfter: number[];
    readonly toAfter: number[];
    readonly proficiency: number;
  }
  /** Servers and agent counts of a hypothetical plan, so bundles of moves can be tried without committing. */
  interface World {
    readonly servers: Map<string, number[]>;
    readonly counts: Map<string, number>;
    readonly planned: Record<string, string>;
  }
  const currentWorld = (): World => ({
    servers: new Map([...states].map(([queueId, state]) => [queueId, state.servers])),
    counts: new Map([...states].map(([queueId, state]) => [queueId, state.agentCount])),
    planned,
  });

  /** The move of `agent` to `to` in `world`, when every hard constraint allows it. */
  const evaluateMove = (agent: AgentState, to: QueueState, world: World): Candidate | undefined => {
    if (!movable(agent) || movedThisRun.has(agent.agentId) || coolingDown.has(agent.agentId))
      return undefined;
    const fromId = world.planned[agent.agentId];
    if (fromId === undefined || fromId === to.spec.queueId) return undefined;
    const from = states.get(fromId);
    if (from === undefined || !hasRequiredSkills(agent, to.spec)) return undefined;
    // Only agents actually serving their queue now count there, so only they can leave it.
    if (!servesQueueThrough(agent, from.spec, fromId, input.forecastStartMs)) return undefined;
    if ((world.counts.get(fromId) ?? 0) - 1 < floorOf(fromId)) return undefined;
    const slots = Math.max(0, agent.capacity);
    if (slots === 0) return undefined;
    const fromServers = world.servers.get(fromId) ?? from.servers;
    const toServers = world.servers.get(to.spec.queueId) ?? to.servers;
    const fromAfter = fromServers.map((servers, index) =>
      servesQueueThrough(agent, from.spec, fromId, intervalEnds[index] ?? horizonEnd)
        ? Math.max(0, servers - slots)
        : servers,
    );
    const toAfter = toServers.map((servers, index) =>
      servesQueueThrough(agent, to.spec, to.spec.queueId, intervalEnds[index] ?? horizonEnd)
        ? servers + slots
        : servers,
    );
    const fromBeforeLevel = serviceLevelOf(from, fromServers, from.arrivals);
    const fromAfterLevel = serviceLevelOf(from, fromAfter, from.arrivals);
    // The donor must keep its own target (or, already below it, is never a donor).
    if (fromAfterLevel < from.spec.target.fraction) return undefined;
    const toBeforeLevel = serviceLevelOf(to, toServers, to.arrivals);
    const toAfterLevel = serviceLevelOf(to, toAfter, to.arrivals);
    const gain =
      arrivalsPerHour(to.arrivals) * (toAfterLevel - toBeforeLevel) -
      arrivalsPerHour(from.arrivals) * (fromBeforeLevel - fromAfterLevel);
    const proficiency = Math.min(
      ...to.spec.requiredSkills.map(
        (requirement) =>
          agent.skills.find((level) => level.skill === requirement.skill)?.proficiency ??
          requirement.minProficiency,
      ),
    );
    return { agent, from, to, gain, fromAfter, toAfter, proficiency };
  };
  const better = (candidate: Candidate, best: Candidate | undefined): boolean =>
    best === undefined ||
    candidate.gain > best.gain + 1e-9 ||
    (Math.abs(candidate.gain - best.gain) <= 1e-9 &&
      (candidate.proficiency > best.proficiency ||
        (candidate.proficiency === best.proficiency && candidate.agent.agentId < best.agent.agentId)));
  const belowTarget = (state: QueueState, world: World) =>
    serviceLevelOf(state, world.servers.get(state.spec.queueId) ?? state.servers, state.arrivals) <
    state.spec.target.fraction;

  /**
   * Look-ahead for overloaded queues: one extra agent in a queue far past its capacity changes
   * nothing Erlang can see, so single moves show no gain. Tries, per queue, the bundle of best
   * single moves (within the remaining budget) and returns its first move with the bundle's
   * average gain, when the bundle as a whole pays.
   */
  const bestBundleStart = (): { candidate: Candidate; size: number; levelAfter: number } | undefined => {
    let chosen: { candidate: Candidate; size: number; levelAfter: number; perMove: number } | undefined;
    for (const to of states.values()) {
      let world = currentWorld();
      if (!belowTarget(to, world)) continue;
      const bundle: Candidate[] = [];
      const taken = new Set<string>();
      while (bundle.length < moveBudget && belowTarget(to, world)) {
        let step: Candidate | undefined;
        for (const agent of input.agents) {
          if (taken.has(agent.agentId)) continue;
          const candidate = evaluateMove(agent, to, world);
          if (candidate !== undefined && better(candidate, step)) step = candidate;
        }
        if (step === undefined) break;
        bundle.push(step);
        taken.add(step.agent.agentId);
        const servers = new Map(world.servers);
        servers.set(step.from.spec.queueId, step.fromAfter);
        servers.set(to.spec.queueId, step.toAfter);
        const counts = new Map(world.counts);
        counts.set(step.from.spec.queueId, (counts.get(step.from.spec.queueId) ?? 0) - 1);
        counts.set(to.spec.queueId, (counts.get(to.spec.queueId) ?? 0) + 1);
        world = { servers, counts, planned: { ...world.planned, [step.agent.agentId]: to.spec.queueId } };
      }
      const first = bundle[0];
      if (first === undefined) continue;
      const total = bundle.reduce((sum, candidate) => sum + candidate.gain, 0);
      const perMove = total / bundle.length;
      if (perMove < policy.minGainPerHour) continue;
      if (chosen === undefined || perMove > chosen.perMove + 1e-9) {
        const levelAfter = serviceLevelOf(to, world.servers.get(to.spec.queueId) ?? to.servers, to.arrivals);
        chosen = { candidate: { ...first, gain: perMove }, size: bundle.length, levelAfter, perMove };
      }
    }
    return chosen;
  };

  // Greedy moves: each round, the single move with the largest net gain (or the first of a bundle).
  while (moveBudget > 0) {
    let best: Candidate | undefined;
    let bundleNote = '';
    const world = currentWorld();
    for (const to of states.values()) {
      if (!belowTarget(to, world)) continue;
      for (const agent of input.agents) {
        const candidate = evaluateMove(agent, to, world);
        if (candidate !== undefined && better(candidate, best)) best = candidate;
      }
    }
    if (best === undefined || best.gain < policy.minGainPerHour) {
      const bundle = bestBundleStart();
      if (bundle === undefined) break;
      best = bundle.candidate;
      bundleNote =
        `This is the first of ${bundle.size} moves that only help together: ${best.to.spec.queueId} is so far past its capacity that ` +
        `one more agent alone changes little, while all ${bundle.size} take it to ${percent(bundle.levelAfter)}. `;
    }
    const { agent, from, to, gain, fromAfter, toAfter, proficiency } = best;
    const fromFigures = figures(from, from.servers, fromAfter, from.arrivals, from.arrivals);
    const toFigures = figures(to, to.servers, toAfter, to.arrivals, to.arrivals);
    const guardrail =
      lowConfidence([from, to]) ??
      (autoBudget > 0
        ? undefined
        : `already ${policy.maxAutoMovesPerHour} moves applied without approval this hour`);
    const decision = guardrail === undefined ? 'auto-applied' : 'approval-required';
    const shiftNote =
      agent.shiftEndsAt === undefined
        ? 'has no shift end set'
        : `is on shift until ${clockTime(agent.shiftEndsAt)}`;
    const reason =
      `Move ${agent.agentId} from ${from.spec.queueId} to ${to.spec.queueId} for the next ${policy.horizonMinutes} min: ` +
      `${to.spec.queueId} expects ${toFigures.forecastArrivalsPerHour.toFixed(0)} arrivals/h and needs ${toFigures.requiredServers} agents to answer ${percent(to.spec.target.fraction)} within ${to.spec.target.withinSeconds} s; ` +
      `with ${toFigures.onShiftServersBefore} on shift it is expected to answer ${percent(toFigures.expectedServiceLevelBefore)}, with ${toFigures.onShiftServersAfter} ${percent(toFigures.expectedServiceLevelAfter)}. ` +
      `${from.spec.queueId} (${fromFigures.forecastArrivalsPerHour.toFixed(0)} arrivals/h, needs ${fromFigures.requiredServers}) keeps ${from.agentCount - 1} agents and stays at ${percent(fromFigures.expectedServiceLevelAfter)} against its ${percent(from.spec.target.fraction)} target (was ${percent(fromFigures.expectedServiceLevelBefore)}). ` +
      `${agent.agentId} holds the ${to.spec.queueId} skills at proficiency ${proficiency} and ${shiftNote}. ` +
      bundleNote +
      `Net gain: ${gain.toFixed(1)} more arrivals/h answered within target${bundleNote === '' ? '' : ' (per move, on average)'}.`;
    const recommendation: StaffingMoveRecommended = {
      schemaVersion: '1',
      kind: 'move',
      recommendationId: `${runId}-${recommendations.length + 1}`,
      runId,
      decision,
      reason,
      ...(guardrail === undefined ? {} : { approvalReason: guardrail }),
      queues: [toFigures, fromFigures],
      expectedGainPerHour: roundTo(gain, 2),
      ...(input.forecastWape === undefined ? {} : { forecastWape: roundTo(input.forecastWape, 4) }),
      confidence: roundTo(Math.min(from.staffing.handlingConfidence, to.staffing.handlingConfidence), 4),
      policyVersion: policy.version,
      horizonMinutes: policy.horizonMinutes,
      recommendedAt: iso(now),
      validUntil: iso(horizonEnd),
      agentId: agent.agentId,
      fromQueue: from.spec.queueId,
      toQueue: to.spec.queueId,
      proficiency,
      ...(agent.shiftEndsAt === undefined ? {} : { shiftEndsAt: iso(agent.shiftEndsAt) }),
    };
    recommendations.push(recommendation);
    // The plan continues as if this move were made, so later moves do not double-count the gap.
    from.servers = fromAfter;
    from.agentCount -= 1;
    to.servers = toAfter;
    to.agentCount += 1;
    planned[agent.agentId] = to.spec.queueId;
    movedThisRun.add(agent.agentId);
    moveBudget--;
    if (decision === 'auto-applied') {
      autoBudget--;
      autoApplied[agent.agentId] = to.spec.queueId;
    }
  }

  // Offloads for queues still below target once the moves are made.
  if (policy.offload.enabled) {
    const cleared = new Set(policy.offload.categories);
    for (const state of states.values()) {
      const before = serviceLevelOf(state, state.servers, state.arrivals);
      if (before >= state.spec.target.fraction) continue;
      const candidates = (input.routineWork ?? [])
        .filter(
          (work) =>
            work.queueId === state.spec.queueId && cleared.has(work.category) && work.shareOfArrivals > 0,
        )
        .sort(
          (left, right) =>
            right.shareOfArrivals - left.shareOfArrivals || left.category.localeCompare(right.category),
        );
      const work = candidates[0];
      if (work === undefined) continue;
      const share = Math.min(work.shareOfArrivals, policy.offload.maxShareOfQueue, 1);
      if (share <= 0) continue;
      const arrivalsAfter = state.arrivals.map((count) => count * (1 - share));
      const after = serviceLevelOf(state, state.servers, arrivalsAfter);
      const perHour = arrivalsPerHour(state.arrivals);
      // Automated items are answered at once; the rest see the lighter queue.
      const gain = perHour * ((1 - share) * after + share - before);
      if (gain < policy.minGainPerHour) continue;
      const queueFigures = figures(state, state.servers, state.servers, state.arrivals, arrivalsAfter);
      const guardrail =
        lowConfidence([state]) ??
        (policy.offload.autoApply
          ? undefined
          : 'the allocation policy has operators approve automation offloads');
      const recommendation: StaffingOffloadRecommended = {
        schemaVersion: '1',
        kind: 'offload',
        recommendationId: `${runId}-${recommendations.length + 1}`,
        runId,
        decision: guardrail === undefined ? 'auto-applied' : 'approval-required',
        reason:
          `Send ${percent(share)} of ${state.spec.queueId} (its "${work.category}" items) to automation for the next ${policy.horizonMinutes} min: ` +
          `${state.spec.queueId} expects ${perHour.toFixed(0)} arrivals/h and needs ${queueFigures.requiredServers} agents for ${percent(state.spec.target.fraction)} within ${state.spec.target.withinSeconds} s but has ${queueFigures.onShiftServersBefore}` +
          `${recommendations.length > 0 ? ' after the moves above' : ''}; no further cross-skilled agent can be spared. ` +
          `Expected answered within target: ${percent(before)} now, ${percent(after)} of the items left to people. ` +
          `Net gain: ${gain.toFixed(1)} more arrivals/h answered within target.`,
        ...(guardrail === undefined ? {} : { approvalReason: guardrail }),
        queues: [queueFigures],
        expectedGainPerHour: roundTo(gain, 2),
        ...(input.forecastWape === undefined ? {} : { forecastWape: roundTo(input.forecastWape, 4) }),
        confidence: roundTo(state.staffing.handlingConfidence, 4),
        policyVersion: policy.version,
        horizonMinutes: policy.horizonMinutes,
        recommendedAt: iso(now),
        validUntil: iso(horizonEnd),
        queueId: state.spec.queueId,
        category: work.category,
        shareOfQueue: roundTo(share, 4),
      };
      recommendations.push(recommendation);
      state.arrivals = arrivalsAfter;
    }
  }

  return { runId, staffing, recommendations, assignmentsAfterAutoApplied: autoApplied };
}
