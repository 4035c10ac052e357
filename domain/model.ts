/**
 * The shared vocabulary of Flowtune's pure core. Lambdas, the local runtime, the simulator
 * and the tests all speak in these shapes; times are epoch milliseconds so the simulator's
 * clock and the real one are interchangeable.
 */

export interface SkillLevel {
  readonly skill: string;
  readonly proficiency: number;
}

export type AgentKind = 'person' | 'team' | 'automation';

/** An agent as the dispatcher sees it at the start of a round. */
export interface AgentState {
  readonly agentId: string;
  readonly kind: AgentKind;
  readonly status: 'available' | 'busy' | 'offline';
  readonly skills: readonly SkillLevel[];
  readonly capacity: number;
  /** Items currently held; never exceeds capacity (enforced by conditional writes). */
  readonly activeCount: number;
  /** When the agent last became free (ms); drives longest-idle baselines and fairness. */
  readonly idleSince: number;
  readonly shiftEndsAt?: number;
}

/** An item waiting in the dispatcher's set. */
export interface WaitingItem {
  readonly itemId: string;
  readonly category: string;
  readonly requiredSkills: readonly { readonly skill: string; readonly minProficiency: number }[];
  readonly priority: number;
  readonly createdAt: number;
  /** When the item joined the waiting set (ms). */
  readonly enqueuedAt: number;
  readonly slaDueAt: number;
  /** Agents this item must not go to again (e.g. after a re-route on timeout). */
  readonly excludedAgents: readonly string[];
  /** The customer's tier (standard, silver, gold, platinum); absent = standard. */
  readonly customerTier?: string;
}

/** Running statistics of handling time (seconds), kept with Welford's update. */
export interface HandlingStats {
  readonly count: number;
  readonly mean: number;
  /** Sum of squared deviations (Welford's M2); variance = m2 / (count - 1). */
  readonly m2: number;
}

/** The feature-store view the scorer reads: global, per category and per category × agent. */
export interface HandlingFeatures {
  readonly global: HandlingStats;
  readonly byCategory: Readonly<Record<string, HandlingStats>>;
  /** Keyed by `${category}#${agentId}`. */
  readonly byCategoryAgent: Readonly<Record<string, HandlingStats>>;
}

export type DecisionPath = 'automation' | 'routing' | 'human-review';
