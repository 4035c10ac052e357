import type { AgentState } from '../../domain/model';
import { createStream, exponential, type RandomSource, standardNormal } from '../../domain/random';
import { armKey, type Experiment, experimentArm } from '../../domain/tuning';
import {
  InMemoryAuditLog,
  InMemoryEventPublisher,
  InMemoryFeatureStore,
  InMemoryTables,
} from '../../lambdas/shared/in-memory';
import { PolicyStore } from '../../lambdas/shared/policy-store';
import type { Clock, EventPublisher } from '../../lambdas/shared/ports';
import { InMemoryTuningStore, type TuningStore } from '../../lambdas/shared/tuning-store';

/** Shared fixtures of the tuning tests: in-memory stores and a synthetic operation's observations. */

export const START = Date.parse('2026-03-02T08:00:00Z');
export const MINUTE = 60_000;

export function stores(options: { readonly clock?: Clock; readonly events?: EventPublisher } = {}) {
  const tables = new InMemoryTables();
  const features = new InMemoryFeatureStore(tables);
  const tuning = new InMemoryTuningStore(tables);
  const audit = new InMemoryAuditLog(tables);
  const published = new InMemoryEventPublisher();
  const policies = new PolicyStore({
    versions: tuning,
    features,
    audit,
    events: options.events ?? published,
    clock: options.clock ?? { now: () => START },
  });
  return { tables, features, tuning, audit, published, policies };
}

export function poisson(random: RandomSource, mean: number): number {
  let count = 0;
  let time = exponential(random, 1 / mean);
  while (time < 1) {
    count++;
    time += exponential(random, 1 / mean);
  }
  return count;
}

export function agent(agentId: string, overrides: Partial<AgentState> = {}): AgentState {
  return {
    agentId,
    kind: 'person',
    status: 'available',
    skills: [
      { skill: 'billing', proficiency: 3 },
      { skill: 'orders', proficiency: 3 },
    ],
    capacity: 1,
    activeCount: 0,
    idleSince: 0,
    ...overrides,
  };
}

export interface SyntheticOperation {
  readonly minutes: number;
  /** Arrivals per minute at minute m (split evenly over billing and orders). */
  readonly rate: (minute: number) => number;
  /** SLA attainment of each arm. */
  readonly attainment?: (arm: 'control' | 'treatment' | 'none') => number;
  readonly experiment?: Experiment;
  readonly seed?: number;
}

/**
 * Records a synthetic operation through the store's own `record`: arrivals, completions with
 * log-normal residuals against a 200 s prediction, and SLA outcomes in each item's arm.
 */
export async function seedObservations(store: TuningStore, operation: SyntheticOperation): Promise<number> {
  const random = createStream(operation.seed ?? 1, 'tuning-workflow');
  let items = 0;
  for (let minute = 0; minute < operation.minutes; minute++) {
    const at = START + minute * MINUTE;
    const arrivals = poisson(random, operation.rate(minute));
    for (let index = 0; index < arrivals; index++) {
      const itemId = `T-${items++}`;
      const category = index % 2 === 0 ? 'billing' : 'orders';
      await store.record(
        { kind: 'arrival', at, category, requiredSkills: [{ skill: category, minProficiency: 1 }] },
        `${itemId}#arrival`,
        60,
      );
      await store.record(
        {
          kind: 'completion',
          at,
          category,
          agentId: `a-${index % 40}`,
          // A well-calibrated model: log residuals centred, a quarter of them off by more than 2×.
          observedSeconds: 200 * Math.exp(0.6 * standardNormal(random)),
          predictedSeconds: 200,
        },
        `${itemId}#completion`,
        60,
      );
      const experiment = operation.experiment;
      const arm = experiment === undefined ? 'none' : experimentArm(itemId, experiment);
      const met = random.next() < (operation.attainment?.(arm) ?? 0.95);
      await store.record(
        { kind: 'outcome', at, arm: armKey(experiment?.experimentId, arm), met },
        `${itemId}#outcome`,
        60,
      );
    }
  }
  return items;
}
