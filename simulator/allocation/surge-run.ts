import { summariseErrors } from '../../domain/allocation/forecast';
import { QueueSpec } from '../../domain/allocation/staffing';
import { type Estimate, estimate } from '../../domain/metrics';
import type { HandlingFeatures, HandlingStats, SkillLevel } from '../../domain/model';
import { createStream, exponential, lognormal, type RandomSource } from '../../domain/random';
import { plannedRouting, policyDocumentFor } from '../../domain/tuning/round-plan';
import { runEngine, type SimAgent, type SimJob } from '../engine';
import { SIMULATION_EPOCH_MS } from '../run';
import { type AllocationRun, queueRouting } from './queue-routing';
import type { AllocationScenario, QueueDefinition } from './surge-scenario';

/**
 * Runs an allocation scenario with allocation off (everyone stays in the queue they started in)
 * and on (the allocation job moves people every interval), on identical arrivals, handling times
 * and patience (common random numbers), and measures each queue's service level: the fraction
 * of its arrivals answered within the target time (abandoned and never-answered count as misses).
 */

const HOUR_SECONDS = 3600;
const DAY_MS = 86_400_000;

export interface AllocationWorkload {
  readonly scenario: AllocationScenario;
  readonly seed: number;
  readonly queues: readonly QueueSpec[];
  readonly agents: readonly SimAgent[];
  readonly initialAssignments: Readonly<Record<string, string>>;
  /** Shift ends, epoch ms. */
  readonly shiftEnds: Readonly<Record<string, number | undefined>>;
  readonly jobs: readonly SimJob[];
  readonly handlingByJob: Float64Array;
  /** Epoch ms of simulated time 0. */
  readonly epochMs: number;
  readonly historyStartMs: number;
  readonly historyCounts: Readonly<Record<string, readonly number[]>>;
  readonly features: HandlingFeatures;
  readonly window: readonly [number, number];
  readonly hardStopAt: number;
}

/** Poisson count with the given mean: exponential gaps counted in a unit interval (exact). */
function poisson(random: RandomSource, mean: number): number {
  if (mean <= 0) return 0;
  let count = 0;
  let time = exponential(random, 1 / mean);
  while (time < 1) {
    count++;
    time += exponential(random, 1 / mean);
  }
  return count;
}

/** Arrival rate (1/s) of a queue at a local clock hour, without surges. */
function baseRate(queue: QueueDefinition, clockHour: number): number {
  const multiplier = queue.profile?.[((Math.floor(clockHour) % 24) + 24) % 24] ?? 1;
  return (queue.arrivalsPerHour * multiplier) / HOUR_SECONDS;
}

function surgeMultiplier(queue: QueueDefinition, secondsFromStart: number): number {
  const hour = secondsFromStart / HOUR_SECONDS;
  let multiplier = 1;
  for (const surge of queue.surges)
    if (hour >= surge.fromHour && hour < surge.toHour) multiplier *= surge.multiplier;
  return multiplier;
}

function statsFor(count: number, mean: number, cv: number): HandlingStats {
  return { count, mean, m2: Math.max(0, count - 1) * (cv * mean) ** 2 };
}

