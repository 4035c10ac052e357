import {
  capacityModel,
  type FluidSystem,
  type LpSolver,
  solveOptimal,
  throughputModel,
} from '../domain/metrics';
import type { HandlingFeatures, HandlingStats, SkillLevel } from '../domain/model';
import { createStream, exponential, lognormal, type RandomSource, weightedIndex } from '../domain/random';
import { lognormalSurvival, updateHandlingStats } from '../domain/scoring';
import type { SimAgent, SimJob } from './engine';
import type { Scenario } from './scenario';

/**
 * Turns a scenario, a load and a seed into one replication's concrete workforce and workload.
 * Every random quantity comes from its own named stream, so all policies run on identical
 * arrivals, sizes, patience and prediction noise (common random numbers), and changing one
 * setting (say, the noise CV) does not reshuffle the others.
 */

export interface Workforce {
  readonly agents: readonly SimAgent[];
  /** factors[agent][category]: multiplier on the category's mean handling time. */
  readonly factors: readonly Float64Array[];
  /** eligible[agent][category] */
  readonly eligible: readonly Uint8Array[];
}

export interface Workload {
  readonly scenario: Scenario;
  readonly load: number;
  readonly seed: number;
  readonly workforce: Workforce;
  readonly jobs: readonly SimJob[];
  /** Item size (mean 1) by job index; true handling = size × category mean × agent factor. */
  readonly sizes: Float64Array;
  readonly categoryIndex: Int32Array;
  /** Items/s the workforce can sustain with the scenario's mix (static planning LP). */
  readonly capacityRate: number;
  /** Mean arrival rate, items/s (= load × capacityRate). */
  readonly arrivalRate: number;
  readonly window: readonly [number, number];
  readonly hardStopAt: number;
  readonly features: HandlingFeatures;
  /** LP bound on completions per hour in the measurement window, given the arrivals in it. */
  readonly throughputBoundPerHour: number;
  /**
   * SLA attainment if every item started at once on the fastest agent able to take it: what the
   * handling-time tails alone allow, whatever the routing (an upper bound on attainment).
   */
  readonly slaCeiling: number;
}

const EMPTY_STATS: HandlingStats = { count: 0, mean: 0, m2: 0 };

export function buildWorkforce(scenario: Scenario, seed: number): Workforce {
  const speedStream = createStream(seed, 'agent-speed');
  const interactionStream = createStream(seed, 'agent-category-speed');
  const agents: SimAgent[] = [];
  const factors: Float64Array[] = [];
  const eligible: Uint8Array[] = [];
  for (const group of scenario.agents) {
    for (let member = 0; member < group.count; member++) {
      const skills: SkillLevel[] = Object.entries(group.skills).map(([skill, proficiency]) => ({
        skill,
        proficiency,
      }));
      const overall = lognormal(speedStream, group.speed, scenario.heterogeneity.agentSpeedCv);
      const agentFactors = new Float64Array(scenario.categories.length);
      const agentEligible = new Uint8Array(scenario.categories.length);
      scenario.categories.forEach((category, index) => {
        const interaction = lognormal(interactionStream, 1, scenario.heterogeneity.agentCategorySpeedCv);
        agentFactors[index] = overall * (group.categorySpeed[category.name] ?? 1) * interaction;
        agentEligible[index] = category.requiredSkills.every(
          (level) => (group.skills[level.skill] ?? 0) >= level.minProficiency,
        )
          ? 1
          : 0;
      });
      agents.push({
        agentId: `${group.group}-${String(member + 1).padStart(3, '0')}`,
        skills,
        capacity: group.capacity,
      });
      factors.push(agentFactors);
      eligible.push(agentEligible);
    }
  }
  return { agents, factors, eligible };
}

export function fluidSystem(
  scenario: Scenario,
  workforce: Workforce,
  demand: readonly number[],
): FluidSystem {
  return {
    demand,
    agentSlots: workforce.agents.map((agent) => agent.capacity),
    handlingSeconds: (category, agent) =>
      workforce.eligible[agent]?.[category] === 1
        ? (scenario.categories[category]?.meanHandlingSeconds ?? 0) *
          (workforce.factors[agent]?.[category] ?? 1)
        : Number.POSITIVE_INFINITY,
  };
}

/**
 * The daily profile's multiplier for each simulated hour, normalised so that the mean over the
 * simulated horizon is 1: "load 0.9" is then the load averaged over the period simulated, with
 * peaks above it and troughs below.
 */
