import type { LpSolver } from '../../domain/metrics';
import { createStream } from '../../domain/random';
import { DEFAULT_FLOWTUNE_WEIGHTS, flowtunePolicy } from '../../domain/routing';
import { runEngine } from '../engine';
import { replicationSeed, SIMULATION_EPOCH_MS } from '../run';
import type { Scenario } from '../scenario';
import { buildWorkload, trueHandlingSeconds, type Workload } from '../workload';

/**
 * What the customer's tier does to service, measured in the simulator on the routing code the
 * dispatcher runs: every replication is run twice on the same arrivals, handling times and tiers
 * (common random numbers), once with the policy's `customer` weight (the tier counted as extra
 * priority points in the cost) and once with it at 0 (the tier ignored). Gold and platinum items'
 * SLA attainment should rise; the others may lose a little, within the stated bound.
 */

/** Share of items from gold customers unless told otherwise. */
export const DEFAULT_GOLD_SHARE = 0.2;
/** The claim: the others lose at most this much SLA attainment (absolute points) on average. */
export const OTHERS_MAX_LOSS_POINTS = 3;

export interface TierArm {
  /** SLA attainment of gold items (completed by their due time, over gold arrivals in the window). */
  readonly gold: number;
  readonly others: number;
  readonly all: number;
  readonly goldArrivals: number;
  readonly otherArrivals: number;
}

export interface TierReplication {
  readonly seed: number;
  readonly withTier: TierArm;
  readonly withoutTier: TierArm;
}

export interface CustomerValueResult {
  readonly scenario: string;
  readonly load: number;
  readonly goldShare: number;
  readonly customerWeight: number;
  readonly replications: readonly TierReplication[];
  /** Means over replications, in SLA-attainment points (0..100). */
  readonly goldGainPoints: number;
  readonly othersChangePoints: number;
  readonly othersMaxLossPoints: number;
  /** Gold attainment up and the others' loss within the bound. */
  readonly claimHolds: boolean;
}

/** Gives each job a tier from its own random stream: the other draws are untouched. */
export function withGoldCustomers(workload: Workload, goldShare: number): Workload {
  const stream = createStream(workload.seed, 'customer-tiers');
  return {
    ...workload,
    jobs: workload.jobs.map((job) => ({
      ...job,
      customerTier: stream.next() < goldShare ? 'gold' : 'standard',
    })),
  };
}

function runArm(workload: Workload, customerWeight: number): TierArm {
  const absent = workload.scenario.predictions.mode === 'none';
  const result = runEngine({
    agents: workload.workforce.agents,
    jobs: workload.jobs,
    policy: flowtunePolicy({ weights: { customer: customerWeight } }),
    handlingSeconds: trueHandlingSeconds(workload),
    features: workload.features,
    learnOnline: !absent,
    useHints: !absent && workload.scenario.predictions.noiseCv !== null,
    window: workload.window,
    hardStopAt: workload.hardStopAt,
    epochMs: SIMULATION_EPOCH_MS,
    dispatchIntervalSeconds: workload.scenario.dispatchIntervalSeconds,
    keepOutcomes: true,
  });
  const tierOf = new Map(workload.jobs.map((job) => [job.itemId, job.customerTier ?? 'standard']));
  const counts = { gold: [0, 0], others: [0, 0] };
  for (const outcome of result.outcomes ?? []) {
    const met = outcome.completedAt !== undefined && outcome.completedAt <= outcome.slaDueAt ? 1 : 0;
    const bucket = tierOf.get(outcome.itemId) === 'standard' ? counts.others : counts.gold;
    bucket[0] = (bucket[0] ?? 0) + met;
    bucket[1] = (bucket[1] ?? 0) + 1;
  }
  const rate = ([met, total]: number[]) => ((total ?? 0) === 0 ? Number.NaN : (met ?? 0) / (total ?? 1));
  return {
    gold: rate(counts.gold),
    others: rate(counts.others),
    all: result.metrics.slaAttainment,
    goldArrivals: counts.gold[1] ?? 0,
    otherArrivals: counts.others[1] ?? 0,
  };
}

const mean = (values: readonly number[]) =>
  values.reduce((sum, value) => sum + value, 0) / Math.max(values.length, 1);

/**
 * Runs `replications` of the scenario with the tier weighed in and ignored.
 *
 * @example
 * const result = evaluateCustomerValue({ scenario, load: 0.95, replications: 4, seed: 1, solver });
 * result.goldGainPoints; // e.g. +6.1
 */
export function evaluateCustomerValue(input: {
  readonly scenario: Scenario;
  readonly load: number;
  readonly replications: number;
  readonly seed: number;
  readonly solver: LpSolver;
  readonly goldShare?: number;
  /** The policy's `customer` weight under test. @default DEFAULT_FLOWTUNE_WEIGHTS.customer */
  readonly customerWeight?: number;
  readonly onReplication?: (done: number) => void;
}): CustomerValueResult {
  const goldShare = input.goldShare ?? DEFAULT_GOLD_SHARE;
  const customerWeight = input.customerWeight ?? DEFAULT_FLOWTUNE_WEIGHTS.customer;
  const replications: TierReplication[] = [];
  for (let index = 0; index < input.replications; index++) {
    const seed = replicationSeed(input.seed, index);
    const workload = withGoldCustomers(
      buildWorkload(input.scenario, input.load, seed, input.solver),
      goldShare,
    );
    replications.push({ seed, withTier: runArm(workload, customerWeight), withoutTier: runArm(workload, 0) });
    input.onReplication?.(index + 1);
  }
  const goldGainPoints = 100 * mean(replications.map((run) => run.withTier.gold - run.withoutTier.gold));
  const othersChangePoints =
    100 * mean(replications.map((run) => run.withTier.others - run.withoutTier.others));
  return {
    scenario: input.scenario.name,
    load: input.load,
    goldShare,
    customerWeight,
    replications,
    goldGainPoints,
    othersChangePoints,
    othersMaxLossPoints: OTHERS_MAX_LOSS_POINTS,
    claimHolds: goldGainPoints > 0 && othersChangePoints >= -OTHERS_MAX_LOSS_POINTS,
  };
}
