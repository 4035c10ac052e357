import { arrivalOrder, greedyByAgents, greedyByItems, longestIdleOrder } from './greedy';
import { compareStrings } from './round';
import type { Assignment, DispatchRound, RoutingPolicy } from './types';

/**
 * The routers teams use today, behind the same interface as Flowtune's policy so the simulator
 * and the benchmark compare like with like. All are greedy: one item (or one agent) at a time.
 */

/**
 * Round robin (Zendesk, ServiceNow "last assigned"): items first come, first served; each goes
 * to the next eligible agent after the one assigned last, in agentId order. The cursor is the
 * policy's only state, so decisions depend on the sequence of rounds, not on any clock.
 */
export function roundRobinPolicy(): RoutingPolicy {
  let lastAgentId = '';
  return {
    name: 'round-robin',
    assign(round: DispatchRound): Assignment[] {
      const assignments = greedyByItems(round, arrivalOrder, (context, _itemIndex, agentIndex, used) => {
        const agentId = context.agents[agentIndex]?.agentId ?? '';
        // Position after the cursor in the circular agentId order; agents already used this round go last.
        const after = compareStrings(agentId, lastAgentId) > 0 ? 0 : 1;
        return {
          cost: used * 4 + after * 2 + agentIndex / (context.agents.length + 1),
          terms: [{ name: 'rotation', value: after }],
        };
      });
      const last = assignments.at(-1);
      if (last !== undefined) lastAgentId = last.agentId;
      return assignments;
    },
  };
}

/** Longest-idle agent, first come first served (Amazon Connect's default routing). */
export function longestIdleFcfsPolicy(): RoutingPolicy {
  return {
    name: 'longest-idle-fcfs',
    assign: (round) =>
      greedyByItems(round, arrivalOrder, (context, _itemIndex, agentIndex, used) => {
        const idleSince = context.agents[agentIndex]?.idleSince ?? context.now;
        // An agent that already took an item this round is no longer idle.
        const effectiveIdleSince = used > 0 ? context.now + used : idleSince;
        return {
          cost: effectiveIdleSince - context.now,
          terms: [{ name: 'idleSeconds', value: (context.now - effectiveIdleSince) / 1000 }],
        };
      }),
  };
}

/**
 * Shortest expected work / join the shortest queue: items FCFS; each goes to the agent whose
 * expected work in hand after taking it, (active + 1) × predicted handling, is smallest.
 */
export function shortestExpectedWorkPolicy(): RoutingPolicy {
  return {
    name: 'shortest-expected-work',
    assign: (round) =>
      greedyByItems(round, arrivalOrder, (context, itemIndex, agentIndex, used) => {
        const agent = context.agents[agentIndex];
        const handling = context.handlingSeconds(itemIndex, agentIndex);
        const inHand = (agent?.activeCount ?? 0) + used + 1;
        return {
          cost: inHand * handling,
          terms: [{ name: 'expectedWorkSeconds', value: inHand * handling }],
        };
      }),
  };
}

/** Fastest server first: items FCFS, each to the eligible agent with the shortest predicted handling time. */
export function fastestServerFirstPolicy(): RoutingPolicy {
  return {
    name: 'fastest-server-first',
    assign: (round) =>
      greedyByItems(round, arrivalOrder, (context, itemIndex, agentIndex, used) => {
        const handling = context.handlingSeconds(itemIndex, agentIndex);
        return { cost: handling * (1 + used), terms: [{ name: 'handlingSeconds', value: handling }] };
      }),
  };
}

/**
 * cμ with priority aging: each free agent (longest idle first) takes the item with the largest
 * (priority + minutes waited / agingMinutes) × μ, μ = 1 / predicted handling time on that agent.
 */
export function cMuAgingPolicy(options: { agingMinutes?: number } = {}): RoutingPolicy {
  const agingSeconds = (options.agingMinutes ?? 10) * 60;
  return {
    name: 'cmu-aging',
    assign: (round) =>
      greedyByAgents(round, longestIdleOrder, (context, itemIndex, agentIndex) => {
        const item = context.items[itemIndex];
        const waited = item === undefined ? 0 : Math.max(0, (context.now - item.enqueuedAt) / 1000);
        const weight = (item?.priority ?? 1) + waited / agingSeconds;
        const rate = 1 / context.handlingSeconds(itemIndex, agentIndex);
        return {
          cost: -weight * rate,
          terms: [
            { name: 'agedPriority', value: weight },
            { name: 'ratePerHour', value: rate * 3600 },
          ],
        };
      }),
  };
}

/** Earliest deadline first: items by SLA due time, each to the longest-idle eligible agent. */
export function earliestDeadlineFirstPolicy(): RoutingPolicy {
  return {
    name: 'edf',
    assign: (round) =>
      greedyByItems(
        round,
        (context) =>
          context.items
            .map((item, index) => ({ index, due: item.slaDueAt }))
            .sort((left, right) => left.due - right.due || left.index - right.index)
            .map((entry) => entry.index),
        (context, _itemIndex, agentIndex, used) => {
          const idleSince = context.agents[agentIndex]?.idleSince ?? context.now;
          const effectiveIdleSince = used > 0 ? context.now + used : idleSince;
          return {
            cost: effectiveIdleSince - context.now,
            terms: [{ name: 'idleSeconds', value: (context.now - effectiveIdleSince) / 1000 }],
          };
        },
      ),
  };
}
