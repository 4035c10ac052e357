import { type AgentUsage, computeRunMetrics, type ItemOutcome, type RunMetrics } from '../domain/metrics';
import type { AgentState, HandlingFeatures, HandlingStats, SkillLevel, WaitingItem } from '../domain/model';
import type { DispatchRound, RoutingPolicy } from '../domain/routing/types';
import { isEligible, updateHandlingStats } from '../domain/scoring';
import { EventQueue } from './event-queue';

/**
 * The discrete-event core shared by synthetic scenarios and log replay. Time is a number of
 * seconds from the run's start on a simulated clock; the domain sees epoch milliseconds
 * (`epochMs + t·1000`). Policies see only what production would: the waiting set, agent states,
 * the learned handling statistics and optional item-level hints, never the true handling times.
 */

export interface SimAgent {
  readonly agentId: string;
  readonly skills: readonly SkillLevel[];
  readonly capacity: number;
  /** On-shift intervals [start, end) in seconds; omitted = always on shift. */
  readonly shifts?: readonly (readonly [number, number])[];
}

export interface SimJob {
  readonly itemId: string;
  readonly arrivalAt: number;
  readonly category: string;
  readonly requiredSkills: readonly { readonly skill: string; readonly minProficiency: number }[];
  readonly priority: number;
  readonly slaDueAt: number;
  /** Seconds the item waits before abandoning; Infinity = never. */
  readonly patienceSeconds: number;
  /** Item-level predicted handling seconds shown to policies (when hints are on). */
  readonly hintSeconds?: number;
  /** The customer's tier, which the routing cost may weigh in (absent = standard). */
  readonly customerTier?: string;
}

export interface EngineInput {
  readonly agents: readonly SimAgent[];
  /** Sorted by arrivalAt. */
  readonly jobs: readonly SimJob[];
  readonly policy: RoutingPolicy;
  /** True handling seconds of job `jobIndex` on agent `agentIndex` (hidden from policies). */
  readonly handlingSeconds: (jobIndex: number, agentIndex: number) => number;
  readonly features: HandlingFeatures;
  /** Update the features from each completion, as the Record Outcome step does in production. */
  readonly learnOnline: boolean;
  readonly useHints: boolean;
  /** Measured arrivals and throughput: [start, end) in seconds. */
  readonly window: readonly [number, number];
  /** Nothing happens after this time; unresolved items are censored here. */
  readonly hardStopAt: number;
  readonly epochMs: number;
  /** 0 = a round after every batch of simultaneous events; > 0 = a round every N seconds. */
  readonly dispatchIntervalSeconds: number;
  /** Record per-item outcomes and assignments in the result (replay, tests). */
  readonly keepOutcomes?: boolean;
}

export interface EngineResult {
  readonly metrics: RunMetrics;
  readonly rounds: number;
  readonly decisionMillis: { readonly total: number; readonly max: number };
  readonly endedAt: number;
  readonly outcomes?: readonly (ItemOutcome & { readonly agentId?: string; readonly itemId: string })[];
}

/**
 * A simulated time as the domain sees it: epoch milliseconds, whole, as production's timestamps
 * are (ISO strings carry milliseconds), so a round the simulator routes is the round the
 * dispatcher would see, to the millisecond.
 */
export function simulatedEpochMs(epochMs: number, seconds: number): number {
  return Math.round(epochMs + seconds * 1000);
}

export class PolicyViolationError extends Error {
  override readonly name = 'PolicyViolationError';
}

/** Two agents or two items under one id in an engine input. */
export class DuplicateIdError extends Error {
  override readonly name = 'DuplicateIdError';
}

type Event =
  | { readonly kind: 'completion'; readonly jobIndex: number; readonly agentIndex: number }
  | { readonly kind: 'abandon'; readonly jobIndex: number }
  | { readonly kind: 'shift' }
  | { readonly kind: 'tick' };

interface MutableFeatures {
  global: HandlingStats;
  byCategory: Record<string, HandlingStats>;
  byCategoryAgent: Record<string, HandlingStats>;
}

export function cloneFeatures(features: HandlingFeatures): MutableFeatures {
  return {
    global: { ...features.global },
    byCategory: { ...features.byCategory },
    byCategoryAgent: { ...features.byCategoryAgent },
  };
}

/**
 * Answers "is agent i on shift at time t" in amortised O(1) for non-decreasing t, by keeping a
 * cursor into each agent's sorted shift list (replays have thousands of shifts per agent).
 */
function shiftTracker(agents: readonly SimAgent[]): (agentIndex: number, time: number) => boolean {
  const cursors = new Int32Array(agents.length);
  const sorted = agents.map((agent) =>
    agent.shifts === undefined ? undefined : [...agent.shifts].sort((a, b) => a[0] - b[0]),
  );
  return (agentIndex, time) => {
    const shifts = sorted[agentIndex];
    if (shifts === undefined) return true;
    let cursor = cursors[agentIndex] ?? 0;
    while (cursor < shifts.length && (shifts[cursor]?.[1] ?? 0) <= time) cursor++;
    cursors[agentIndex] = cursor;
    const shift = shifts[cursor];
    return shift !== undefined && time >= shift[0];
  };
}

