import type { AgentState } from '../model';

/** What eligibility needs to know about an item; WaitingItem and ValidatedItem both fit. */
export interface EligibilityItem {
  readonly requiredSkills: readonly { readonly skill: string; readonly minProficiency: number }[];
  readonly excludedAgents?: readonly string[];
}

/**
 * True when the agent holds every required skill at or above its minimum proficiency and is
 * not excluded for this item. Ignores status and capacity: "could this agent ever do it".
 */
export function hasRequiredSkills(agent: AgentState, item: EligibilityItem): boolean {
  if (item.excludedAgents?.includes(agent.agentId)) return false;
  for (const requirement of item.requiredSkills) {
    const held = agent.skills.find((level) => level.skill === requirement.skill);
    if (held === undefined || held.proficiency < requirement.minProficiency) return false;
  }
  return true;
}

/** Free slots of an agent now: 0 unless available and under capacity (and on shift, when `now` is given). */
export function freeSlots(agent: AgentState, now?: number): number {
  if (agent.status !== 'available') return 0;
  if (now !== undefined && agent.shiftEndsAt !== undefined && agent.shiftEndsAt <= now) return 0;
  return Math.max(0, agent.capacity - agent.activeCount);
}

/**
 * The hard constraints every routing policy shares: the agent is available (and on shift when
 * `now` is given), has a free slot, holds every required skill at its minimum proficiency, and
 * is not in the item's `excludedAgents`.
 *
 * @example
 * isEligible(
 *   { agentId: 'a1', kind: 'person', status: 'available', skills: [{ skill: 'billing', proficiency: 3 }],
 *     capacity: 2, activeCount: 1, idleSince: 0 },
 *   { requiredSkills: [{ skill: 'billing', minProficiency: 2 }], excludedAgents: [] },
 * ); // true
 */
export function isEligible(agent: AgentState, item: EligibilityItem, now?: number): boolean {
  return freeSlots(agent, now) > 0 && hasRequiredSkills(agent, item);
}