/** One replication's concrete workforce, arrival history and run-day workload. */
export function buildAllocationWorkload(scenario: AllocationScenario, seed: number): AllocationWorkload {
  const intervalMinutes = scenario.policy.intervalMinutes;
  const epochMs = SIMULATION_EPOCH_MS + scenario.startHour * HOUR_SECONDS * 1000;
  const historyStartMs = SIMULATION_EPOCH_MS - scenario.historyDays * DAY_MS;
  const intervalSeconds = intervalMinutes * 60;
  const historyIntervals = Math.round((epochMs - historyStartMs) / (intervalSeconds * 1000));

  const queues = scenario.queues.map((queue) =>
    QueueSpec.parse({
      queueId: queue.queueId,
      requiredSkills: queue.requiredSkills,
      target: queue.target,
      ...(queue.patienceSeconds === undefined ? {} : { meanPatienceSeconds: queue.patienceSeconds }),
    }),
  );

  const agents: SimAgent[] = [];
  const initialAssignments: Record<string, string> = {};
  const shiftEnds: Record<string, number | undefined> = {};
  for (const group of scenario.agents) {
    for (let member = 0; member < group.count; member++) {
      const agentId = `${group.group}-${String(member + 1).padStart(2, '0')}`;
      const skills: SkillLevel[] = Object.entries(group.skills).map(([skill, proficiency]) => ({
        skill,
        proficiency,
      }));
      const shift = group.shift;
      agents.push({
        agentId,
        skills,
        capacity: group.capacity,
        ...(shift === undefined
          ? {}
          : { shifts: [[shift[0] * HOUR_SECONDS, shift[1] * HOUR_SECONDS] as const] }),
      });
      initialAssignments[agentId] = group.queue;
      shiftEnds[agentId] = shift === undefined ? undefined : epochMs + shift[1] * HOUR_SECONDS * 1000;
    }
  }

  // History: the usual days, no surges, as interval counts.
  const historyCounts: Record<string, number[]> = {};
  for (const queue of scenario.queues) {
    const random = createStream(seed, `history:${queue.queueId}`);
    historyCounts[queue.queueId] = Array.from({ length: historyIntervals }, (_, index) => {
      const clockHour = ((index * intervalMinutes) / 60) % 24;
      return poisson(random, baseRate(queue, clockHour) * intervalSeconds);
    });
  }

  // The run day: non-homogeneous Poisson arrivals by thinning, per queue on its own stream.
  const horizon = scenario.horizonHours * HOUR_SECONDS;
  const arrivalsUntil = horizon * 1.1;
  const raw: { time: number; queue: QueueDefinition; queueIndex: number }[] = [];
  scenario.queues.forEach((queue, queueIndex) => {
    const random = createStream(seed, `arrivals:${queue.queueId}`);
    const peak =
      Math.max(...Array.from({ length: 24 }, (_, hour) => baseRate(queue, hour))) *
      queue.surges.reduce((product, surge) => product * Math.max(1, surge.multiplier), 1);
    if (peak <= 0) return;
    let time = 0;
    for (;;) {
      time += exponential(random, 1 / peak);
      if (time >= arrivalsUntil) break;
      const rate = baseRate(queue, scenario.startHour + time / HOUR_SECONDS) * surgeMultiplier(queue, time);
      if (random.next() * peak <= rate) raw.push({ time, queue, queueIndex });
    }
  });
  raw.sort((left, right) => left.time - right.time || left.queueIndex - right.queueIndex);
  const sizeStreams = scenario.queues.map((queue) => createStream(seed, `sizes:${queue.queueId}`));
  const patienceStreams = scenario.queues.map((queue) => createStream(seed, `patience:${queue.queueId}`));
  const handling: number[] = [];
  const jobs: SimJob[] = raw.map(({ time, queue, queueIndex }, index) => {
    const sizeStream = sizeStreams[queueIndex] ?? createStream(seed, 'sizes');
    const patienceStream = patienceStreams[queueIndex] ?? createStream(seed, 'patience');
    handling.push(queue.meanHandlingSeconds * lognormal(sizeStream, 1, queue.handlingCv));
    return {
      itemId: `${queue.queueId}-${index}`,
      arrivalAt: time,
      category: queue.queueId,
      requiredSkills: queue.requiredSkills,
      priority: 3,
      slaDueAt: time + queue.target.withinSeconds,
      patienceSeconds:
        queue.patienceSeconds === undefined
          ? Number.POSITIVE_INFINITY
          : exponential(patienceStream, queue.patienceSeconds),
    };
  });

  // The feature store a running deployment would hold: a few hundred past handling times per queue.
  const byCategory: Record<string, HandlingStats> = {};
  let globalCount = 0;
  let globalSum = 0;
  for (const queue of scenario.queues) {
    byCategory[queue.queueId] = statsFor(300, queue.meanHandlingSeconds, queue.handlingCv);
    globalCount += 300;
    globalSum += 300 * queue.meanHandlingSeconds;
  }
  const globalMean = globalCount > 0 ? globalSum / globalCount : 0;

  return {
    scenario,
    seed,
    queues,
    agents,
    initialAssignments,
    shiftEnds,
    jobs,
    handlingByJob: Float64Array.from(handling),
    epochMs,
    historyStartMs,
    historyCounts,
    features: { global: statsFor(globalCount, globalMean, 1), byCategory, byCategoryAgent: {} },
    window: [scenario.warmupHours * HOUR_SECONDS, horizon],
    hardStopAt: horizon * 1.3,
  };
}

export interface QueueOutcome {
  readonly queueId: string;
  readonly arrivals: number;
  readonly answeredWithinTarget: number;
  readonly abandoned: number;
  /** Answered within target / arrivals. */
  readonly serviceLevel: number;
  readonly target: number;
  readonly meanWaitSeconds: number;
  /** Service level per hour of the run (hour index from the start), for the surge's shape. */
  readonly hourly: readonly number[];
}