function hourlyMultipliers(scenario: Scenario, hours: number): number[] {
  const profile = scenario.arrivals.profile;
  const raw = Array.from(
    { length: hours },
    (_, hour) => profile?.[(scenario.arrivals.startHour + hour) % 24] ?? 1,
  );
  const horizonHours = Math.max(1, Math.ceil(scenario.horizonHours));
  const meanOverHorizon =
    raw.slice(0, horizonHours).reduce((sum, value) => sum + value, 0) / Math.min(horizonHours, raw.length);
  return raw.map((value) => (meanOverHorizon > 0 ? value / meanOverHorizon : 1));
}

/** Arrival-rate multiplier at time t (seconds from start): daily profile × bursts. */
function rateMultiplier(
  scenario: Scenario,
  hourly: readonly number[],
  bursts: readonly (readonly [number, number])[],
) {
  const burstMultiplier = scenario.arrivals.bursts?.multiplier ?? 1;
  return (time: number): number => {
    let multiplier = hourly[Math.floor(time / 3600)] ?? 1;
    for (const [start, end] of bursts) {
      if (time >= start && time < end) {
        multiplier *= burstMultiplier;
        break;
      }
    }
    return multiplier;
  };
}

function drawBursts(scenario: Scenario, random: RandomSource, until: number): Array<[number, number]> {
  const spec = scenario.arrivals.bursts;
  if (spec === undefined || spec.perDay <= 0) return [];
  const bursts: Array<[number, number]> = [];
  let time = exponential(random, 86_400 / spec.perDay);
  while (time < until) {
    bursts.push([time, time + spec.durationMinutes * 60]);
    time += exponential(random, 86_400 / spec.perDay);
  }
  return bursts;
}

/** Features the deployment would already hold: `historyPerCell` past outcomes per eligible category × agent. */
function seedFeatures(scenario: Scenario, workforce: Workforce, seed: number): HandlingFeatures {
  const history = scenario.predictions.mode === 'none' ? 0 : scenario.predictions.historyPerCell;
  const random = createStream(seed, 'history');
  let global = EMPTY_STATS;
  const byCategory: Record<string, HandlingStats> = {};
  const byCategoryAgent: Record<string, HandlingStats> = {};
  if (history === 0) return { global, byCategory, byCategoryAgent };
  workforce.agents.forEach((agent, agentIndex) => {
    scenario.categories.forEach((category, categoryIndex) => {
      if (workforce.eligible[agentIndex]?.[categoryIndex] !== 1) return;
      const key = `${category.name}#${agent.agentId}`;
      const mean = category.meanHandlingSeconds * (workforce.factors[agentIndex]?.[categoryIndex] ?? 1);
      for (let draw = 0; draw < history; draw++) {
        const seconds = lognormal(random, mean, category.handlingCv);
        global = updateHandlingStats(global, seconds);
        byCategory[category.name] = updateHandlingStats(byCategory[category.name], seconds);
        byCategoryAgent[key] = updateHandlingStats(byCategoryAgent[key], seconds);
      }
    });
  });
  return { global, byCategory, byCategoryAgent };
}

/**
 * Builds replication `seed` of `scenario` at `load` (fraction of LP capacity). Arrivals run to
 * 115% of the horizon so the measured items see a loaded system to the end; the run stops at 130%.
 */
