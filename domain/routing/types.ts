import type { CostTerm, Explanation } from '../events';
import type { AgentState, HandlingFeatures, WaitingItem } from '../model';

/** Everything one dispatch round decides over. `now` is injected: no clock inside domain/. */
export interface DispatchRound {
  readonly now: number;
  readonly waiting: readonly WaitingItem[];
  readonly agents: readonly AgentState[];
  readonly features: HandlingFeatures;
  /**
   * Optional item-level handling-time predictions (seconds, agent-independent) from a model that
   * sees more than the category, e.g. text length or line count. Policies that use predictions
   * scale their category × agent estimates by hint / category mean. Absent: category level only.
   */
  readonly itemHandlingHints?: Readonly<Record<string, number>>;
}

export interface Assignment {
  readonly itemId: string;
  readonly agentId: string;
  readonly predictedHandlingSeconds: number;
  readonly cost: number;
  readonly terms: readonly CostTerm[];
  readonly explanation: Explanation;
}

/**
 * A routing policy decides one dispatch round. Implementations are pure and deterministic
 * for a given round (any randomness comes from an injected source), so the dispatcher
 * Lambda, the local runtime and the simulator produce identical decisions.
 * Hard constraints every policy must respect: an agent gets at most (capacity − activeCount)
 * items, only agents with status 'available' are used, and an item only goes to an agent
 * holding every required skill at its minimum proficiency and not in `excludedAgents`.
 */
export interface RoutingPolicy {
  readonly name: string;
  assign(round: DispatchRound): Assignment[];
}