export interface AllocationRunResult {
  readonly mode: 'off' | 'on';
  readonly queues: readonly QueueOutcome[];
  readonly runs: readonly AllocationRun[];
  readonly movesAutoApplied: number;
  readonly movesForApproval: number;
  /** One-interval-ahead forecast WAPE over the allocation runs, all queues pooled. */
  readonly forecastWape: number;
  readonly finalAssignments: Readonly<Record<string, string>>;
}

/** Runs one replication in one mode. */
export function runAllocationReplication(
  workload: AllocationWorkload,
  mode: 'off' | 'on',
): AllocationRunResult {
  const { scenario } = workload;
  const controller = queueRouting({
    name: `queues(${scenario.routing})${mode === 'on' ? '+allocation' : ''}`,
    queues: workload.queues,
    innerPolicy: () => plannedRouting(policyDocumentFor(scenario.routing)),
    initialAssignments: workload.initialAssignments,
    shiftEnds: workload.shiftEnds,
    ...(mode === 'on'
      ? {
          allocation: {
            policy: scenario.policy,
            forecastOptions: scenario.forecast,
            historyStartMs: workload.historyStartMs,
            historyCounts: workload.historyCounts,
            arrivals: workload.jobs.map((job) => ({
              atMs: workload.epochMs + job.arrivalAt * 1000,
              queueId: job.category,
            })),
            approvalDelayMinutes: 10,
          },
        }
      : {}),
  });
  const result = runEngine({
    agents: workload.agents,
    jobs: workload.jobs,
    policy: controller.policy,
    handlingSeconds: (jobIndex) => workload.handlingByJob[jobIndex] ?? 0,
    features: workload.features,
    learnOnline: true,
    useHints: false,
    window: workload.window,
    hardStopAt: workload.hardStopAt,
    epochMs: workload.epochMs,
    dispatchIntervalSeconds: 0,
    keepOutcomes: true,
  });
  const categoryOf = new Map(workload.jobs.map((job) => [job.itemId, job.category]));
  const hours = Math.ceil(scenario.horizonHours);
  const queues: QueueOutcome[] = workload.queues.map((queue) => {
    const outcomes = (result.outcomes ?? []).filter(
      (outcome) => categoryOf.get(outcome.itemId) === queue.queueId,
    );
    const hourlyArrivals = new Array<number>(hours).fill(0);
    const hourlyAnswered = new Array<number>(hours).fill(0);
    let answered = 0;
    let abandoned = 0;
    let waitTotal = 0;
    for (const outcome of outcomes) {
      const leftQueueAt = outcome.startedAt ?? outcome.abandonedAt ?? result.endedAt;
      waitTotal += Math.max(0, leftQueueAt - outcome.arrivedAt);
      const hour = Math.min(hours - 1, Math.floor(outcome.arrivedAt / HOUR_SECONDS));
      hourlyArrivals[hour] = (hourlyArrivals[hour] ?? 0) + 1;
      if (outcome.abandonedAt !== undefined) abandoned++;
      if (
        outcome.startedAt !== undefined &&
        outcome.startedAt - outcome.arrivedAt <= queue.target.withinSeconds
      ) {
        answered++;
        hourlyAnswered[hour] = (hourlyAnswered[hour] ?? 0) + 1;
      }
    }
    return {
      queueId: queue.queueId,
      arrivals: outcomes.length,
      answeredWithinTarget: answered,
      abandoned,
      serviceLevel: outcomes.length > 0 ? answered / outcomes.length : 1,
      target: queue.target.fraction,
      meanWaitSeconds: outcomes.length > 0 ? waitTotal / outcomes.length : 0,
      hourly: hourlyArrivals.map((count, hour) =>
        count > 0 ? (hourlyAnswered[hour] ?? 0) / count : Number.NaN,
      ),
    };
  });
  const moves = controller.runs.flatMap((run) =>
    run.recommendations.filter((entry) => entry.kind === 'move'),
  );
  return {
    mode,
    queues,
    runs: controller.runs,
    movesAutoApplied: moves.filter((move) => move.decision === 'auto-applied').length,
    movesForApproval: moves.filter((move) => move.decision === 'approval-required').length,
    forecastWape: summariseErrors(controller.forecastTally()).wape,
    finalAssignments: controller.assignments(),
  };
}

export interface QueueComparison {
  readonly queueId: string;
  readonly target: number;
  readonly off: Estimate;
  readonly on: Estimate;
  /** Paired difference on − off (same arrivals in both), service-level points as a fraction. */
  readonly difference: Estimate;
  /** Mean service level per hour of the run (by arrival hour), off and on. */
  readonly hourlyOff: readonly number[];
  readonly hourlyOn: readonly number[];
}

