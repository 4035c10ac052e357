import type { AgentState } from '../model';
import { hasRequiredSkills } from '../scoring';

/**
 * Capacity check after a shift: does the workforce on duty still cover the demand at the target
 * occupancy, and if not, which standby people close the gap? Demand of a category is its arrival
 * rate × handling time (busy slots); an agent's slots count towards every category it is skilled
 * for. Demand can be served iff, for every group S of categories, demand(S) ÷ target occupancy ≤
 * the slots of the agents skilled for at least one category of S (Gale's supply–demand theorem),
 * so the check runs over all groups — exact, and cheap up to a dozen categories.
 */

export interface CategoryDemand {
  readonly category: string;
  readonly arrivalsPerSecond: number;
  readonly handlingSeconds: number;
  readonly requiredSkills: readonly { readonly skill: string; readonly minProficiency: number }[];
}

export interface ShortfallGroup {
  readonly categories: readonly string[];
  /** The occupancy this group is staffed to. */
  readonly targetOccupancy: number;
  /** Busy slots the group's arrivals need. */
  readonly demandSlots: number;
  /** Slots of the agents on duty skilled for at least one of its categories. */
  readonly supplySlots: number;
  /** demand ÷ target occupancy − supply; positive = short. */
  readonly shortfallSlots: number;
}

export interface CapacityCheck {
  /** Total demand over total supply of the agents on duty. */
  readonly occupancy: number;
  /** Demand over supply of every group of categories, keyed by `groupKey`. */
  readonly groups: Readonly<Record<string, number>>;
  /** The group short by most slots, when any is short. */
  readonly worst?: ShortfallGroup;
  /** Sum of the shortfalls of every short group: what a standby call should reduce most. */
  readonly totalShortfallSlots: number;
}

/** A group's key: its categories, sorted, joined by "+". */
export function groupKey(categories: readonly string[]): string {
  return [...categories].sort().join('+');
}

/** The occupancy each group may reach: one number for all, or per group. */
export type OccupancyTarget = number | ((categories: readonly string[]) => number);

/** Above this many categories only single categories and the whole set are checked. */
const MAX_EXACT_CATEGORIES = 12;

function groupsOf(count: number): number[][] {
  if (count > MAX_EXACT_CATEGORIES) {
    return [
      ...Array.from({ length: count }, (_, index) => [index]),
      Array.from({ length: count }, (_, i) => i),
    ];
  }
  const groups: number[][] = [];
  for (let mask = 1; mask < 1 << count; mask++) {
    const group: number[] = [];
    for (let index = 0; index < count; index++) if (mask & (1 << index)) group.push(index);
    groups.push(group);
  }
  return groups;
}

/**
 * The workforce's occupancy and its worst-covered group of categories.
 *
 * @example
 * capacityShortfall(demands, roster, 0.9).worst?.shortfallSlots; // e.g. 2.4
 */
export function capacityShortfall(
  demands: readonly CategoryDemand[],
  agents: readonly AgentState[],
  targetOccupancy: OccupancyTarget,
): CapacityCheck {
  const targetOf = typeof targetOccupancy === 'number' ? () => targetOccupancy : targetOccupancy;
  const groups: Record<string, number> = {};
  const onDuty = agents.filter((agent) => agent.status !== 'offline' && agent.capacity > 0);
  const eligible = demands.map((demand) =>
    onDuty.map((agent) => hasRequiredSkills(agent, { requiredSkills: demand.requiredSkills })),
  );
  const load = demands.map((demand) => Math.max(0, demand.arrivalsPerSecond * demand.handlingSeconds));
  const totalDemand = load.reduce((sum, value) => sum + value, 0);
  const totalSupply = onDuty.reduce((sum, agent) => sum + agent.capacity, 0);
  let worst: ShortfallGroup | undefined;
  let totalShortfallSlots = 0;
  for (const group of groupsOf(demands.length)) {
    let demandSlots = 0;
    for (const index of group) demandSlots += load[index] ?? 0;
    if (demandSlots <= 0) continue;
    let supplySlots = 0;
    onDuty.forEach((agent, agentIndex) => {
      if (group.some((index) => eligible[index]?.[agentIndex])) supplySlots += agent.capacity;
    });
    const categories = group.map((index) => demands[index]?.category ?? '');
    const target = targetOf(categories);
    groups[groupKey(categories)] = supplySlots > 0 ? demandSlots / supplySlots : Number.POSITIVE_INFINITY;
    const shortfallSlots = demandSlots / target - supplySlots;
    if (shortfallSlots > 0) totalShortfallSlots += shortfallSlots;
    if (
      shortfallSlots > 0 &&
      (worst === undefined ||
        shortfallSlots > worst.shortfallSlots + 1e-9 ||
        (Math.abs(shortfallSlots - worst.shortfallSlots) <= 1e-9 && group.length < worst.categories.length))
    ) {
      worst = {
        categories,
        targetOccupancy: target,
        demandSlots,
        supplySlots,
        shortfallSlots,
      };
    }
  }
  return {
    occupancy: totalSupply > 0 ? totalDemand / totalSupply : Number.POSITIVE_INFINITY,
    groups,
    totalShortfallSlots,
    ...(worst === undefined ? {} : { worst }),
  };
}

export interface StandbyPlan {
  /** Before any activation. */
  readonly before: CapacityCheck;
  /** After the planned activations. */
  readonly after: CapacityCheck;
  /** People to call in, in order: the first `autoAllowed` by the loop itself, the rest after approval. */
  readonly activations: readonly { readonly agentId: string; readonly decision: 'auto' | 'approval' }[];
}

/**
 * Greedy plan of standby activations: while some group is short, call the standby person whose
 * arrival leaves the least shortfall summed over all short groups (so people skilled for the
 * scarce categories, and for many, come first; ties by id), up to `maxTotal`; the first
 * `autoAllowed` are the loop's own, the rest need approval.
 */
export function planStandby(input: {
  readonly demands: readonly CategoryDemand[];
  readonly onDuty: readonly AgentState[];
  readonly standby: readonly AgentState[];
  readonly targetOccupancy: OccupancyTarget;
  readonly autoAllowed: number;
  readonly maxTotal: number;
}): StandbyPlan {
  const before = capacityShortfall(input.demands, input.onDuty, input.targetOccupancy);
  const roster: AgentState[] = [...input.onDuty];
  const pool = [...input.standby].sort((left, right) => (left.agentId < right.agentId ? -1 : 1));
  const activations: { agentId: string; decision: 'auto' | 'approval' }[] = [];
  let check = before;
  while (check.worst !== undefined && activations.length < input.maxTotal) {
    let best: { agent: AgentState; check: CapacityCheck } | undefined;
    for (const candidate of pool) {
      const trial = capacityShortfall(
        input.demands,
        [...roster, { ...candidate, status: 'available' }],
        input.targetOccupancy,
      );
      if (trial.totalShortfallSlots >= check.totalShortfallSlots - 1e-9) continue;
      if (best === undefined || trial.totalShortfallSlots < best.check.totalShortfallSlots - 1e-9) {
        best = { agent: candidate, check: trial };
      }
    }
    if (best === undefined) break;
    pool.splice(pool.indexOf(best.agent), 1);
    roster.push({ ...best.agent, status: 'available' });
    activations.push({
      agentId: best.agent.agentId,
      decision: activations.length < input.autoAllowed ? 'auto' : 'approval',
    });
    check = best.check;
  }
  return { before, after: check, activations };
}
