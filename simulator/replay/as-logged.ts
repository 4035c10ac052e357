import type { Assignment, DispatchRound, RoutingPolicy } from '../../domain/routing';
import { freeSlots, hasRequiredSkills } from '../../domain/scoring';
import type { ReplayModel } from './model';

/** The name `--policy` takes for the log's own decisions. */
export const AS_LOGGED = 'as-logged';

/**
 * What the log's people actually did, as a policy: each item goes to the person who handled it
 * in the log, each person takes their waiting items in the order they started them in the log,
 * and nobody else touches them. Replayed under the inferred staffing, it measures the model
 * itself: if this does not reproduce the log's waits, no policy comparison on the model says
 * anything about the real system. A replay-only policy (production never knows the answer).
 */
export function asLoggedPolicy(model: ReplayModel): RoutingPolicy {
  return {
    name: AS_LOGGED,
    assign(round: DispatchRound): Assignment[] {
      // Only people with a free slot can take anything: look at their items alone (replays of
      // congested logs have hundreds waiting in every round).
      const free = round.agents.map((agent) => freeSlots(agent));
      const candidates = new Map<number, Array<{ index: number; itemId: string }>>();
      for (const item of round.waiting) {
        const index = Number(item.itemId.slice(1));
        const agent = model.loggedAgent[index] ?? -1;
        // Abandoned in the log: nobody took it, so nobody takes it here; it leaves at its patience.
        if (agent < 0 || (free[agent] ?? 0) <= 0) continue;
        const state = round.agents[agent];
        if (state === undefined || !hasRequiredSkills(state, item)) continue;
        const queue = candidates.get(agent);
        if (queue === undefined) candidates.set(agent, [{ index, itemId: item.itemId }]);
        else queue.push({ index, itemId: item.itemId });
      }
      const assignments: Assignment[] = [];
      for (const [agent, queue] of candidates) {
        const agentId = round.agents[agent]?.agentId ?? '';
        queue.sort(
          (left, right) =>
            (model.loggedStart[left.index] ?? 0) - (model.loggedStart[right.index] ?? 0) ||
            left.index - right.index,
        );
        for (const { itemId } of queue.slice(0, free[agent] ?? 0)) {
          assignments.push({
            itemId,
            agentId,
            predictedHandlingSeconds: 0,
            cost: 0,
            terms: [],
            explanation: {
              summary: `As logged: ${agentId} handled this item in the log.`,
              chosen: { agentId, cost: 0, terms: [] },
              candidatesConsidered: 1,
            },
          });
        }
      }
      return assignments;
    },
  };
}
