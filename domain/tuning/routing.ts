import type { Policy } from '../policy';
import { createPolicy, DEFAULT_FLOWTUNE_WEIGHTS, type FlowtuneWeights, flowtunePolicy } from '../routing';
import type { RoutingPolicy } from '../routing/types';

const WEIGHT_NAMES = Object.keys(DEFAULT_FLOWTUNE_WEIGHTS) as (keyof FlowtuneWeights)[];

/**
 * The routing policy a decision policy's `routing` section describes: Flowtune's assignment with
 * the document's weights over the defaults, or a baseline by name. Unknown weight names are
 * refused, so a typo in a policy document cannot silently mean "default".
 *
 * @example
 * routingPolicyFor({ ...DEFAULT_POLICY, routing: { strategy: 'flowtune', weights: { sla: 6 } } });
 */
export function routingPolicyFor(policy: Pick<Policy, 'routing' | 'version'>): RoutingPolicy {
  const { strategy, weights } = policy.routing;
  if (strategy !== 'flowtune') return createPolicy(strategy);
  const unknown = Object.keys(weights).filter(
    (name) => !WEIGHT_NAMES.includes(name as keyof FlowtuneWeights),
  );
  if (unknown.length > 0) {
    throw new RangeError(
      `policy ${policy.version}: unknown flowtune weight(s) ${unknown.join(', ')}; known: ${WEIGHT_NAMES.join(', ')}`,
    );
  }
  return flowtunePolicy({ weights, name: `flowtune@${policy.version}` });
}
