import type { CostTerm } from '../events';
import { buildRoundContext, type Candidate, formatSeconds, type RoundContext, toExplanation } from './round';
import type { Assignment, DispatchRound } from './types';

/** A greedy rule's score of one item × agent pair: lower is better. */
export interface PairScore {
  readonly cost: number;
  readonly terms: readonly CostTerm[];
}

export type PairScorer = (
  context: RoundContext,
  itemIndex: number,
  agentIndex: number,
  used: number,
) => PairScore;

interface GreedyState {
  readonly context: RoundContext;
  readonly freeLeft: Int32Array;
  readonly usedInRound: Int32Array;
  readonly assigned: Uint8Array;
  readonly assignments: Assignment[];
}

function startGreedy(round: DispatchRound): GreedyState {
  const context = buildRoundContext(round);
  const freeLeft = new Int32Array(context.agents.length);
  for (const slot of context.slots) freeLeft[slot.agentIndex] = (freeLeft[slot.agentIndex] ?? 0) + 1;
  return {
    context,
    freeLeft,
    usedInRound: new Int32Array(context.agents.length),
    assigned: new Uint8Array(context.items.length),
    assignments: [],
  };
}

function record(
  state: GreedyState,
  itemIndex: number,
  agentIndex: number,
  chosen: PairScore,
  runnerUp?: Candidate,
) {
  const { context } = state;
  const item = context.items[itemIndex];
  const agent = context.agents[agentIndex];
  if (item === undefined || agent === undefined) return;
  let candidates = 0;
  for (let index = 0; index < context.agents.length; index++) {
    if (context.eligible(itemIndex, index)) candidates++;
  }
  const handling = context.handlingSeconds(itemIndex, agentIndex);
  const waited = formatSeconds((context.now - item.enqueuedAt) / 1000);
  const runnerUpText =
    runnerUp === undefined ? 'no other eligible agent had a free slot' : `runner-up ${runnerUp.agentId}`;
  state.assignments.push({
    itemId: item.itemId,
    agentId: agent.agentId,
    predictedHandlingSeconds: handling,
    cost: chosen.cost,
    terms: chosen.terms,
    explanation: toExplanation(
      `Routed to ${agent.agentId} by rule; ${runnerUpText}; waited ${waited}, expected ${formatSeconds(handling)}.`,
      { agentId: agent.agentId, cost: chosen.cost, terms: chosen.terms },
      runnerUp,
      candidates,
    ),
  });
  state.assigned[itemIndex] = 1;
  state.freeLeft[agentIndex] = (state.freeLeft[agentIndex] ?? 0) - 1;
  state.usedInRound[agentIndex] = (state.usedInRound[agentIndex] ?? 0) + 1;
}

/**
 * Item-driven greedy: items in `order`, each to its lowest-scoring eligible agent with a slot
 * left (ties: lower agent index, i.e. agentId order). How most contact-centre routers work.
 */
export function greedyByItems(
  round: DispatchRound,
  order: (context: RoundContext) => number[],
  score: PairScorer,
): Assignment[] {
  const state = startGreedy(round);
  const { context } = state;
  if (context.slots.length === 0) return [];
  for (const itemIndex of order(context)) {
    let best = -1;
    let bestScore: PairScore | undefined;
    let second: Candidate | undefined;
    for (let agentIndex = 0; agentIndex < context.agents.length; agentIndex++) {
      if ((state.freeLeft[agentIndex] ?? 0) <= 0 || !context.eligible(itemIndex, agentIndex)) continue;
      const candidate = score(context, itemIndex, agentIndex, state.usedInRound[agentIndex] ?? 0);
      if (bestScore === undefined || candidate.cost < bestScore.cost) {
        const previous = context.agents[best];
        if (bestScore !== undefined && previous !== undefined)
          second = { agentId: previous.agentId, ...bestScore };
        best = agentIndex;
        bestScore = candidate;
      } else if (second === undefined || candidate.cost < second.cost) {
        const agent = context.agents[agentIndex];
        if (agent !== undefined) second = { agentId: agent.agentId, ...candidate };
      }
    }
    if (bestScore !== undefined && best >= 0) record(state, itemIndex, best, bestScore, second);
  }
  return state.assignments;
}

/**
 * Agent-driven greedy: agents in `order` (one slot at a time, repeating while slots remain),
 * each takes its lowest-scoring eligible unassigned item.
 */
export function greedyByAgents(
  round: DispatchRound,
  order: (context: RoundContext) => number[],
  score: PairScorer,
): Assignment[] {
  const state = startGreedy(round);
  const { context } = state;
  if (context.slots.length === 0 || context.items.length === 0) return [];
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const agentIndex of order(context)) {
      if ((state.freeLeft[agentIndex] ?? 0) <= 0) continue;
      let best = -1;
      let bestScore: PairScore | undefined;
      for (let itemIndex = 0; itemIndex < context.items.length; itemIndex++) {
        if (state.assigned[itemIndex] === 1 || !context.eligible(itemIndex, agentIndex)) continue;
        const candidate = score(context, itemIndex, agentIndex, state.usedInRound[agentIndex] ?? 0);
        if (bestScore === undefined || candidate.cost < bestScore.cost) {
          best = itemIndex;
          bestScore = candidate;
        }
      }
      if (bestScore === undefined || best < 0) {
        state.freeLeft[agentIndex] = 0;
        continue;
      }
      // Runner-up for the explanation: the item's next-best other agent with a slot left.
      let runnerUp: Candidate | undefined;
      for (let other = 0; other < context.agents.length; other++) {
        if (other === agentIndex || (state.freeLeft[other] ?? 0) <= 0 || !context.eligible(best, other))
          continue;
        const candidate = score(context, best, other, state.usedInRound[other] ?? 0);
        const agent = context.agents[other];
        if (agent !== undefined && (runnerUp === undefined || candidate.cost < runnerUp.cost)) {
          runnerUp = { agentId: agent.agentId, ...candidate };
        }
      }
      record(state, best, agentIndex, bestScore, runnerUp);
      progressed = true;
    }
  }
  return state.assignments;
}

/** Item indices in arrival order (the context is already sorted by enqueuedAt, then id). */
export function arrivalOrder(context: RoundContext): number[] {
  return context.items.map((_, index) => index);
}

/** Agent indices, longest idle first (ties by agentId). */
export function longestIdleOrder(context: RoundContext): number[] {
  return context.agents
    .map((agent, index) => ({ index, idleSince: agent.idleSince }))
    .sort((left, right) => left.idleSince - right.idleSince || left.index - right.index)
    .map((entry) => entry.index);
}