export function buildWorkload(scenario: Scenario, load: number, seed: number, solver: LpSolver): Workload {
  const workforce = buildWorkforce(scenario, seed);
  const shares = scenario.categories.map((category) => category.share);
  const capacityRate = solveOptimal(
    solver,
    capacityModel(fluidSystem(scenario, workforce, shares)),
    'capacity LP',
  );
  const arrivalRate = load * capacityRate;
  const horizon = scenario.horizonHours * 3600;
  const window: [number, number] = [scenario.warmupHours * 3600, horizon];
  const arrivalsUntil = horizon * 1.15;

  const timeStream = createStream(seed, 'arrival-times');
  const categoryStream = createStream(seed, 'categories');
  const priorityStream = createStream(seed, 'priorities');
  const sizeStream = createStream(seed, 'sizes');
  const patienceStream = createStream(seed, 'patience');
  const noiseStream = createStream(seed, 'hint-noise');
  const bursts = drawBursts(scenario, createStream(seed, 'bursts'), arrivalsUntil);
  const hourly = hourlyMultipliers(scenario, Math.ceil(arrivalsUntil / 3600) + 1);
  const multiplier = rateMultiplier(scenario, hourly, bursts);
  const peakRate = arrivalRate * Math.max(...hourly) * (scenario.arrivals.bursts?.multiplier ?? 1);

  const jobs: SimJob[] = [];
  const sizes: number[] = [];
  const categoryIndices: number[] = [];
  const noiseCv = scenario.predictions.mode === 'none' ? null : scenario.predictions.noiseCv;
  let time = 0;
  // Non-homogeneous Poisson arrivals by thinning.
  for (;;) {
    time += exponential(timeStream, 1 / peakRate);
    if (time >= arrivalsUntil) break;
    if (timeStream.next() * peakRate > arrivalRate * multiplier(time)) continue;
    const categoryIndex = weightedIndex(categoryStream, shares);
    const category = scenario.categories[categoryIndex];
    if (category === undefined) continue;
    const priorityEntries = Object.entries(category.priorities);
    const priority = Number(
      priorityEntries[
        weightedIndex(
          priorityStream,
          priorityEntries.map(([, weight]) => weight),
        )
      ]?.[0] ?? 3,
    );
    const size = lognormal(sizeStream, 1, category.handlingCv);
    const patience =
      category.patienceSeconds === undefined
        ? Number.POSITIVE_INFINITY
        : exponential(patienceStream, category.patienceSeconds);
    const noise = lognormal(noiseStream, 1, noiseCv ?? 0);
    jobs.push({
      itemId: `i${jobs.length}`,
      arrivalAt: time,
      category: category.name,
      requiredSkills: category.requiredSkills,
      priority,
      slaDueAt: time + category.slaSeconds,
      patienceSeconds: patience,
      ...(noiseCv === null ? {} : { hintSeconds: category.meanHandlingSeconds * size * noise }),
    });
    sizes.push(size);
    categoryIndices.push(categoryIndex);
  }

  const windowDemand = scenario.categories.map(() => 0);
  jobs.forEach((job, index) => {
    // The steady-state fluid bound: the window's own arrivals. (A warm-up backlog can add a few
    // completions, and the window's last arrivals finish after it ends; the two roughly cancel.)
    if (job.arrivalAt >= window[0] && job.arrivalAt < window[1]) {
      const categoryIndex = categoryIndices[index] ?? 0;
      windowDemand[categoryIndex] = (windowDemand[categoryIndex] ?? 0) + 1;
    }
  });
  const windowSeconds = window[1] - window[0];
  const throughputBound = solveOptimal(
    solver,
    throughputModel(fluidSystem(scenario, workforce, windowDemand), windowSeconds),
    'throughput LP',
  );

  return {
    scenario,
    load,
    seed,
    workforce,
    jobs,
    sizes: Float64Array.from(sizes),
    categoryIndex: Int32Array.from(categoryIndices),
    capacityRate,
    arrivalRate,
    window,
    hardStopAt: horizon * 1.3,
    features: seedFeatures(scenario, workforce, seed),
    throughputBoundPerHour: (throughputBound / windowSeconds) * 3600,
    slaCeiling: slaCeiling(scenario, workforce),
  };
}

function slaCeiling(scenario: Scenario, workforce: Workforce): number {
  const totalShare = scenario.categories.reduce((sum, category) => sum + category.share, 0);
  let ceiling = 0;
  scenario.categories.forEach((category, categoryIndex) => {
    let fastest = Number.POSITIVE_INFINITY;
    workforce.factors.forEach((factors, agentIndex) => {
      if (workforce.eligible[agentIndex]?.[categoryIndex] === 1)
        fastest = Math.min(fastest, factors[categoryIndex] ?? 1);
    });
    const withinSla =
      1 - lognormalSurvival(category.slaSeconds, category.meanHandlingSeconds * fastest, category.handlingCv);
    ceiling += (category.share / totalShare) * withinSla;
  });
  return ceiling;
}

/** True handling seconds of a job on an agent: size × category mean × the agent's factor. */
export function trueHandlingSeconds(workload: Workload): (jobIndex: number, agentIndex: number) => number {
  const means = workload.scenario.categories.map((category) => category.meanHandlingSeconds);
  return (jobIndex, agentIndex) => {
    const categoryIndex = workload.categoryIndex[jobIndex] ?? 0;
    return (
      (workload.sizes[jobIndex] ?? 1) *
      (means[categoryIndex] ?? 0) *
      (workload.workforce.factors[agentIndex]?.[categoryIndex] ?? 1)
    );
  };
}
