import { z } from 'zod';
import type { DecisionPath } from '../model';
import { routingSectionProblems } from '../routing';
import type { ItemScore } from '../scoring/types';
import { DEFAULT_SLA_CLOCK, SlaClockPolicy } from './sla-clock';

export * from './sla-clock';

/**
 * A decision policy: the versioned, run-time-changeable rules that turn a score into a path
 * and bound the process (re-routes, timeouts). Stored in the Features table; this default
 * applies until an operator publishes another version.
 */
export const Policy = z.object({
  version: z.string().min(1),
  /** Below this model confidence an item goes to human review. */
  minConfidence: z.number().min(0).max(1),
  /** Above this SLA-breach or escalation risk an item goes to human review. */
  maxAutoRisk: z.number().min(0).max(1),
  /** Categories routine enough for straight-through automation. */
  automationCategories: z.array(z.string()),
  /** Automation only takes items at or below this priority. */
  automationMaxPriority: z.number().int().min(1).max(5),
  /** Re-routes after a missed completion window before the item escalates to people. */
  maxReroutes: z.number().int().min(0).max(10),
  /** Floor for the completion wait, so items already late still get a fair window. */
  minCompletionWindowSeconds: z.number().int().min(1),
  /** The item's own clock: when a missed completion re-routes and when an unassigned item escalates. */
  slaClock: SlaClockPolicy.default(DEFAULT_SLA_CLOCK),
  routing: z
    .object({
      strategy: z.string().min(1),
      weights: z.record(z.string(), z.number()),
    })
    // Unknown strategies and weight names are errors at every edge (store, proposal, dispatcher).
    .superRefine((routing, context) => {
      for (const message of routingSectionProblems(routing)) context.addIssue({ code: 'custom', message });
    }),
});
export type Policy = z.infer<typeof Policy>;

export const DEFAULT_POLICY: Policy = {
  version: 'default-1',
  // 0 until an operator sets it: a cold start (no history, confidence 0) must still route.
  minConfidence: 0,
  maxAutoRisk: 0.95,
  automationCategories: [],
  automationMaxPriority: 2,
  maxReroutes: 1,
  minCompletionWindowSeconds: 15 * 60,
  slaClock: DEFAULT_SLA_CLOCK,
  routing: { strategy: 'flowtune', weights: {} },
};

export interface PathDecision {
  readonly path: DecisionPath;
  readonly reason: string;
}

/**
 * Chooses the item's path from its score under the policy: human review when the model is
 * unsure or the risk is high, automation for routine low-priority categories, routing otherwise.
 *
 * @example
 * decidePath({ category: 'billing', priority: 3 }, score, DEFAULT_POLICY).path // 'routing'
 */
export function decidePath(
  item: { readonly category: string; readonly priority: number },
  score: ItemScore,
  policy: Policy,
): PathDecision {
  if (score.confidence < policy.minConfidence) {
    return {
      path: 'human-review',
      reason: `confidence ${score.confidence.toFixed(2)} is below the policy minimum ${policy.minConfidence}`,
    };
  }
  const risk = Math.max(score.slaBreachRisk, score.escalationRisk);
  if (risk > policy.maxAutoRisk) {
    return {
      path: 'human-review',
      reason: `risk ${risk.toFixed(2)} is above the policy maximum ${policy.maxAutoRisk}`,
    };
  }
  if (policy.automationCategories.includes(item.category) && item.priority <= policy.automationMaxPriority) {
    return {
      path: 'automation',
      reason: `category "${item.category}" at priority ${item.priority} is automated by policy ${policy.version}`,
    };
  }
  return { path: 'routing', reason: 'confident score within risk limits: route to the best agent' };
}
