import {
  cMuAgingPolicy,
  earliestDeadlineFirstPolicy,
  fastestServerFirstPolicy,
  longestIdleFcfsPolicy,
  roundRobinPolicy,
  shortestExpectedWorkPolicy,
} from './baselines';
import { DEFAULT_FLOWTUNE_WEIGHTS, flowtunePolicy } from './flowtune';
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

/** The weight names Flowtune's cost knows (a policy document may set any subset). */
export const FLOWTUNE_WEIGHT_NAMES: readonly string[] = Object.keys(DEFAULT_FLOWTUNE_WEIGHTS);

/**
 * What is wrong with a policy document's `routing` section, one message per problem (empty when
 * it is sound): an unregistered strategy, a weight name Flowtune's cost does not know (a typo
 * must not silently mean "default"), weights on a baseline (which has none), a non-finite weight.
 * The policy schema and the routing factory both use it, so a bad section is refused everywhere.
 *
 * @example
 * routingSectionProblems({ strategy: 'flowtune', weights: { slaa: 6 } });
 * // ['unknown flowtune weight "slaa"; known: handling, advantage, ...']
 */
export function routingSectionProblems(routing: {
  readonly strategy: string;
  readonly weights: Readonly<Record<string, number>>;
}): string[] {
  const problems: string[] = [];
  if (POLICY_REGISTRY[routing.strategy] === undefined) {
    problems.push(
      `unknown routing strategy "${routing.strategy}"; choose one of: ${Object.keys(POLICY_REGISTRY).join(', ')}`,
    );
    return problems;
  }
  for (const [name, value] of Object.entries(routing.weights)) {
    if (routing.strategy !== 'flowtune') {
      problems.push(`weight "${name}" given, but strategy "${routing.strategy}" takes no weights`);
    } else if (!FLOWTUNE_WEIGHT_NAMES.includes(name)) {
      problems.push(`unknown flowtune weight "${name}"; known: ${FLOWTUNE_WEIGHT_NAMES.join(', ')}`);
    } else if (!Number.isFinite(value)) {
      problems.push(`flowtune weight "${name}" must be a finite number, got ${value}`);
    }
  }
  return problems;
}
