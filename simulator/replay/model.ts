import { type AgentUsage, computeRunMetrics, type ItemOutcome, type RunMetrics } from '../../domain/metrics';
import type { HandlingFeatures } from '../../domain/model';
import { createStream, exponential } from '../../domain/random';
import type { SimAgent, SimJob } from '../engine';
import { type LogJob, ReplayError } from './log';

/**
 * Turns jobs read from a log into a replay: the log's own people, skills, concurrency and
 * presence ("the log's own staffing"), its arrivals, and handling times taken from the log.
 *
 * Assumptions, stated because replay cannot observe counterfactuals:
 * - An agent holds a category's skill when the log shows it doing that category at least once,
 *   so policies only move work within demonstrated skills (and the as-logged replay can give
 *   every item to the person who really did it).
 * - Staffing is inferred from the log's work, not from rosters it does not have (StaffingInference):
 *   a person is present from the start of a stretch of their logged work to its end, idle gaps up
 *   to `breakGapSeconds` included; a longer gap is a break or time off. Their capacity is a
 *   quantile of the number of their items in progress when they started one.
 * - A job handled by another agent takes its logged time × (that agent's speed factor / the
 *   original agent's), speed factors being each agent's time relative to category means, shrunk
 *   toward 1.
 * - Abandoned items keep their observed patience; served ones get their observed wait plus an
 *   exponential residual (the maximum-likelihood patience under censoring).
 * - The SLA of a category is the 90th percentile of its logged cycle time.
 */

const SPEED_SHRINKAGE = 20;
const MAX_CAPACITY = 200;

/** How presence and capacity are read out of the log's work (calibrated per log, see fidelity.ts). */
export interface StaffingInference {
  /** Idle gaps up to this long between one person's logged items count as present (s). */
  readonly breakGapSeconds: number;
  /** Capacity = this quantile of the person's concurrency at their logged starts (1 = the most they held). */
  readonly capacityQuantile: number;
}

export const DEFAULT_STAFFING: StaffingInference = { breakGapSeconds: 3600, capacityQuantile: 0.9 };

/**
 * A person's staffing as recorded rather than inferred (Flowtune's own history records every
 * status change): their declared capacity and the stretches they were available (epoch ms).
 */
export interface RosterEntry {
  readonly capacity: number;
  readonly shifts: readonly (readonly [number, number])[];
}
export type Roster = ReadonlyMap<string, RosterEntry>;

export interface ReplayModel {
  readonly agents: readonly SimAgent[];
  readonly jobs: readonly SimJob[];
  readonly handlingSeconds: (jobIndex: number, agentIndex: number) => number;
  readonly features: HandlingFeatures;
  readonly window: readonly [number, number];
  readonly hardStopAt: number;
  readonly epochMs: number;
  readonly staffing: StaffingInference;
  /** Job index → index of the agent the log shows handling it (-1: abandoned in the log). */
  readonly loggedAgent: Int32Array;
  /** Job index → its logged start (s from epoch; NaN when not served in the log). */
  readonly loggedStart: Float64Array;
  /** What really happened in the log, as run metrics (utilisation over the inferred staffing). */
  readonly logged: RunMetrics;
  readonly summary: {
    readonly jobs: number;
    readonly served: number;
    readonly abandoned: number;
    readonly agents: number;
    readonly categories: number;
    readonly spanDays: number;
    /** Mean wait in the log itself, for measured arrivals (s). */
    readonly loggedMeanWait: number;
    /** The log's own busy time over the inferred staffing's available time, measured window. */
    readonly loggedUtilisation: number;
    /** Reason → records of the log that gave no job. */
    readonly skipped: Readonly<Record<string, number>>;
  };
}

function quantile(values: readonly number[], probability: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(probability * (sorted.length - 1)))] ?? 0;
}

function overlap(start: number, end: number, window: readonly [number, number]): number {
  return Math.max(0, Math.min(end, window[1]) - Math.max(start, window[0]));
}

