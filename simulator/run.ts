import type { LpSolver } from '../domain/metrics';
import {
  erlangA,
  erlangC,
  type MetricEstimates,
  type RunMetrics,
  summariseReplications,
} from '../domain/metrics';
import { plannedRouting, policyDocumentFor } from '../domain/tuning/round-plan';
import { type EngineResult, runEngine } from './engine';
import type { Scenario } from './scenario';
import { buildWorkload, trueHandlingSeconds, type Workload } from './workload';

/** Fixed epoch for simulated time (a Monday 00:00 UTC), so dates in explanations are stable. */
export const SIMULATION_EPOCH_MS = Date.parse('2026-01-05T00:00:00Z');

export interface ReplicationResult {
  readonly seed: number;
  readonly metrics: RunMetrics;
  readonly rounds: number;
  readonly meanDecisionMillis: number;
  readonly maxDecisionMillis: number;
  readonly throughputBoundPerHour: number;
  readonly arrivalRatePerHour: number;
  readonly capacityPerHour: number;
  readonly slaCeiling: number;
}

export interface SimulationSummary {
  readonly scenario: string;
  readonly policy: string;
  readonly load: number;
  readonly replications: number;
  readonly seed: number;
  readonly metrics: MetricEstimates;
  readonly throughputBoundPerHour: number;
  /** Completions per hour over the LP bound (1 = the best any policy could do). */
  readonly throughputVsBound: number;
  /** SLA attainment with zero waiting on the fastest eligible agents: no policy can exceed it. */
  readonly slaCeiling: number;
  readonly reference: PooledReference;
  readonly runs: readonly ReplicationResult[];
}

/** Erlang C / A for the whole workforce pooled: what a single perfectly flexible team would see. */
export interface PooledReference {
  readonly agents: number;
  readonly meanHandlingSeconds: number;
  readonly erlangCMeanWait: number;
  readonly erlangAMeanWait: number | null;
  readonly erlangAAbandonment: number | null;
}

/** Applies the prediction variants the benchmark compares: as specified, noisy, or absent. */
/**
 * The prediction variants the benchmark compares: as the scenario says; noisy item-level
 * predictions (CV 1.0); absent item-level predictions (only the learned category × agent
 * statistics); cold (no statistics, no learning, no item-level predictions at all).
 */
export type PredictionVariant = 'scenario' | 'noisy' | 'absent' | 'cold';

export function withPredictions(scenario: Scenario, variant: PredictionVariant): Scenario {
  if (variant === 'noisy')
    return { ...scenario, predictions: { ...scenario.predictions, mode: 'learned', noiseCv: 1 } };
  if (variant === 'absent')
    return { ...scenario, predictions: { ...scenario.predictions, mode: 'learned', noiseCv: null } };
  if (variant === 'cold')
    return { ...scenario, predictions: { ...scenario.predictions, mode: 'none', noiseCv: null } };
  return scenario;
}

export function replicationSeed(seed: number, replication: number): number {
  return (seed + replication * 7919) >>> 0;
}

export function runReplication(workload: Workload, policyName: string): EngineResult {
  const absent = workload.scenario.predictions.mode === 'none';
  return runEngine({
    agents: workload.workforce.agents,
    jobs: workload.jobs,
    policy: plannedRouting(policyDocumentFor(policyName)),
    handlingSeconds: trueHandlingSeconds(workload),
    features: workload.features,
    learnOnline: !absent,
    useHints: !absent && workload.scenario.predictions.noiseCv !== null,
    window: workload.window,
    hardStopAt: workload.hardStopAt,
    epochMs: SIMULATION_EPOCH_MS,
    dispatchIntervalSeconds: workload.scenario.dispatchIntervalSeconds,
  });
}

export function toReplicationResult(workload: Workload, result: EngineResult): ReplicationResult {
  return {
    seed: workload.seed,
    metrics: result.metrics,
    rounds: result.rounds,
    meanDecisionMillis: result.rounds === 0 ? 0 : result.decisionMillis.total / result.rounds,
    maxDecisionMillis: result.decisionMillis.max,
    throughputBoundPerHour: workload.throughputBoundPerHour,
    arrivalRatePerHour: workload.arrivalRate * 3600,
    capacityPerHour: workload.capacityRate * 3600,
    slaCeiling: workload.slaCeiling,
  };
}

export function pooledReference(workload: Workload): PooledReference {
  const { scenario } = workload;
  const totalShare = scenario.categories.reduce((sum, category) => sum + category.share, 0);
  const slots = workload.workforce.agents.reduce((sum, agent) => sum + agent.capacity, 0);
  // Handling time of the pooled system at the LP's capacity: slots / capacity rate.
  const meanHandlingSeconds = slots / workload.capacityRate;
  const target = scenario.categories.reduce(
    (sum, category) => sum + (category.share / totalShare) * category.slaSeconds,
    0,
  );
  const patienceCategories = scenario.categories.filter((category) => category.patienceSeconds !== undefined);
  const meanPatience =
    patienceCategories.length === 0
      ? undefined
      : patienceCategories.reduce(
          (sum, category) => sum + (category.patienceSeconds ?? 0) * category.share,
          0,
        ) / patienceCategories.reduce((sum, category) => sum + category.share, 0);
  const erlangCResult = erlangC(slots, workload.arrivalRate, meanHandlingSeconds, target);
  const erlangAResult =
    meanPatience === undefined
      ? undefined
      : erlangA(slots, workload.arrivalRate, meanHandlingSeconds, meanPatience, target);
  return {
    agents: slots,
    meanHandlingSeconds,
    erlangCMeanWait: erlangCResult.meanWaitSeconds,
    erlangAMeanWait: erlangAResult?.meanWaitSeconds ?? null,
    erlangAAbandonment: erlangAResult?.abandonment ?? null,
  };
}

/** Runs `replications` of one scenario × policy × load and summarises them with 95% CIs. */
export function simulate(input: {
  readonly scenario: Scenario;
  readonly policy: string;
  readonly load: number;
  readonly replications: number;
  readonly seed: number;
  readonly solver: LpSolver;
  readonly onReplication?: (done: number) => void;
}): SimulationSummary {
  const runs: ReplicationResult[] = [];
  let reference: PooledReference | undefined;
  for (let replication = 0; replication < input.replications; replication++) {
    const workload = buildWorkload(
      input.scenario,
      input.load,
      replicationSeed(input.seed, replication),
      input.solver,
    );
    reference ??= pooledReference(workload);
    runs.push(toReplicationResult(workload, runReplication(workload, input.policy)));
    input.onReplication?.(replication + 1);
  }
  const metrics = summariseReplications(runs.map((run) => run.metrics));
  const bound = runs.reduce((sum, run) => sum + run.throughputBoundPerHour, 0) / Math.max(runs.length, 1);
  return {
    scenario: input.scenario.name,
    policy: input.policy,
    load: input.load,
    replications: input.replications,
    seed: input.seed,
    metrics,
    throughputBoundPerHour: bound,
    throughputVsBound: metrics.throughputPerHour.mean / bound,
    slaCeiling: runs.reduce((sum, run) => sum + run.slaCeiling, 0) / Math.max(runs.length, 1),
    reference: reference ?? {
      agents: 0,
      meanHandlingSeconds: 0,
      erlangCMeanWait: 0,
      erlangAMeanWait: null,
      erlangAAbandonment: null,
    },
    runs,
  };
}