export interface AllocationComparison {
  readonly scenario: string;
  readonly replications: number;
  readonly seed: number;
  readonly queues: readonly QueueComparison[];
  readonly movesAutoApplied: Estimate;
  readonly movesForApproval: Estimate;
  readonly forecastWape: Estimate;
  /** The first replication's allocation runs, to show what was recommended and why. */
  readonly exampleRuns: readonly AllocationRun[];
}

/** Runs `replications` seeds with allocation off and on and compares each queue's service level. */
export function compareAllocation(
  scenario: AllocationScenario,
  options: { readonly replications: number; readonly seed: number },
): AllocationComparison {
  const off: AllocationRunResult[] = [];
  const on: AllocationRunResult[] = [];
  for (let replication = 0; replication < options.replications; replication++) {
    const workload = buildAllocationWorkload(scenario, (options.seed + replication * 7919) >>> 0);
    off.push(runAllocationReplication(workload, 'off'));
    on.push(runAllocationReplication(workload, 'on'));
  }
  const levels = (results: readonly AllocationRunResult[], queueId: string) =>
    results.map(
      (result) => result.queues.find((queue) => queue.queueId === queueId)?.serviceLevel ?? Number.NaN,
    );
  const hourly = (results: readonly AllocationRunResult[], queueId: string) => {
    const perRun = results.map(
      (result) => result.queues.find((queue) => queue.queueId === queueId)?.hourly ?? [],
    );
    const hours = Math.max(0, ...perRun.map((values) => values.length));
    return Array.from(
      { length: hours },
      (_, hour) => estimate(perRun.map((values) => values[hour] ?? Number.NaN)).mean,
    );
  };
  return {
    scenario: scenario.name,
    replications: options.replications,
    seed: options.seed,
    queues: scenario.queues.map((queue) => {
      const offLevels = levels(off, queue.queueId);
      const onLevels = levels(on, queue.queueId);
      return {
        queueId: queue.queueId,
        target: queue.target.fraction,
        off: estimate(offLevels),
        on: estimate(onLevels),
        difference: estimate(onLevels.map((level, index) => level - (offLevels[index] ?? Number.NaN))),
        hourlyOff: hourly(off, queue.queueId),
        hourlyOn: hourly(on, queue.queueId),
      };
    }),
    movesAutoApplied: estimate(on.map((result) => result.movesAutoApplied)),
    movesForApproval: estimate(on.map((result) => result.movesForApproval)),
    forecastWape: estimate(on.map((result) => result.forecastWape)),
    exampleRuns: on[0]?.runs ?? [],
  };
}

function points(value: Estimate): string {
  return `${(value.mean * 100).toFixed(1)} ± ${(value.halfWidth * 100).toFixed(1)}`;
}

/** A plain-text report of the comparison. */
export function formatAllocationComparison(comparison: AllocationComparison): string {
  const lines = [
    `scenario ${comparison.scenario}: ${comparison.replications} replications from seed ${comparison.seed} (95% CIs)`,
    'service level = arrivals answered within the target time / arrivals (abandoned count as misses)',
    '',
    'queue        target   allocation off   allocation on    on − off (points)',
    ...comparison.queues.map(
      (queue) =>
        `  ${queue.queueId.padEnd(10)}${`${(queue.target * 100).toFixed(0)}%`.padStart(6)}   ${points(queue.off).padStart(14)}   ${points(queue.on).padStart(14)}   ${points(queue.difference).padStart(14)}`,
    ),
    '',
    'service level by hour of arrival (off → on)',
    ...comparison.queues.map(
      (queue) =>
        `  ${queue.queueId.padEnd(10)}${queue.hourlyOff
          .map((level, hour) =>
            `${Number.isFinite(level) ? (level * 100).toFixed(0) : '–'}→${Number.isFinite(queue.hourlyOn[hour] ?? Number.NaN) ? ((queue.hourlyOn[hour] ?? 0) * 100).toFixed(0) : '–'}`.padStart(
              8,
            ),
          )
          .join('')}`,
    ),
    '',
    `moves per run: ${comparison.movesAutoApplied.mean.toFixed(1)} applied automatically, ${comparison.movesForApproval.mean.toFixed(1)} left for approval (approved after 10 simulated minutes)`,
    `forecast WAPE (one interval ahead, all queues): ${(comparison.forecastWape.mean * 100).toFixed(1)}%`,
  ];
  const firstMove = comparison.exampleRuns.flatMap((run) => run.recommendations)[0];
  if (firstMove !== undefined)
    lines.push('', 'first recommendation of the first replication:', `  ${firstMove.reason}`);
  return lines.join('\n');
}
