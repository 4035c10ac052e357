import type { HandlingFeatures, HandlingStats } from '../model';

/** Predicted handling time with the evidence behind it. */
export interface HandlingPrediction {
  readonly seconds: number;
  /** 0..1, grows with the number of observations behind the estimate. */
  readonly confidence: number;
  /** Observations at the level used (category × agent, category, or global). */
  readonly observations: number;
}

/** What the Score step attaches to an item. */
export interface ItemScore {
  readonly modelVersion: string;
  /** Expected handling time for the category (agent-independent), seconds. */
  readonly predictedHandlingSeconds: number;
  /** Probability the SLA is breached if routed normally now (0..1). */
  readonly slaBreachRisk: number;
  /** Probability the item will need escalation (0..1). */
  readonly escalationRisk: number;
  /** Effective priority after tier and urgency (1..10). */
  readonly effectivePriority: number;
  /** 0..1 */
  readonly confidence: number;
  /** Seconds until the SLA is due at scoring time (negative when already late). */
  readonly secondsToDue: number;
}

/** Prior used when a level has no data: strength in pseudo-observations. */
export interface ShrinkagePrior {
  readonly strength: number;
  readonly defaultSeconds: number;
}

export type { HandlingFeatures, HandlingStats };
