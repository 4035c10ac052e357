import { type Estimate, estimate, mean, quantileOfSorted } from './stats';

/** What happened to one item in a run (times in seconds from the run's start). */
export interface ItemOutcome {
  readonly arrivedAt: number;
  readonly slaDueAt: number;
  readonly startedAt?: number;
  readonly completedAt?: number;
  readonly abandonedAt?: number;
}

/** Slot-seconds an agent was busy and on shift inside the measurement window. */
export interface AgentUsage {
  readonly agentId: string;
  readonly busySeconds: number;
  readonly availableSeconds: number;
}

/** The headline figures of one run. Waits in seconds, throughput per hour, rates 0..1. */
export interface RunMetrics {
  readonly arrivals: number;
  readonly completed: number;
  readonly abandoned: number;
  /** Time in queue over every measured arrival: served (until start), abandoned (until leaving), unresolved (until the end). */
  readonly meanWait: number;
  readonly p50Wait: number;
  readonly p90Wait: number;
  /** Arrival to completion, completed items only. */
  readonly meanCycle: number;
  readonly p50Cycle: number;
  readonly p90Cycle: number;
  /** Completed by the SLA due time, over all arrivals (abandoned and unresolved count as misses). */
  readonly slaAttainment: number;
  readonly throughputPerHour: number;
  readonly abandonmentRate: number;
  readonly utilisation: number;
  /** Highest over lowest agent utilisation (1 = perfectly even). */
  readonly fairness: number;
}

export const METRIC_NAMES = [
  'meanWait',
  'p50Wait',
  'p90Wait',
  'meanCycle',
  'p50Cycle',
  'p90Cycle',
  'slaAttainment',
  'throughputPerHour',
  'abandonmentRate',
  'utilisation',
  'fairness',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/**
 * Computes a run's metrics. `outcomes` are the items that arrived inside the measurement window;
 * `completionsInWindow` counts completions inside it (any arrival time) for throughput;
 * `endedAt` is when the run stopped (the wait of unresolved items is censored there).
 */
export function computeRunMetrics(input: {
  readonly outcomes: readonly ItemOutcome[];
  readonly completionsInWindow: number;
  readonly windowSeconds: number;
  readonly endedAt: number;
  readonly agents: readonly AgentUsage[];
}): RunMetrics {
  const { outcomes } = input;
  const waits: number[] = [];
  const cycles: number[] = [];
  let completed = 0;
  let abandoned = 0;
  let withinSla = 0;
  for (const outcome of outcomes) {
    const leftQueueAt = outcome.startedAt ?? outcome.abandonedAt ?? input.endedAt;
    waits.push(Math.max(0, leftQueueAt - outcome.arrivedAt));
    if (outcome.completedAt !== undefined) {
      completed++;
      cycles.push(outcome.completedAt - outcome.arrivedAt);
      if (outcome.completedAt <= outcome.slaDueAt) withinSla++;
    } else if (outcome.abandonedAt !== undefined) {
      abandoned++;
    }
  }
  waits.sort((left, right) => left - right);
  cycles.sort((left, right) => left - right);
  let busy = 0;
  let available = 0;
  const utilisations: number[] = [];
  for (const agent of input.agents) {
    if (agent.availableSeconds <= 0) continue;
    busy += agent.busySeconds;
    available += agent.availableSeconds;
    utilisations.push(agent.busySeconds / agent.availableSeconds);
  }
  const lowest = Math.min(...utilisations);
  const highest = Math.max(...utilisations);
  const arrivals = outcomes.length;
  return {
    arrivals,
    completed,
    abandoned,
    meanWait: mean(waits),
    p50Wait: quantileOfSorted(waits, 0.5),
    p90Wait: quantileOfSorted(waits, 0.9),
    meanCycle: mean(cycles),
    p50Cycle: quantileOfSorted(cycles, 0.5),
    p90Cycle: quantileOfSorted(cycles, 0.9),
    slaAttainment: arrivals === 0 ? Number.NaN : withinSla / arrivals,
    throughputPerHour:
      input.windowSeconds > 0 ? (input.completionsInWindow / input.windowSeconds) * 3600 : Number.NaN,
    abandonmentRate: arrivals === 0 ? Number.NaN : abandoned / arrivals,
    utilisation: available > 0 ? busy / available : Number.NaN,
    fairness: utilisations.length === 0 ? Number.NaN : highest / Math.max(lowest, 1e-3),
  };
}

export type MetricEstimates = { readonly [name in MetricName]: Estimate };

/** Mean and 95% CI of every metric over replications. */
export function summariseReplications(runs: readonly RunMetrics[]): MetricEstimates {
  const result = {} as Record<MetricName, Estimate>;
  for (const name of METRIC_NAMES) result[name] = estimate(runs.map((run) => run[name]));
  return result;
}
