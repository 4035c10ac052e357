import type { HandlingFeatures } from '../../domain/model';
import { createStream, exponential } from '../../domain/random';
import type { SimAgent, SimJob } from '../engine';
import { type LogJob, ReplayError } from './log';

/**
 * Turns jobs read from a log into a replay: the log's own people, skills, concurrency and
 * presence ("the log's own staffing"), its arrivals, and handling times taken from the log.
 *
 * Assumptions, stated because replay cannot observe counterfactuals:
 * - An agent holds a category's skill when it handled at least MIN_JOBS_FOR_SKILL jobs of it
 *   (or any, when nobody reaches that), so policies can only move work within demonstrated skills.
 * - An agent is on shift in every slot (30 min, 1 h or 1 day, by the log's time scale) in which
 *   the log shows it working; its capacity is its time-averaged number of jobs in progress.
 * - A job handled by another agent takes its logged time × (that agent's speed factor / the
 *   original agent's), speed factors being each agent's time relative to category means, shrunk
 *   toward 1.
 * - Abandoned items keep their observed patience; served ones get their observed wait plus an
 *   exponential residual (the maximum-likelihood patience under censoring).
 * - The SLA of a category is the 90th percentile of its logged cycle time.
 */

const MIN_JOBS_FOR_SKILL = 3;
const SPEED_SHRINKAGE = 20;

export interface ReplayModel {
  readonly agents: readonly SimAgent[];
  readonly jobs: readonly SimJob[];
  readonly handlingSeconds: (jobIndex: number, agentIndex: number) => number;
  readonly features: HandlingFeatures;
  readonly window: readonly [number, number];
  readonly hardStopAt: number;
  readonly epochMs: number;
  readonly slotSeconds: number;
  readonly summary: {
    readonly jobs: number;
    readonly served: number;
    readonly abandoned: number;
    readonly agents: number;
    readonly categories: number;
    readonly spanDays: number;
    /** Mean wait in the log itself, for measured arrivals (s). */
    readonly loggedMeanWait: number;
    /** Reason → records of the log that gave no job. */
    readonly skipped: Readonly<Record<string, number>>;
  };
}

function quantile(values: number[], probability: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(probability * (sorted.length - 1)))] ?? 0;
}

