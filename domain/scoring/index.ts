import type { AgentState, HandlingFeatures } from '../model';
import { lognormalSurvival } from './distributions';
import { freeSlots, hasRequiredSkills } from './eligibility';
import { buildHandlingModel, HANDLING_MODEL_VERSION } from './handling';
import type { ItemScore, ShrinkagePrior } from './types';

export { erfc, lognormalParameters, lognormalSurvival, normalCdf } from './distributions';
export { type EligibilityItem, freeSlots, hasRequiredSkills, isEligible } from './eligibility';
export {
  buildHandlingModel,
  DEFAULT_HANDLING_CV,
  DEFAULT_SHRINKAGE_PRIOR,
  HANDLING_MODEL_VERSION,
  type HandlingModel,
  predictHandling,
  updateHandlingStats,
} from './handling';
export type { HandlingFeatures, HandlingPrediction, HandlingStats, ItemScore, ShrinkagePrior } from './types';

/** Priority uplift for the customer's tier, in priority points (priority itself is 1..5). */
export const TIER_PRIORITY_BOOST: Readonly<Record<string, number>> = {
  standard: 0,
  silver: 0.5,
  gold: 1,
  platinum: 1.5,
};

/** How many priority points a certain SLA breach adds at most. */
const URGENCY_PRIORITY_POINTS = 3.5;

/** What scoreItem needs to know about the item; a ValidatedItem with epoch-ms times fits. */
export interface ScoreInput {
  readonly item: {
    readonly category: string;
    readonly priority: number;
    readonly customerTier: string;
    /** Epoch ms. */
    readonly createdAt: number;
    /** Epoch ms. */
    readonly slaDueAt: number;
    readonly requiredSkills: readonly { readonly skill: string; readonly minProficiency: number }[];
    readonly excludedAgents?: readonly string[];
  };
  readonly features: HandlingFeatures;
  /** The current roster; an empty list means "staffing unknown", not "nobody can do it". */
  readonly agents: readonly AgentState[];
  /** Epoch ms, injected. */
  readonly now: number;
  readonly prior?: ShrinkagePrior;
}

/**
 * Expected seconds until a slot that can take the item frees up: 0 when an eligible agent has a
 * free slot now; otherwise the mean of the minimum of the busy slots' residual times, treating
 * each as exponential with the predicted handling mean (H / slots).
 */
function expectedQueueingSeconds(
  eligible: readonly AgentState[],
  now: number,
  handlingSeconds: number,
): number {
  let slotsFree = 0;
  let slotsTotal = 0;
  for (const agent of eligible) {
    slotsFree += freeSlots(agent, now);
    slotsTotal += Math.max(agent.capacity, 0);
  }
  if (slotsFree > 0 || slotsTotal === 0) return 0;
  return handlingSeconds / slotsTotal;
}

/**
 * Scores an item for the decision step: predicted handling time (category level), the
 * probability of breaching the SLA if routed now (lognormal handling time plus a queueing
 * estimate against the time left), the probability it ends up escalated (late by more than one
 * further handling time, so a re-route cannot save it), an effective priority (priority + tier
 * + urgency, 1..10) and the model's confidence.
 *
 * When agents are listed but none holds the required skills, both risks are 1: nobody can do
 * the work, so a person must decide.
 *
 * @example
 * const score = scoreItem({ item, features, agents, now: Date.now() });
 * score.slaBreachRisk; // e.g. 0.18
 */
export function scoreItem(input: ScoreInput): ItemScore {
  const { item, features, agents, now } = input;
  const model = buildHandlingModel(features, input.prior);
  const prediction = model.category(item.category);
  const cv = model.categoryCv(item.category);
  const secondsToDue = (item.slaDueAt - now) / 1000;

  const eligible = agents.filter((agent) => agent.status !== 'offline' && hasRequiredSkills(agent, item));
  const nobodyCanDoIt = agents.length > 0 && eligible.length === 0;
  const queueingSeconds = expectedQueueingSeconds(eligible, now, prediction.seconds);
  const slaBreachRisk = nobodyCanDoIt
    ? 1
    : lognormalSurvival(secondsToDue - queueingSeconds, prediction.seconds, cv);
  const escalationRisk = nobodyCanDoIt
    ? 1
    : lognormalSurvival(secondsToDue - queueingSeconds + prediction.seconds, prediction.seconds, cv);

  const tierBoost = TIER_PRIORITY_BOOST[item.customerTier] ?? 0;
  const effectivePriority = clamp(item.priority + tierBoost + URGENCY_PRIORITY_POINTS * slaBreachRisk, 1, 10);

  return {
    modelVersion: HANDLING_MODEL_VERSION,
    predictedHandlingSeconds: round(prediction.seconds, 3),
    slaBreachRisk: round(slaBreachRisk, 4),
    escalationRisk: round(escalationRisk, 4),
    effectivePriority: round(effectivePriority, 2),
    confidence: round(prediction.confidence, 4),
    secondsToDue: round(secondsToDue, 3),
  };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