/** Stretches of work: intervals merged across idle gaps of at most `gap` seconds. */
export function presenceOf(
  intervals: readonly (readonly [number, number])[],
  gap: number,
): Array<[number, number]> {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  const shifts: Array<[number, number]> = [];
  for (const [start, end] of sorted) {
    const last = shifts.at(-1);
    if (last !== undefined && start <= last[1] + gap) last[1] = Math.max(last[1], end);
    else shifts.push([start, end]);
  }
  return shifts;
}

/** For each interval, how many of the intervals (itself included) were in progress at its start. */
export function concurrencyAtStarts(intervals: readonly (readonly [number, number])[]): number[] {
  const starts = intervals.map((interval) => interval[0]).sort((a, b) => a - b);
  const ends = intervals.map((interval) => interval[1]).sort((a, b) => a - b);
  const counts: number[] = [];
  let ended = 0;
  for (let index = 0; index < starts.length; index++) {
    const start = starts[index] ?? 0;
    while (ended < ends.length && (ends[ended] ?? 0) <= start) ended++;
    // Starts at the same instant count together: all of them are in progress then.
    let last = index;
    while (last + 1 < starts.length && starts[last + 1] === start) last++;
    for (let same = index; same <= last; same++) counts.push(last + 1 - ended);
    index = last;
  }
  return counts;
}