export function buildReplayModel(
  logJobs: readonly LogJob[],
  options: {
    seed: number;
    warmupFraction?: number;
    skipped?: Readonly<Record<string, number>>;
    /** The log's file, for error messages. */
    source?: string;
  },
): ReplayModel {
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

  // Agents and their skills.
  const resources = [...new Set(served.map((job) => job.resource))].sort();
  const agentIndex = new Map(resources.map((resource, index) => [resource, index]));
  const categories = [...new Set(logJobs.map((job) => job.category))].sort();
  const counts = resources.map(() => new Map<string, number>());
  for (const job of served) {
    const perAgent = counts[agentIndex.get(job.resource) ?? 0];
    perAgent?.set(job.category, (perAgent.get(job.category) ?? 0) + 1);
  }
  const skills = resources.map(() => new Set<string>());
  for (const category of categories) {
    const holders = resources.filter((_, index) => (counts[index]?.get(category) ?? 0) >= MIN_JOBS_FOR_SKILL);
    const fallback =
      holders.length > 0 ? holders : resources.filter((_, index) => (counts[index]?.get(category) ?? 0) > 0);
    for (const resource of fallback) skills[agentIndex.get(resource) ?? 0]?.add(category);
  }

  // Time scale: presence slots and speed factors.
  const handlingTimes = served.map((job) => (job.endAt - job.startAt) / 1000);
  const medianHandling = quantile(handlingTimes, 0.5);
  const slotSeconds = medianHandling < 1800 ? 1800 : medianHandling < 14_400 ? 3600 : 86_400;
  const categoryMean = new Map<string, number>();
  for (const category of categories) {
    const times = served
      .filter((job) => job.category === category)
      .map((job) => (job.endAt - job.startAt) / 1000);
    categoryMean.set(
      category,
      times.length === 0 ? medianHandling : times.reduce((a, b) => a + b, 0) / times.length,
    );
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

  // Presence and concurrency.
  const slotsOf = resources.map(() => new Set<number>());
  const intervalsOf = resources.map(() => [] as Array<[number, number]>);
  for (const job of served) {
    const index = agentIndex.get(job.resource) ?? 0;
    const start = seconds(job.startAt);
    const end = Math.max(seconds(job.endAt), start + 1);
    intervalsOf[index]?.push([start, end]);
    for (let slot = Math.floor(start / slotSeconds); slot <= Math.floor(end / slotSeconds); slot++)
      slotsOf[index]?.add(slot);
  }
  const agents: SimAgent[] = resources.map((resource, index) => {
    const slots = [...(slotsOf[index] ?? [])].sort((a, b) => a - b);
    const shifts: Array<[number, number]> = [];
    for (const slot of slots) {
      const last = shifts.at(-1);
      if (last !== undefined && last[1] === slot * slotSeconds) last[1] = (slot + 1) * slotSeconds;
      else shifts.push([slot * slotSeconds, (slot + 1) * slotSeconds]);
    }
    // Ids and skills verbatim: folding case or punctuation would merge different people.
    return {
      agentId: resource,
      skills: [...(skills[index] ?? [])].sort().map((category) => ({ skill: category, proficiency: 3 })),
      capacity: meanConcurrency(intervalsOf[index] ?? [], shifts),
      shifts,
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
  const slaByCategory = new Map<string, number>();
  for (const category of categories) {
    const cycles = served
      .filter((job) => job.category === category)
      .map((job) => (job.endAt - job.arrivalAt) / 1000);
    slaByCategory.set(category, Math.max(quantile(cycles, 0.9), 1));
  }

  const replayable = logJobs.filter(
    (job) => job.abandonedAt !== undefined || (job.resource !== undefined && agentIndex.has(job.resource)),
  );
  const jobs: SimJob[] = [];
  const loggedHandling: number[] = [];
  const originalAgent: number[] = [];
  for (const job of replayable) {
    const arrival = seconds(job.arrivalAt);
    const waited = ((job.startAt ?? job.abandonedAt ?? job.arrivalAt) - job.arrivalAt) / 1000;
    const patience =
      job.abandonedAt !== undefined
        ? waited
        : Number.isFinite(meanPatience)
          ? waited + exponential(patienceStream, meanPatience)
          : Number.POSITIVE_INFINITY;
    jobs.push({
      itemId: `j${jobs.length}`,
      arrivalAt: arrival,
      category: job.category,
      requiredSkills: [{ skill: job.category, minProficiency: 1 }],
      priority: job.priority,
      slaDueAt: arrival + (slaByCategory.get(job.category) ?? 86_400),
      patienceSeconds: patience,
    });
    loggedHandling.push(
      job.startAt !== undefined && job.endAt !== undefined ? (job.endAt - job.startAt) / 1000 : 0,
    );
    originalAgent.push(job.resource === undefined ? -1 : (agentIndex.get(job.resource) ?? -1));
  }

  const lastArrival = jobs.at(-1)?.arrivalAt ?? 0;
  const span = lastArrival;
  const window: [number, number] = [span * (options.warmupFraction ?? 0.1), lastArrival + 1];
  const lastShiftEnd = agents.reduce(
    (latest, agent) => (agent.shifts ?? []).reduce((last, shift) => Math.max(last, shift[1]), latest),
    0,
  );
  const measuredWaits = replayable
    .filter((job) => seconds(job.arrivalAt) >= window[0])
    .map((job) => ((job.startAt ?? job.abandonedAt ?? job.arrivalAt) - job.arrivalAt) / 1000);

  return {
    agents,
    jobs,
    handlingSeconds: (jobIndex, agent) => {
      const logged = loggedHandling[jobIndex] ?? 0;
      const original = originalAgent[jobIndex] ?? -1;
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
    slotSeconds,
    summary: {
      jobs: jobs.length,
      served: served.length,
      abandoned: abandonedJobs.length,
      agents: agents.length,
      categories: categories.length,
      spanDays: span / 86_400,
      loggedMeanWait:
        measuredWaits.length === 0 ? 0 : measuredWaits.reduce((a, b) => a + b, 0) / measuredWaits.length,
      skipped: options.skipped ?? {},
    },
  };
}

/**
 * Items the agent works on at once: its time-averaged number of jobs in progress while present,
 * rounded (at least 1). The log's peaks are not its capacity: at the p95 of concurrency nothing
 * would ever queue, unlike in the log itself.
 */
function meanConcurrency(
  intervals: readonly (readonly [number, number])[],
  shifts: readonly (readonly [number, number])[],
): number {
  const busy = intervals.reduce((sum, [start, end]) => sum + (end - start), 0);
  const present = shifts.reduce((sum, [start, end]) => sum + (end - start), 0);
  if (present <= 0) return 1;
  return Math.min(50, Math.max(1, Math.round(busy / present)));
}
