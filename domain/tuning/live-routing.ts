import type { AgentState, WaitingItem } from '../model';
import type { Assignment, DispatchRound, RoutingPolicy } from '../routing/types';
import { type Arm, type Experiment, experimentArm } from './experiments';

/**
 * How a live dispatch round runs an experiment, as pure functions shared by the dispatcher and
 * the tuning loop's observation of outcomes: which arm an item belongs to, and how the arms share
 * one round's agents.
 */

/** An item's arm, or 'none' outside any A/B experiment (the values of `experimentArm` on WorkItemRouted). */
export type ItemArm = Arm | 'none';

/**
 * The arm an item belongs to by intent to treat: its split arm when it was created while the A/B
 * experiment ran (from `startedAt` until `decidedAt`), otherwise 'none' (before the experiment,
 * after its decision, or a shadow experiment, where nobody is treated). The dispatcher routes by
 * it and the observe function counts outcomes by it, so the two always agree, on every retry.
 *
 * @example
 * intendedArm({ itemId: 'TCK-10482', createdAt: Date.parse('2026-11-20T09:00:00Z') }, experiment); // 'control'
 */
export function intendedArm(
  item: { readonly itemId: string; readonly createdAt: number },
  experiment: Experiment | undefined,
): ItemArm {
  if (experiment === undefined || experiment.mode !== 'ab') return 'none';
  if (item.createdAt < experiment.startedAt) return 'none';
  if (experiment.decidedAt !== undefined && item.createdAt >= experiment.decidedAt) return 'none';
  return experimentArm(item.itemId, experiment);
}

/**
 * The agents as a later routing in the same round must see them: each assignment already made
 * takes a slot, and an agent left with none is busy.
 */
export function withSlotsTaken(
  agents: readonly AgentState[],
  assignments: readonly Pick<Assignment, 'agentId'>[],
): AgentState[] {
  const taken = new Map<string, number>();
  for (const assignment of assignments)
    taken.set(assignment.agentId, (taken.get(assignment.agentId) ?? 0) + 1);
  return agents.map((agent) => {
    const extra = taken.get(agent.agentId) ?? 0;
    if (extra === 0) return agent;
    const activeCount = agent.activeCount + extra;
    return { ...agent, activeCount, status: activeCount >= agent.capacity ? 'busy' : agent.status };
  });
}

/** One group of a split round: the items one routing policy decides. */
export interface RoutingTurn<T> {
  readonly routing: RoutingPolicy;
  readonly items: readonly WaitingItem[];
  /** Carried to each of this turn's assignments (e.g. the arm and the policy version). */
  readonly tag: T;
}

/**
 * Routes a round whose items are split between routing policies: each turn assigns its own items
 * over the round's agents, seeing only the capacity the earlier turns left. No agent gets more
 * than its free slots in total, and each item is decided by exactly one policy. Callers alternate
 * the order between rounds so that no arm always has first pick.
 *
 * @example
 * assignInTurns(round, [
 *   { routing: active, items: controlItems, tag: 'control' },
 *   { routing: candidate, items: treatmentItems, tag: 'treatment' },
 * ]); // [{ assignment, tag }, ...]
 */
export function assignInTurns<T>(
  round: DispatchRound,
  turns: readonly RoutingTurn<T>[],
): { readonly assignment: Assignment; readonly tag: T }[] {
  const decided: { assignment: Assignment; tag: T }[] = [];
  for (const turn of turns) {
    if (turn.items.length === 0) continue;
    const agents = withSlotsTaken(
      round.agents,
      decided.map((entry) => entry.assignment),
    );
    for (const assignment of turn.routing.assign({ ...round, waiting: turn.items, agents }))
      decided.push({ assignment, tag: turn.tag });
  }
  return decided;
}
