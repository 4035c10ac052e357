import type { LpSolver } from '../../domain/metrics';
import { createStream, exponential, lognormal, weightedIndex } from '../../domain/random';
import type { SimAgent, SimJob } from '../engine';
import { buildWorkforce, buildWorkload, trueHandlingSeconds, type Workload } from '../workload';
import type { TuningScenario } from './scenario';

/**
 * One replication of a tuning scenario: the base workload (simulator/workload.ts, unchanged, so
 * the load is measured against the on-duty workforce only), the people on call appended after
 * everyone else (their speed draws come last, so they do not reshuffle anyone's), and the shift:
 * extra arrivals from its hour on (their own random streams), agents of a group going offline, or
 * a category's handling time multiplied for items that start after it.
 */

export interface TuningWorkload {
  readonly workload: Workload;
  /** Every agent, standby included, with the shift's offline periods. */
  readonly agents: readonly SimAgent[];
  readonly standbyIds: ReadonlySet<string>;
  /** True handling seconds of a job started at `startedAt` (seconds) on an agent. */
  readonly handlingSeconds: (jobIndex: number, agentIndex: number, startedAt: number) => number;
  /** Simulated second at which the shift happens (Infinity: none). */
  readonly shiftAt: number;
}

const HOUR = 3600;

export function buildTuningWorkload(
  tuning: TuningScenario,
  seed: number,
  solver: LpSolver,
  options: { readonly load?: number } = {},
): TuningWorkload {
  const { scenario, extras } = tuning;
  const base = buildWorkload(scenario, options.load ?? scenario.load, seed, solver);
  const withStandby = buildWorkforce(
    {
      ...scenario,
      agents: [
        ...scenario.agents,
        ...extras.standby.map((group) => ({ ...group, categorySpeed: {} as Record<string, number> })),
      ],
    },
    seed,
  );
  const onDutyCount = base.workforce.agents.length;
  const standbyIds = new Set(withStandby.agents.slice(onDutyCount).map((agent) => agent.agentId));
  let workload: Workload = { ...base, workforce: withStandby };
  const shift = extras.shift;
  const shiftAt = shift === undefined ? Number.POSITIVE_INFINITY : shift.atHours * HOUR;

  if (shift?.kind === 'arrivals') workload = withSurge(workload, shiftAt, shift.multiplier, seed);

  let agents: SimAgent[] = [...withStandby.agents];
  if (shift?.kind === 'agents') {
    let lost = 0;
    agents = agents.map((agent, index) => {
      const groupPrefix = `${shift.group}-`;
      if (index >= onDutyCount || !agent.agentId.startsWith(groupPrefix) || lost >= shift.count) return agent;
      lost++;
      return { ...agent, shifts: [[0, shiftAt]] as const };
    });
  }

  const trueSeconds = trueHandlingSeconds(workload);
  const multipliedCategory = shift?.kind === 'handling' ? shift.category : undefined;
  const multiplier = shift?.kind === 'handling' ? shift.multiplier : 1;
  const jobs = workload.jobs;
  return {
    workload,
    agents,
    standbyIds,
    shiftAt,
    handlingSeconds: (jobIndex, agentIndex, startedAt) => {
      const seconds = trueSeconds(jobIndex, agentIndex);
      return multipliedCategory !== undefined &&
        startedAt >= shiftAt &&
        jobs[jobIndex]?.category === multipliedCategory
        ? seconds * multiplier
        : seconds;
    },
  };
}

/** Adds (multiplier − 1) × the base arrival rate from `from` on, with the scenario's mix. */
function withSurge(workload: Workload, from: number, multiplier: number, seed: number): Workload {
  const { scenario } = workload;
  const extraRate = (multiplier - 1) * workload.arrivalRate;
  if (extraRate <= 0) return workload;
  const until = scenario.horizonHours * HOUR * 1.15;
  const times = createStream(seed, 'surge-arrival-times');
  const categories = createStream(seed, 'surge-categories');
  const priorities = createStream(seed, 'surge-priorities');
  const sizes = createStream(seed, 'surge-sizes');
  const patience = createStream(seed, 'surge-patience');
  const shares = scenario.categories.map((category) => category.share);
  const extra: { job: SimJob; size: number; categoryIndex: number }[] = [];
  let time = from;
  for (;;) {
    time += exponential(times, 1 / extraRate);
    if (time >= until) break;
    const categoryIndex = weightedIndex(categories, shares);
    const category = scenario.categories[categoryIndex];
    if (category === undefined) continue;
    const entries = Object.entries(category.priorities);
    const priority = Number(
      entries[
        weightedIndex(
          priorities,
          entries.map(([, weight]) => weight),
        )
      ]?.[0] ?? 3,
    );
    const size = lognormal(sizes, 1, category.handlingCv);
    extra.push({
      job: {
        itemId: `s${extra.length}`,
        arrivalAt: time,
        category: category.name,
        requiredSkills: category.requiredSkills,
        priority,
        slaDueAt: time + category.slaSeconds,
        patienceSeconds:
          category.patienceSeconds === undefined
            ? Number.POSITIVE_INFINITY
            : exponential(patience, category.patienceSeconds),
      },
      size,
      categoryIndex,
    });
  }
  const merged = [
    ...workload.jobs.map((job, index) => ({
      job,
      size: workload.sizes[index] ?? 1,
      categoryIndex: workload.categoryIndex[index] ?? 0,
    })),
    ...extra,
  ].sort((left, right) => left.job.arrivalAt - right.job.arrivalAt);
  return {
    ...workload,
    jobs: merged.map((entry) => entry.job),
    sizes: Float64Array.from(merged.map((entry) => entry.size)),
    categoryIndex: Int32Array.from(merged.map((entry) => entry.categoryIndex)),
  };
}
