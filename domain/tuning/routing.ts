import type { Policy } from '../policy';
import { createPolicy, flowtunePolicy, routingSectionProblems } from '../routing';
import type { RoutingPolicy } from '../routing/types';

/**
 * The routing policy a decision policy's `routing` section describes: Flowtune's assignment with
 * the document's weights over the defaults, or a baseline by name. A section the policy schema
 * would refuse (unknown strategy or weight name) is refused here too, so a typo in a policy
 * document cannot silently mean "default" even when the document skipped the schema.
 *
 * @example
 * routingPolicyFor({ ...DEFAULT_POLICY, routing: { strategy: 'flowtune', weights: { sla: 6 } } });
 */
export function routingPolicyFor(policy: Pick<Policy, 'routing' | 'version'>): RoutingPolicy {
  const problems = routingSectionProblems(policy.routing);
  if (problems.length > 0) throw new RangeError(`policy ${policy.version}: ${problems.join('; ')}`);
  const { strategy, weights } = policy.routing;
  if (strategy !== 'flowtune') return createPolicy(strategy);
  return flowtunePolicy({ weights, name: `flowtune@${policy.version}` });
}