function overlap(start: number, end: number, window: readonly [number, number]): number {
  return Math.max(0, Math.min(end, window[1]) - Math.max(start, window[0]));
}

/** Runs one simulation to completion. Deterministic for a given input. */
export function runEngine(input: EngineInput): EngineResult {
  const { agents, jobs, policy, window } = input;
  const features = cloneFeatures(input.features);
  const queue = new EventQueue<Event>();
  const active = new Int32Array(agents.length);
  const idleSince = new Float64Array(agents.length);
  const busyInWindow = new Float64Array(agents.length);
  const startedAt = new Float64Array(jobs.length).fill(Number.NaN);
  const completedAt = new Float64Array(jobs.length).fill(Number.NaN);
  const abandonedAt = new Float64Array(jobs.length).fill(Number.NaN);
  const assignedAgent = new Int32Array(jobs.length).fill(-1);
  const agentIndexById = new Map(agents.map((agent, index) => [agent.agentId, index]));
  // One id, one agent: two agents under one id would make the engine's index and the policy's
  // view disagree (the first would be invisible), so say so instead of misrouting.
  if (agentIndexById.size !== agents.length) {
    const seen = new Set<string>();
    const twice = agents.find((agent) => seen.has(agent.agentId) || !seen.add(agent.agentId));
    throw new DuplicateIdError(
      `agent id "${twice?.agentId}" is used by two agents; agent ids must be unique`,
    );
  }
  const waiting = new Map<string, { jobIndex: number; item: WaitingItem }>();
  const hints: Record<string, number> = {};
  let completionsInWindow = 0;
  let rounds = 0;
  let decisionTotal = 0;
  let decisionMax = 0;
  let clock = 0;

  for (const agent of agents) {
    for (const [start, end] of agent.shifts ?? []) {
      queue.push(start, { kind: 'shift' });
      queue.push(end, { kind: 'shift' });
    }
  }
  if (input.dispatchIntervalSeconds > 0) queue.push(input.dispatchIntervalSeconds, { kind: 'tick' });
  const toMs = (seconds: number) => simulatedEpochMs(input.epochMs, seconds);
  const onShift = shiftTracker(agents);

  const agentStates = (): AgentState[] =>
    agents.map((agent, index) => {
      const activeCount = active[index] ?? 0;
      const status = !onShift(index, clock)
        ? 'offline'
        : activeCount >= agent.capacity
          ? 'busy'
          : 'available';
      return {
        agentId: agent.agentId,
        kind: 'person',
        status,
        skills: agent.skills,
        capacity: agent.capacity,
        activeCount,
        idleSince: toMs(idleSince[index] ?? 0),
      };
    });

  const anyFreeSlot = (): boolean => {
    for (let index = 0; index < agents.length; index++) {
      const agent = agents[index];
      if (agent !== undefined && (active[index] ?? 0) < agent.capacity && onShift(index, clock)) return true;
    }
    return false;
  };

  const dispatch = () => {
    if (waiting.size === 0 || !anyFreeSlot()) return;
    const states = agentStates();
    const round: DispatchRound = {
      now: toMs(clock),
      waiting: [...waiting.values()].map((entry) => entry.item),
      agents: states,
      features,
      ...(input.useHints ? { itemHandlingHints: hints } : {}),
    };
    const started = performance.now();
    const assignments = policy.assign(round);
    const elapsed = performance.now() - started;
    rounds++;
    decisionTotal += elapsed;
    decisionMax = Math.max(decisionMax, elapsed);
    const taken = new Int32Array(agents.length);
    for (const assignment of assignments) {
      const entry = waiting.get(assignment.itemId);
      const agentIndex = agentIndexById.get(assignment.agentId);
      const state = agentIndex === undefined ? undefined : states[agentIndex];
      if (entry === undefined || agentIndex === undefined || state === undefined) {
        throw new PolicyViolationError(
          `${policy.name} assigned ${assignment.itemId} → ${assignment.agentId}, which is not a waiting item / known agent`,
        );
      }
      const stateNow = { ...state, activeCount: state.activeCount + (taken[agentIndex] ?? 0) };
      if (!isEligible(stateNow, entry.item)) {
        throw new PolicyViolationError(
          `${policy.name} assigned ${assignment.itemId} to ${assignment.agentId}, which is not eligible (skills, status or capacity)`,
        );
      }
      taken[agentIndex] = (taken[agentIndex] ?? 0) + 1;
      waiting.delete(assignment.itemId);
      delete hints[assignment.itemId];
      const { jobIndex } = entry;
      const handling = input.handlingSeconds(jobIndex, agentIndex);
      startedAt[jobIndex] = clock;
      assignedAgent[jobIndex] = agentIndex;
      active[agentIndex] = (active[agentIndex] ?? 0) + 1;
      busyInWindow[agentIndex] = (busyInWindow[agentIndex] ?? 0) + overlap(clock, clock + handling, window);
      queue.push(clock + handling, { kind: 'completion', jobIndex, agentIndex });
    }
  };

  let nextJob = 0;
  for (;;) {
    const nextArrival = jobs[nextJob]?.arrivalAt ?? Number.POSITIVE_INFINITY;
    const time = Math.min(nextArrival, queue.peekTime());
    if (time === Number.POSITIVE_INFINITY || time > input.hardStopAt) break;
    clock = time;
    let tick = false;
    // Everything that happens at this instant, then one round.
    while (jobs[nextJob]?.arrivalAt === clock) {
      const job = jobs[nextJob];
      if (job === undefined) break;
      const item: WaitingItem = {
        itemId: job.itemId,
        category: job.category,
        requiredSkills: job.requiredSkills,
        priority: job.priority,
        createdAt: toMs(job.arrivalAt),
        enqueuedAt: toMs(job.arrivalAt),
        slaDueAt: toMs(job.slaDueAt),
        excludedAgents: [],
        ...(job.customerTier === undefined ? {} : { customerTier: job.customerTier }),
      };
      if (waiting.has(job.itemId))
        throw new DuplicateIdError(`item id "${job.itemId}" arrives twice; item ids must be unique`);
      waiting.set(job.itemId, { jobIndex: nextJob, item });
      if (job.hintSeconds !== undefined) hints[job.itemId] = job.hintSeconds;
      if (Number.isFinite(job.patienceSeconds))
        queue.push(clock + job.patienceSeconds, { kind: 'abandon', jobIndex: nextJob });
      nextJob++;
    }
    while (queue.peekTime() === clock) {
      const event = queue.pop()?.payload;
      if (event === undefined) break;
      if (event.kind === 'completion') {
        const { jobIndex, agentIndex } = event;
        completedAt[jobIndex] = clock;
        if (clock >= window[0] && clock < window[1]) completionsInWindow++;
        const agent = agents[agentIndex];
        const wasFull = agent !== undefined && (active[agentIndex] ?? 0) >= agent.capacity;
        active[agentIndex] = (active[agentIndex] ?? 0) - 1;
        if (wasFull || active[agentIndex] === 0) idleSince[agentIndex] = clock;
        if (input.learnOnline) {
          const job = jobs[jobIndex];
          const observed = clock - (startedAt[jobIndex] ?? clock);
          if (job !== undefined && agent !== undefined) {
            const key = `${job.category}#${agent.agentId}`;
            features.global = updateHandlingStats(features.global, observed);
            features.byCategory[job.category] = updateHandlingStats(
              features.byCategory[job.category],
              observed,
            );
            features.byCategoryAgent[key] = updateHandlingStats(features.byCategoryAgent[key], observed);
          }
        }
      } else if (event.kind === 'abandon') {
        const job = jobs[event.jobIndex];
        if (job !== undefined && waiting.has(job.itemId)) {
          waiting.delete(job.itemId);
          delete hints[job.itemId];
          abandonedAt[event.jobIndex] = clock;
        }
      } else if (event.kind === 'tick') {
        tick = true;
        if (nextJob < jobs.length || waiting.size > 0)
          queue.push(clock + input.dispatchIntervalSeconds, { kind: 'tick' });
      }
      // 'shift' events only mark an instant at which availability changes; the round below sees it.
    }
    if (input.dispatchIntervalSeconds === 0 || tick) dispatch();
    if (nextJob >= jobs.length && waiting.size === 0 && queue.size === 0) break;
  }

  const endedAt = Math.min(clock, input.hardStopAt);
  const outcomes: (ItemOutcome & { agentId?: string; itemId: string })[] = [];
  jobs.forEach((job, jobIndex) => {
    if (job.arrivalAt < window[0] || job.arrivalAt >= window[1]) return;
    const started = startedAt[jobIndex] ?? Number.NaN;
    const completed = completedAt[jobIndex] ?? Number.NaN;
    const abandoned = abandonedAt[jobIndex] ?? Number.NaN;
    const agentIndex = assignedAgent[jobIndex] ?? -1;
    outcomes.push({
      itemId: job.itemId,
      arrivedAt: job.arrivalAt,
      slaDueAt: job.slaDueAt,
      ...(Number.isNaN(started) ? {} : { startedAt: started }),
      ...(Number.isNaN(completed) ? {} : { completedAt: completed }),
      ...(Number.isNaN(abandoned) ? {} : { abandonedAt: abandoned }),
      ...(agentIndex >= 0 ? { agentId: agents[agentIndex]?.agentId } : {}),
    });
  });
  const usage: AgentUsage[] = agents.map((agent, index) => ({
    agentId: agent.agentId,
    busySeconds: busyInWindow[index] ?? 0,
    availableSeconds:
      agent.capacity *
      (agent.shifts === undefined
        ? window[1] - window[0]
        : agent.shifts.reduce((sum, [start, end]) => sum + overlap(start, end, window), 0)),
  }));
  const metrics = computeRunMetrics({
    outcomes,
    completionsInWindow,
    windowSeconds: window[1] - window[0],
    endedAt,
    agents: usage,
  });
  return {
    metrics,
    rounds,
    decisionMillis: { total: decisionTotal, max: decisionMax },
    endedAt,
    ...(input.keepOutcomes ? { outcomes } : {}),
  };
}
