import { z } from 'zod';
import type { DecisionPath } from '../model';
import { POLICY_REGISTRY, routingSectionProblems } from '../routing';
import type { ItemScore } from '../scoring/types';
import { DEFAULT_SLA_CLOCK, SlaClockPolicy } from './sla-clock';
import { isStorableNumber, NOT_STORABLE_MESSAGE } from './storable';

export * from './sla-clock';
export * from './storable';

/**
 * A policy version: what the ops API accepts in a path (`/policies/proposals/{version}/approve`),
 * so every proposal can be approved. No `/`, no leading dot (`..`, `.hidden`), at most 96
 * characters; `+` for the suffixes automatic changes add (`+t7` tuning, `+a202611200915` allocation).
 */
export const PolicyVersion = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._+-]{0,95}$/,
    'must be 1-96 characters of letters, digits, ".", "_", "+" or "-", starting with a letter or digit',
  );

/** Longest version a person may propose: room is left for the suffixes automatic changes append. */
export const MAX_PROPOSED_VERSION_LENGTH = 64;

/** Every routing strategy the dispatcher can build: Flowtune's and the registered baselines. */
export const ROUTING_STRATEGIES = Object.keys(POLICY_REGISTRY) as [string, ...string[]];

/** Bound on a Flowtune weight's size: the cost terms are exponents and multipliers of order 1. */
export const MAX_ROUTING_WEIGHT = 100;

/** The completion window's floor at most the state machine's own lifetime (30 days). */
export const MAX_COMPLETION_WINDOW_SECONDS = 30 * 24 * 60 * 60;

/**
 * A decision policy: the versioned, run-time-changeable rules that turn a score into a path
 * and bound the process (re-routes, timeouts). Stored in the Features table; this default
 * applies until an operator publishes another version. Validated completely, so a policy that
 * passes can always run: the strategy is a registered one, every number is bounded, the weights
 * are Flowtune's.
 */
export const Policy = z.object({
  version: PolicyVersion,
  /** Below this model confidence an item goes to human review. */
  minConfidence: z.number().min(0).max(1).refine(isStorableNumber, NOT_STORABLE_MESSAGE),
  /** Above this SLA-breach or escalation risk an item goes to human review. */
  maxAutoRisk: z.number().min(0).max(1).refine(isStorableNumber, NOT_STORABLE_MESSAGE),
  /** Categories routine enough for straight-through automation. */
  automationCategories: z.array(z.string()),
  /** Automation only takes items at or below this priority. */
  automationMaxPriority: z.number().int().min(1).max(5),
  /** Re-routes after a missed completion window before the item escalates to people. */
  maxReroutes: z.number().int().min(0).max(10),
  /** Floor for the completion wait, so items already late still get a fair window. */
  minCompletionWindowSeconds: z.number().int().min(1).max(MAX_COMPLETION_WINDOW_SECONDS),
  /** The item's own clock: when a missed completion re-routes and when an unassigned item escalates. */
  slaClock: SlaClockPolicy.default(DEFAULT_SLA_CLOCK),
  routing: z
    .object({
      strategy: z.string().min(1),
      weights: z.record(
        z.string(),
        z
          .number()
          .min(-MAX_ROUTING_WEIGHT)
          .max(MAX_ROUTING_WEIGHT)
          .refine(isStorableNumber, NOT_STORABLE_MESSAGE),
      ),
    })
    // Unknown strategies and weight names are errors at every edge (store, proposal, dispatcher).
    .superRefine((routing, context) => {
      for (const message of routingSectionProblems(routing)) {
        // Name the field: the strategy, or the one weight the message is about.
        const weight = /weight "([^"]+)"/.exec(message)?.[1];
        const path = weight !== undefined ? ['weights', weight] : ['strategy'];
        context.addIssue({ code: 'custom', path, message });
      }
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