export function buildReplayModel(
  logJobs: readonly LogJob[],
  options: {
    seed: number;
    warmupFraction?: number;
    staffing?: StaffingInference;
    skipped?: Readonly<Record<string, number>>;
    /** The log's file, for error messages. */
    source?: string;
    /** Recorded staffing, used instead of the inference for the people it names. */
    roster?: Roster;
  },
): ReplayModel {
  const staffing = options.staffing ?? DEFAULT_STAFFING;
  const served = logJobs.filter(
    (job): job is LogJob & { startAt: number; endAt: number; resource: string } =>
      job.startAt !== undefined && job.endAt !== undefined && job.resource !== undefined,
  );
  if (served.length === 0)
    throw new ReplayError(
      `${options.source ?? 'the log'}: no served work (no item has a start, an end and a resource); check the mapping`,
    );
  const epochMs = logJobs.reduce(
    (earliest, job) => Math.min(earliest, job.arrivalAt),
    Number.POSITIVE_INFINITY,
  );
  const seconds = (ms: number) => (ms - epochMs) / 1000;

  // Agents and their skills: every category the log shows them doing.
  const resources = [...new Set(served.map((job) => job.resource))].sort();
  const agentIndex = new Map(resources.map((resource, index) => [resource, index]));
  const categories = [...new Set(logJobs.map((job) => job.category))].sort();
  const skills = resources.map(() => new Set<string>());
  for (const job of served) skills[agentIndex.get(job.resource) ?? 0]?.add(job.category);

  // Speed factors.
  const handlingTimes = served.map((job) => (job.endAt - job.startAt) / 1000);
  const medianHandling = quantile(handlingTimes, 0.5);
  const categoryTotals = new Map<string, { total: number; count: number }>();
  for (const job of served) {
    const entry = categoryTotals.get(job.category) ?? { total: 0, count: 0 };
    entry.total += (job.endAt - job.startAt) / 1000;
    entry.count++;
    categoryTotals.set(job.category, entry);
  }
  const categoryMean = new Map<string, number>();
  for (const category of categories) {
    const entry = categoryTotals.get(category);
    categoryMean.set(category, entry === undefined ? medianHandling : entry.total / entry.count);
  }
  const observed = new Float64Array(resources.length);
  const expected = new Float64Array(resources.length);
  const jobsOf = new Float64Array(resources.length);
  for (const job of served) {
    const index = agentIndex.get(job.resource) ?? 0;
    observed[index] = (observed[index] ?? 0) + (job.endAt - job.startAt) / 1000;
    expected[index] = (expected[index] ?? 0) + (categoryMean.get(job.category) ?? 1);
    jobsOf[index] = (jobsOf[index] ?? 0) + 1;
  }
  const speed = resources.map((_, index) => {
    const ratio = (expected[index] ?? 0) > 0 ? (observed[index] ?? 0) / (expected[index] ?? 1) : 1;
    const n = jobsOf[index] ?? 0;
    return Math.max(0.05, (n * ratio + SPEED_SHRINKAGE) / (n + SPEED_SHRINKAGE));
  });

  // Presence and concurrency from each person's logged work.
  const intervalsOf = resources.map(() => [] as Array<[number, number]>);
  for (const job of served) {
    const start = seconds(job.startAt);
    intervalsOf[agentIndex.get(job.resource) ?? 0]?.push([start, Math.max(seconds(job.endAt), start + 1)]);
  }
  const agents: SimAgent[] = resources.map((resource, index) => {
    const intervals = intervalsOf[index] ?? [];
    const recorded = options.roster?.get(resource);
    if (recorded !== undefined) {
      return {
        agentId: resource,
        skills: [...(skills[index] ?? [])].sort().map((category) => ({ skill: category, proficiency: 3 })),
        capacity: Math.min(MAX_CAPACITY, Math.max(1, recorded.capacity)),
        shifts: recorded.shifts.map(([start, end]): [number, number] => [seconds(start), seconds(end)]),
      };
    }
    const capacity = Math.min(
      MAX_CAPACITY,
      Math.max(1, Math.ceil(quantile(concurrencyAtStarts(intervals), staffing.capacityQuantile))),
    );
    // Ids and skills verbatim: folding case or punctuation would merge different people.
    return {
      agentId: resource,
      skills: [...(skills[index] ?? [])].sort().map((category) => ({ skill: category, proficiency: 3 })),
      capacity,
      shifts: presenceOf(intervals, staffing.breakGapSeconds),
    };
  });

  // Patience: exponential MLE under censoring = total time waited / abandonments.
  const abandonedJobs = logJobs.filter((job) => job.abandonedAt !== undefined);
  const totalWaited =
    abandonedJobs.reduce((sum, job) => sum + ((job.abandonedAt ?? job.arrivalAt) - job.arrivalAt) / 1000, 0) +
    served.reduce((sum, job) => sum + (job.startAt - job.arrivalAt) / 1000, 0);
  const meanPatience =
    abandonedJobs.length === 0 ? Number.POSITIVE_INFINITY : totalWaited / abandonedJobs.length;
  const patienceStream = createStream(options.seed, 'replay-patience');

  // SLA: p90 of the logged cycle per category.
  const cyclesOf = new Map<string, number[]>();
  for (const job of served) {
    const cycles = cyclesOf.get(job.category) ?? [];
    cycles.push((job.endAt - job.arrivalAt) / 1000);
    cyclesOf.set(job.category, cycles);
  }
  const slaByCategory = new Map<string, number>();
  for (const [category, cycles] of cyclesOf) slaByCategory.set(category, Math.max(quantile(cycles, 0.9), 1));

  const replayable = logJobs.filter(
    (job) => job.abandonedAt !== undefined || (job.resource !== undefined && agentIndex.has(job.resource)),
  );
  const jobs: SimJob[] = [];
  const loggedHandling = new Float64Array(replayable.length);
  const loggedAgent = new Int32Array(replayable.length).fill(-1);
  const loggedStart = new Float64Array(replayable.length).fill(Number.NaN);
  for (const job of replayable) {
    const index = jobs.length;
    const arrival = seconds(job.arrivalAt);
    const waited = ((job.startAt ?? job.abandonedAt ?? job.arrivalAt) - job.arrivalAt) / 1000;
    const patience =
      job.abandonedAt !== undefined
        ? waited
        : Number.isFinite(meanPatience)
          ? waited + exponential(patienceStream, meanPatience)
          : Number.POSITIVE_INFINITY;
    jobs.push({
      itemId: `j${index}`,
      arrivalAt: arrival,
      category: job.category,
      requiredSkills: [{ skill: job.category, minProficiency: 1 }],
      priority: job.priority,
      slaDueAt: arrival + (slaByCategory.get(job.category) ?? 86_400),
      patienceSeconds: patience,
    });
    if (job.startAt !== undefined && job.endAt !== undefined && job.resource !== undefined) {
      loggedHandling[index] = (job.endAt - job.startAt) / 1000;
      loggedAgent[index] = agentIndex.get(job.resource) ?? -1;
      loggedStart[index] = seconds(job.startAt);
    }
  }

  const lastArrival = jobs.at(-1)?.arrivalAt ?? 0;
  const span = lastArrival;
  const window: [number, number] = [span * (options.warmupFraction ?? 0.1), lastArrival + 1];
  const lastShiftEnd = agents.reduce(
    (latest, agent) => (agent.shifts ?? []).reduce((last, shift) => Math.max(last, shift[1]), latest),
    0,
  );
  // What really happened, measured as the engine measures a run (same window, same metric code;
  // utilisation over the inferred staffing's capacity × presence), for the "log" column.
  const outcomes: ItemOutcome[] = [];
  let completionsInWindow = 0;
  let endedAt = 0;
  jobs.forEach((job, index) => {
    const source = replayable[index];
    if (source === undefined) return;
    const end = source.endAt === undefined ? undefined : seconds(source.endAt);
    if (end !== undefined) {
      endedAt = Math.max(endedAt, end);
      if (end >= window[0] && end < window[1]) completionsInWindow++;
    }
    if (job.arrivalAt < window[0] || job.arrivalAt >= window[1]) return;
    outcomes.push({
      arrivedAt: job.arrivalAt,
      slaDueAt: job.slaDueAt,
      ...(source.startAt === undefined ? {} : { startedAt: seconds(source.startAt) }),
      ...(end === undefined ? {} : { completedAt: end }),
      ...(source.abandonedAt === undefined ? {} : { abandonedAt: seconds(source.abandonedAt) }),
    });
  });
  const usage: AgentUsage[] = agents.map((agent, index) => ({
    agentId: agent.agentId,
    busySeconds: (intervalsOf[index] ?? []).reduce(
      (sum, [start, end]) => sum + overlap(start, end, window),
      0,
    ),
    availableSeconds:
      agent.capacity *
      (agent.shifts ?? []).reduce((sum, [start, end]) => sum + overlap(start, end, window), 0),
  }));
  const logged = computeRunMetrics({
    outcomes,
    completionsInWindow,
    windowSeconds: window[1] - window[0],
    endedAt,
    agents: usage,
  });

  return {
    agents,
    jobs,
    handlingSeconds: (jobIndex, agent) => {
      const logged = loggedHandling[jobIndex] ?? 0;
      const original = loggedAgent[jobIndex] ?? -1;
      // Abandoned in the log: handling never observed, so use the category mean.
      const base =
        original < 0 ? (categoryMean.get(jobs[jobIndex]?.category ?? '') ?? medianHandling) : logged;
      const originalSpeed = original < 0 ? 1 : (speed[original] ?? 1);
      return Math.max(1, (base * (speed[agent] ?? 1)) / originalSpeed);
    },
    features: { global: { count: 0, mean: 0, m2: 0 }, byCategory: {}, byCategoryAgent: {} },
    window,
    hardStopAt: Math.max(lastShiftEnd, lastArrival) + 30 * 86_400,
    epochMs,
    staffing,
    loggedAgent,
    loggedStart,
    logged,
    summary: {
      jobs: jobs.length,
      served: served.length,
      abandoned: abandonedJobs.length,
      agents: agents.length,
      categories: categories.length,
      spanDays: span / 86_400,
      loggedMeanWait: logged.meanWait,
      loggedUtilisation: logged.utilisation,
      skipped: options.skipped ?? {},
    },
  };
}
