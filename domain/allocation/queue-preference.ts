import type { DispatchRound } from '../routing/types';
import { freeSlots, hasRequiredSkills } from '../scoring';
import { type AllocationQueue, categoriesOfQueue } from './job';

/**
 * What an agent's queue means to routing: **an agent assigned to queue Q takes Q's items first.**
 *
 * Routing in Flowtune is skills-based: any agent holding an item's skills may take it, and no
 * queue exists in a dispatch round. Allocation adds the least it can to that: in a round where at
 * least one waiting item of Q is one the agent could take (skills, not excluded), the agent is
 * kept for Q's items — it is excluded from every other item of the round; in a round where Q has
 * nothing for it, it takes any item its skills allow, exactly as without allocation. Agents with
 * no queue, and items of categories no queue claims, are untouched.
 *
 * It is expressed through `WaitingItem.excludedAgents`, a hard constraint every routing policy
 * already honours (domain/routing/types.ts), so no policy changes and the round stays the one
 * problem the dispatcher solves. "Q only" (the contact-centre partition the simulator measures)
 * would leave moved agents idle while other queues wait; "Q first" never idles anyone routing
 * would have used, and reduces to "Q only" whenever Q has work waiting — which is when a move
 * to Q was worth making.
 *
 * @example
 * const round = preferAssignedQueues(dispatchRound, settings.queues, { 'agent-7': 'cards' });
 * // agent-7 is excluded from non-cards items while a cards item it can take is waiting
 */
export function preferAssignedQueues(
  round: DispatchRound,
  queues: readonly AllocationQueue[],
  assignments: Readonly<Record<string, string>>,
): DispatchRound {
  const queueOfCategory = new Map<string, string>();
  for (const queue of queues)
    for (const category of categoriesOfQueue(queue)) queueOfCategory.set(category, queue.queueId);
  const keptFor = new Map<string, string>();
  for (const agent of round.agents) {
    // Only agents who can take work this round are kept for their queue (the round holds busy ones too).
    if (freeSlots(agent, round.now) === 0) continue;
    const queueId = assignments[agent.agentId];
    if (queueId === undefined) continue;
    const hasWork = round.waiting.some(
      (item) => queueOfCategory.get(item.category) === queueId && hasRequiredSkills(agent, item),
    );
    if (hasWork) keptFor.set(agent.agentId, queueId);
  }
  if (keptFor.size === 0) return round;
  return {
    ...round,
    waiting: round.waiting.map((item) => {
      const itemQueue = queueOfCategory.get(item.category);
      const excluded = [...keptFor.entries()]
        .filter(([agentId, queueId]) => queueId !== itemQueue && !item.excludedAgents.includes(agentId))
        .map(([agentId]) => agentId);
      return excluded.length === 0
        ? item
        : { ...item, excludedAgents: [...item.excludedAgents, ...excluded] };
    }),
  };
}
