import {
  cMuAgingPolicy,
  earliestDeadlineFirstPolicy,
  fastestServerFirstPolicy,
  longestIdleFcfsPolicy,
  roundRobinPolicy,
  shortestExpectedWorkPolicy,
} from './baselines';
import { flowtunePolicy } from './flowtune';
import type { RoutingPolicy } from './types';

export * from './baselines';
export {
  DEFAULT_FLOWTUNE_WEIGHTS,
  FLOWTUNE_POLICY_VERSION,
  type FlowtuneOptions,
  type FlowtuneWeights,
  flowtunePolicy,
} from './flowtune';
export type { Assignment, DispatchRound, RoutingPolicy } from './types';

/** Builds a fresh policy instance (policies such as round robin keep a cursor, so never share one). */
export type PolicyFactory = () => RoutingPolicy;

/** Every policy by name: Flowtune and the greedy baselines it is measured against. */
export const POLICY_REGISTRY: Readonly<Record<string, PolicyFactory>> = {
  flowtune: () => flowtunePolicy(),
  'round-robin': roundRobinPolicy,
  'longest-idle-fcfs': longestIdleFcfsPolicy,
  'shortest-expected-work': shortestExpectedWorkPolicy,
  'fastest-server-first': fastestServerFirstPolicy,
  'cmu-aging': () => cMuAgingPolicy(),
  edf: earliestDeadlineFirstPolicy,
};

export const BASELINE_POLICY_NAMES: readonly string[] = Object.keys(POLICY_REGISTRY).filter(
  (name) => name !== 'flowtune',
);

/**
 * Looks a policy up by name.
 *
 * @example
 * createPolicy('longest-idle-fcfs').assign(round);
 */
export function createPolicy(name: string): RoutingPolicy {
  const factory = POLICY_REGISTRY[name];
  if (factory === undefined) {
    throw new Error(
      `unknown routing policy "${name}"; choose one of: ${Object.keys(POLICY_REGISTRY).join(', ')}`,
    );
  }
  return factory();
}
