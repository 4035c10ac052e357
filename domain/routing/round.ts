import type { CostTerm, Explanation } from '../events';
import type { AgentState, WaitingItem } from '../model';
import { buildHandlingModel, freeSlots, type HandlingModel, hasRequiredSkills } from '../scoring';
import type { ShrinkagePrior } from '../scoring/types';
import type { Assignment, DispatchRound } from './types';

/** One free unit of an agent's capacity; an agent with capacity 3 and 1 active item has 2. */
export interface Slot {
  readonly agent: AgentState;
  /** Index of the agent in `RoundContext.agents`. */
  readonly agentIndex: number;
  /** 0 for the agent's first free slot, 1 for the next... */
  readonly slotIndex: number;
}

/**
 * The shared, deterministic view of a round every policy starts from: agents with free slots
 * sorted by id, items in arrival order, and cached handling-time predictions.
 */
export interface RoundContext {
  readonly now: number;
  /** Agents with at least one free slot, sorted by agentId. */
  readonly agents: readonly AgentState[];
  readonly slots: readonly Slot[];
  /** Waiting items sorted by enqueuedAt, then itemId. */
  readonly items: readonly WaitingItem[];
  readonly model: HandlingModel;
  /** Every agent not offline, including busy ones (for "who else could do this"). */
  readonly roster: readonly AgentState[];
  /** Predicted handling seconds of the item on `agents[agentIndex]`, item hint applied. */
  handlingSeconds(itemIndex: number, agentIndex: number): number;
  /** Agent-independent predicted handling seconds of the item (category level × hint). */
  itemSeconds(itemIndex: number): number;
  /** Skills and exclusions (agents in the context already have free slots). */
  eligible(itemIndex: number, agentIndex: number): boolean;
  /** Predicted seconds of `category` on each agent in `agents` (cached per round). */
  categorySeconds(category: string): Float64Array;
  /** Item hint ÷ category mean (1 without a hint): the item's size relative to its category. */
  itemRatio(itemIndex: number): number;
}

export function buildRoundContext(round: DispatchRound, prior?: ShrinkagePrior): RoundContext {
  const { now } = round;
  const agents = round.agents
    .filter((agent) => freeSlots(agent, now) > 0)
    .sort((left, right) => compareStrings(left.agentId, right.agentId));
  const roster = round.agents.filter((agent) => agent.status !== 'offline');
  const items = [...round.waiting].sort(
    (left, right) => left.enqueuedAt - right.enqueuedAt || compareStrings(left.itemId, right.itemId),
  );
  const slots: Slot[] = [];
  agents.forEach((agent, agentIndex) => {
    const count = freeSlots(agent, now);
    for (let slotIndex = 0; slotIndex < count; slotIndex++) slots.push({ agent, agentIndex, slotIndex });
  });
  const model = buildHandlingModel(round.features, prior);

  const hints = round.itemHandlingHints;
  const itemRatios = items.map((item) => {
    const hint = hints?.[item.itemId];
    if (hint === undefined || !(hint > 0)) return 1;
    return hint / model.category(item.category).seconds;
  });
  const byCategory = new Map<string, Float64Array>();
  const categorySeconds = (category: string): Float64Array => {
    let cached = byCategory.get(category);
    if (cached === undefined) {
      cached = new Float64Array(agents.length);
      for (let agentIndex = 0; agentIndex < agents.length; agentIndex++) {
        cached[agentIndex] = model.predict(category, agents[agentIndex]?.agentId).seconds;
      }
      byCategory.set(category, cached);
    }
    return cached;
  };
  const itemCategorySeconds = items.map((item) => categorySeconds(item.category));
  const eligibility = new Map<string, Uint8Array>();
  const itemEligibility = items.map((item) => {
    const key = eligibilityKey(item);
    let cached = eligibility.get(key);
    if (cached === undefined) {
      cached = new Uint8Array(agents.length);
      for (let agentIndex = 0; agentIndex < agents.length; agentIndex++) {
        const agent = agents[agentIndex];
        cached[agentIndex] = agent !== undefined && hasRequiredSkills(agent, item) ? 1 : 0;
      }
      eligibility.set(key, cached);
    }
    return cached;
  });

  return {
    now,
    agents,
    slots,
    items,
    model,
    roster,
    handlingSeconds: (itemIndex, agentIndex) =>
      (itemCategorySeconds[itemIndex]?.[agentIndex] ?? model.globalSeconds) * (itemRatios[itemIndex] ?? 1),
    itemSeconds: (itemIndex) => {
      const item = items[itemIndex];
      const base = item === undefined ? model.globalSeconds : model.category(item.category).seconds;
      return base * (itemRatios[itemIndex] ?? 1);
    },
    eligible: (itemIndex, agentIndex) => itemEligibility[itemIndex]?.[agentIndex] === 1,
    categorySeconds,
    itemRatio: (itemIndex) => itemRatios[itemIndex] ?? 1,
  };
}

/** Items that share category, skills and exclusions are interchangeable for eligibility. */
export function eligibilityKey(item: WaitingItem): string {
  const skills = item.requiredSkills.map((level) => `${level.skill}>=${level.minProficiency}`).join(',');
  const excluded = item.excludedAgents.length === 0 ? '' : `|x:${[...item.excludedAgents].sort().join(',')}`;
  return `${skills}${excluded}`;
}

export function compareStrings(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

/** A scored candidate: what the explanation shows for the chosen agent and the runner-up. */
export interface Candidate {
  readonly agentId: string;
  readonly cost: number;
  readonly terms: readonly CostTerm[];
}

/** Rounds for explanations: stable text and JSON, no 17-digit noise in the audit trail. */
export function roundTo(value: number, digits = 4): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export function toExplanation(
  summary: string,
  chosen: Candidate,
  runnerUp: Candidate | undefined,
  candidatesConsidered: number,
): Explanation {
  const shape = (candidate: Candidate) => ({
    agentId: candidate.agentId,
    cost: roundTo(candidate.cost),
    terms: candidate.terms.map((term) => ({ name: term.name, value: roundTo(term.value) })),
  });
  return {
    summary,
    chosen: shape(chosen),
    ...(runnerUp === undefined ? {} : { runnerUp: shape(runnerUp) }),
    candidatesConsidered,
  };
}

/** Human-friendly duration: "45 s", "3.2 min", "1.5 h". */
export function formatSeconds(seconds: number): string {
  const magnitude = Math.abs(seconds);
  const sign = seconds < 0 ? '-' : '';
  if (magnitude < 90) return `${sign}${Math.round(magnitude)} s`;
  if (magnitude < 90 * 60) return `${sign}${(magnitude / 60).toFixed(1)} min`;
  return `${sign}${(magnitude / 3600).toFixed(1)} h`;
}

export type { Assignment };
