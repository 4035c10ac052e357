import type { CostTerm } from '../events';
import { hasRequiredSkills, lognormalSurvival, TIER_PRIORITY_BOOST } from '../scoring';
import type { ShrinkagePrior } from '../scoring/types';
import { type AssignmentProblem, solveAssignment } from './assignment';
import {
  buildRoundContext,
  type Candidate,
  eligibilityKey,
  formatSeconds,
  type RoundContext,
  toExplanation,
} from './round';
import type { Assignment, DispatchRound, RoutingPolicy } from './types';

/** Version of the cost function; recorded with every decision so it can be reconstructed. */
export const FLOWTUNE_POLICY_VERSION = 'flowtune-assignment-v2';

/**
 * Weights of Flowtune's cost. The cost of giving item i to slot s of agent a is
 *
 *   handling·ln(h_ia / h̄) + advantage·ln(h_ia / h_i*) − priority·ln(w_i)
 *   − ln(1 + wait_i / τ_i) − ln(1 + sla·gain_ia / (1 + wait_i / τ_i))
 *   − balance·ln(1 + idle_a / h̄) + load·used_s
 *
 * i.e. minus the log of a cμ-style index (urgency per second of agent time) plus fairness terms:
 * h_ia predicted handling seconds, h_i* the fastest eligible agent's, h̄ the global mean, w_i the
 * priority weight, τ_i the aging window, gain_ia how much serving now rather than later lowers
 * the SLA-breach probability. The customer's value enters the priority weight as extra priority
 * points, w_i = 1 + (priority − 1 + customer·tierPoints_i) / 2, shown as its own `customer` term
 * (the part of −priority·ln(w_i) the tier adds).
 *
 * The guard (`riskGain`): the priority and SLA terms apply only to items whose SLA is at risk
 * this round. Every other item's business priority and SLA term are 0, so it is ordered as the
 * simple rule orders it (waited longest, short work, the fastest eligible agent). Measured with
 * `flowtune bench --random` on workloads nobody tuned for: fixed priority and SLA terms were what
 * lost there, up to 1.4× the best baseline's mean wait.
 */
export interface FlowtuneWeights {
  /** Exponent on the predicted handling time h_ia; 1 = value per second of agent time (cμ). */
  readonly handling: number;
  /** Weight on ln(h_ia / fastest on-shift eligible agent): keeps agents on what they do comparatively best. */
  readonly advantage: number;
  /** Exponent on the priority weight w_i = 1 + (priority − 1 + customer·tierPoints) / 2. */
  readonly priority: number;
  /**
   * Priority points per point of the customer's tier (TIER_PRIORITY_BOOST, the scorer's table for effectivePriority:
   * gold +1, platinum +1.5): 0 ignores the customer; the default 2 counts a gold customer's item as
   * two priority levels higher (measured with `npm run customer-value`).
   */
  readonly customer: number;
  /** Waiting this fraction of the item's SLA window doubles its urgency (used when agingHandlingMultiple is 0). */
  readonly agingWindowFraction: number;
  /** Waiting this many mean handling times doubles an item's urgency, the same clock for every item. */
  readonly agingHandlingMultiple: number;
  /** Weight of the SLA gain: breach probability if served later minus if served now (0..1). */
  readonly sla: number;
  /** Longest-idle preference among otherwise similar agents (fairness). */
  readonly balance: number;
  /** Cost per fraction of capacity in use, to spread concurrent work across agents. */
  readonly load: number;
  /**
   * The guard's threshold: an item's business priority and SLA gain reorder it only when serving
   * it now rather than later lowers its breach probability by at least this much on some eligible
   * agent (its SLA is at risk, the `urgency` regime). Every other item is in the `efficiency`
   * regime: ordered by waiting time and predicted handling on the fastest eligible agent, as the
   * simple rule Flowtune generalises. 0 turns the guard off (priority and SLA weigh in always).
   */
  readonly riskGain: number;
}

/**
 * Tuned with `flowtune bench` over the four scenarios × loads 0.7–1.1 and the prediction
 * variants: slightly more than cμ on handling time (1.25) favours short work, which cuts mean
 * waits; priority enters as a square root so business priority shapes the order without
 * starving low-priority work; one aging clock for all items (two mean handling times double the
 * urgency) keeps the order close to first come, first served where predictions say nothing.
 */
export const DEFAULT_FLOWTUNE_WEIGHTS: FlowtuneWeights = {
  handling: 1.25,
  advantage: 1,
  priority: 0.5,
  customer: 2,
  agingWindowFraction: 0.5,
  agingHandlingMultiple: 2,
  sla: 4,
  balance: 0.05,
  load: 0.1,
  riskGain: 0.05,
};

export interface FlowtuneOptions {
  readonly weights?: Partial<FlowtuneWeights>;
  readonly prior?: ShrinkagePrior;
  /** Policy name reported by `RoutingPolicy.name`. */
  readonly name?: string;
}

const TERM_NAMES = [
  'handling',
  'advantage',
  'priority',
  'customer',
  'waiting',
  'sla',
  'balance',
  'load',
] as const;

/** SLA gain is only evaluated when the deadline is within this many predicted handling times. */
const SLA_HORIZON_MULTIPLE = 6;
/** Smaller gains are treated as zero. */
const SLA_GAIN_FLOOR = 1e-3;
/**
 * When an item's SLA term differs by less than this across its eligible agents, it is replaced by
 * its mean, an item constant, which keeps the item in its class for the grouped solver (see
 * assignment.ts). A cost error of at most half this (a 1% change in the index) per pair.
 */
const SLA_TERM_TOLERANCE = 0.02;

/**
 * The guard's two orders. `efficiency`: the order of the simple rule Flowtune generalises (the
 * fastest eligible agent, the longest-waiting item first, short work first where predictions say
 * so): business priority and SLA urgency do not reorder the item. `urgency`: the item's SLA is at
 * risk this round, so priority and SLA gain weigh in as the weights say.
 */
export type Regime = 'efficiency' | 'urgency';

/** Agent-independent facts about an item with at least one eligible free slot. */
interface ItemView {
  readonly itemIndex: number;
  readonly group: number;
  /** w_i with the customer's points. */
  priorityWeight: number;
  /** w_i without them: the `priority` term; the difference is the `customer` term. */
  basePriorityWeight: number;
  readonly customerTier: string;
  readonly waitSeconds: number;
  readonly agingSeconds: number;
  readonly secondsToDue: number;
  /** Expected extra wait if the item is not served in this round. */
  readonly deferralSeconds: number;
  readonly logRatio: number;
  readonly cv: number;
  /** Per agent (context index): the SLA gain, or undefined when it is zero for every agent. */
  slaGain?: Float64Array;
  /** The SLA term when it is (nearly) the same for every eligible agent; then slaGain is unused. */
  slaConstant?: number;
  /** Which order decided the item (see `Regime`). */
  regime: Regime;
  /** The largest SLA gain over the item's eligible agents (0..1): how much is at risk. */
  breachGain: number;
}

/** A class of items that share category, skills and exclusions: same agent-side costs. */
interface ItemGroup {
  readonly category: string;
  readonly logSeconds: Float64Array;
  readonly logFastest: number;
  readonly representative: number;
}

/**
 * Flowtune's routing policy: each round solves all waiting items × all free agent slots as one
 * minimum-cost assignment (exact; see assignment.ts), on predicted handling time per agent, SLA
 * urgency, priority, waiting time and workload balance. Skills, exclusions, availability and
 * capacity are hard constraints (infeasible pairs are never assigned), and as many items are
 * assigned as the constraints allow. Deterministic: the same round yields the same assignments.
 * Every assignment carries its explanation.
 *
 * @example
 * const assignments = flowtunePolicy().assign({ now, waiting, agents, features });
 * assignments[0]?.explanation.summary; // "Routed to a-17: expected 3.1 min here vs 5.4 min on a-02 …"
 */
export function flowtunePolicy(options: FlowtuneOptions = {}): RoutingPolicy {
  const weights: FlowtuneWeights = { ...DEFAULT_FLOWTUNE_WEIGHTS, ...options.weights };
  return {
    name: options.name ?? 'flowtune',
    assign(round: DispatchRound): Assignment[] {
      const context = buildRoundContext(round, options.prior);
      if (context.slots.length === 0 || context.items.length === 0) return [];
      const logReference = Math.log(context.model.globalSeconds);
      const { groups, views } = describeItems(context, weights);
      const agentTerms = context.agents.map(
        (agent) =>
          -weights.balance *
          Math.log(1 + Math.max(0, (context.now - agent.idleSince) / 1000) / context.model.globalSeconds),
      );

      const scratch = new Float64Array(TERM_NAMES.length);
      /** Fills `scratch` with one pair's cost terms and returns their sum. */
      const fillTerms = (view: ItemView, agentIndex: number, slotIndex: number): number => {
        const group = groups[view.group];
        const agent = context.agents[agentIndex];
        const logSeconds = group?.logSeconds[agentIndex] ?? logReference;
        const aged = 1 + view.waitSeconds / view.agingSeconds;
        scratch[0] = weights.handling * (logSeconds + view.logRatio - logReference);
        scratch[1] = weights.advantage * (logSeconds - (group?.logFastest ?? logSeconds));
        scratch[2] = -weights.priority * Math.log(view.basePriorityWeight);
        scratch[3] = -weights.priority * (Math.log(view.priorityWeight) - Math.log(view.basePriorityWeight));
        scratch[4] = -Math.log(aged);
        scratch[5] =
          view.slaConstant ?? -Math.log(1 + (weights.sla * (view.slaGain?.[agentIndex] ?? 0)) / aged);
        scratch[6] = agentTerms[agentIndex] ?? 0;
        scratch[7] =
          agent === undefined
            ? 0
            : (weights.load * (agent.activeCount + slotIndex)) / Math.max(agent.capacity, 1);
        let total = 0;
        for (const value of scratch) total += value;
        return total;
      };
      const termsOf = (view: ItemView, agentIndex: number, slotIndex: number): CostTerm[] => {
        fillTerms(view, agentIndex, slotIndex);
        return TERM_NAMES.map((name, index) => ({ name, value: scratch[index] ?? 0 }));
      };

      const problem = buildProblem(context, groups, views, weights, logReference, agentTerms, fillTerms);
      const pairs = solveAssignment(problem);
      // Who took what this round, so an explanation can say where a better-fitting agent went.
      const itemsByAgent = new Map<string, string[]>();
      for (const [column, slotIndex] of pairs) {
        const agentId = context.slots[slotIndex]?.agent.agentId;
        const itemId = context.items[views[column]?.itemIndex ?? -1]?.itemId;
        if (agentId === undefined || itemId === undefined) continue;
        itemsByAgent.set(agentId, [...(itemsByAgent.get(agentId) ?? []), itemId]);
      }
      const assignments: Assignment[] = [];
      for (const [column, slotIndex] of pairs) {
        const view = views[column];
        const slot = context.slots[slotIndex];
        const item = view === undefined ? undefined : context.items[view.itemIndex];
        if (view === undefined || slot === undefined || item === undefined) continue;
        const chosenTerms = termsOf(view, slot.agentIndex, slot.slotIndex);
        const chosen: Candidate = {
          agentId: slot.agent.agentId,
          cost: sumTerms(chosenTerms),
          terms: chosenTerms,
        };
        // Runner-up: the cheapest other eligible agent (its first free slot), taken or not.
        let runnerUpIndex = -1;
        let runnerUpCost = Number.POSITIVE_INFINITY;
        let candidates = 0;
        for (let agentIndex = 0; agentIndex < context.agents.length; agentIndex++) {
          if (!context.eligible(view.itemIndex, agentIndex)) continue;
          candidates++;
          if (agentIndex === slot.agentIndex) continue;
          const cost = fillTerms(view, agentIndex, 0);
          if (cost < runnerUpCost) {
            runnerUpCost = cost;
            runnerUpIndex = agentIndex;
          }
        }
        const runnerUpAgent = context.agents[runnerUpIndex];
        const runnerUp: Candidate | undefined =
          runnerUpAgent === undefined
            ? undefined
            : { agentId: runnerUpAgent.agentId, cost: runnerUpCost, terms: termsOf(view, runnerUpIndex, 0) };
        const handling = context.handlingSeconds(view.itemIndex, slot.agentIndex);
        const summary = summarise({
          chosen,
          runnerUp,
          handlingSeconds: handling,
          runnerUpSeconds:
            runnerUpIndex >= 0 ? context.handlingSeconds(view.itemIndex, runnerUpIndex) : undefined,
          runnerUpTook: runnerUp === undefined ? [] : (itemsByAgent.get(runnerUp.agentId) ?? []),
          view,
          priority: item.priority,
          guardOff: weights.riskGain <= 0,
        });
        assignments.push({
          itemId: item.itemId,
          agentId: slot.agent.agentId,
          predictedHandlingSeconds: handling,
          cost: chosen.cost,
          terms: chosenTerms,
          explanation: toExplanation(summary, chosen, runnerUp, candidates),
        });
      }
      return assignments;
    },
  };
}

/**
 * Lays the round out for the solver: items whose SLA gain is zero everywhere cost
 * (group's agent-side cost) + (item constant); the rest get explicit per-slot costs.
 */
function buildProblem(
  context: RoundContext,
  groups: readonly ItemGroup[],
  views: readonly ItemView[],
  weights: FlowtuneWeights,
  logReference: number,
  agentTerms: readonly number[],
  fillTerms: (view: ItemView, agentIndex: number, slotIndex: number) => number,
): AssignmentProblem {
  const slots = context.slots;
  const groupCosts = new Float64Array(slots.length * groups.length).fill(Number.POSITIVE_INFINITY);
  slots.forEach((slot, slotIndex) => {
    const agent = slot.agent;
    const load = (weights.load * (agent.activeCount + slot.slotIndex)) / Math.max(agent.capacity, 1);
    groups.forEach((group, groupIndex) => {
      if (!context.eligible(group.representative, slot.agentIndex)) return;
      const logSeconds = group.logSeconds[slot.agentIndex] ?? logReference;
      groupCosts[slotIndex * groups.length + groupIndex] =
        weights.handling * (logSeconds - logReference) +
        weights.advantage * (logSeconds - group.logFastest) +
        (agentTerms[slot.agentIndex] ?? 0) +
        load;
    });
  });
  const itemGroup = new Int32Array(views.length);
  const itemConstant = new Float64Array(views.length);
  const explicitIndex = new Int32Array(views.length).fill(-1);
  const explicitViews: number[] = [];
  views.forEach((view, column) => {
    itemConstant[column] =
      weights.handling * view.logRatio -
      weights.priority * Math.log(view.priorityWeight) -
      Math.log(1 + view.waitSeconds / view.agingSeconds) +
      (view.slaConstant ?? 0);
    if (view.slaGain === undefined || view.slaConstant !== undefined) {
      itemGroup[column] = view.group;
    } else {
      itemGroup[column] = -1;
      explicitIndex[column] = explicitViews.length;
      explicitViews.push(column);
    }
  });
  const explicitCosts = new Float64Array(slots.length * explicitViews.length).fill(Number.POSITIVE_INFINITY);
  slots.forEach((slot, slotIndex) => {
    explicitViews.forEach((column, explicitColumn) => {
      const view = views[column];
      if (view === undefined || !context.eligible(view.itemIndex, slot.agentIndex)) return;
      explicitCosts[slotIndex * explicitViews.length + explicitColumn] = fillTerms(
        view,
        slot.agentIndex,
        slot.slotIndex,
      );
    });
  });
  return {
    slots: slots.length,
    items: views.length,
    groups: groups.length,
    groupCosts,
    itemGroup,
    itemConstant,
    explicitIndex,
    explicitCount: explicitViews.length,
    explicitCosts,
  };
}

/** Agent-independent facts about each item that has at least one eligible free slot, and the item classes. */
function describeItems(
  context: RoundContext,
  weights: FlowtuneWeights,
): { groups: ItemGroup[]; views: ItemView[] } {
  const { now, items, roster, model, agents } = context;
  const groups: ItemGroup[] = [];
  const groupIndex = new Map<string, number>();
  const groupCapacity: number[] = [];
  const groupWaiting: number[] = [];
  const itemGroups = items.map((item, itemIndex) => {
    const key = `${item.category}|${eligibilityKey(item)}`;
    let index = groupIndex.get(key);
    if (index === undefined) {
      index = groups.length;
      groupIndex.set(key, index);
      let capacity = 0;
      let fastest = Number.POSITIVE_INFINITY;
      for (const agent of roster) {
        if (!hasRequiredSkills(agent, item)) continue;
        capacity += Math.max(agent.capacity, 0);
        fastest = Math.min(fastest, model.predict(item.category, agent.agentId).seconds);
      }
      const seconds = context.categorySeconds(item.category);
      const logSeconds = new Float64Array(agents.length);
      for (let agentIndex = 0; agentIndex < agents.length; agentIndex++) {
        logSeconds[agentIndex] = Math.log(seconds[agentIndex] ?? model.globalSeconds);
      }
      groups.push({
        category: item.category,
        logSeconds,
        logFastest: Math.log(Number.isFinite(fastest) ? fastest : model.category(item.category).seconds),
        representative: itemIndex,
      });
      groupCapacity.push(capacity);
      groupWaiting.push(0);
    }
    groupWaiting[index] = (groupWaiting[index] ?? 0) + 1;
    return index;
  });

  const views: ItemView[] = [];
  const atRiskFlags: boolean[] = [];
  items.forEach((item, itemIndex) => {
    let hasSlot = false;
    for (let agentIndex = 0; agentIndex < agents.length && !hasSlot; agentIndex++) {
      hasSlot = context.eligible(itemIndex, agentIndex);
    }
    if (!hasSlot) return;
    const group = itemGroups[itemIndex] ?? 0;
    const categorySeconds = model.category(item.category).seconds;
    const capacity = Math.max(groupCapacity[group] ?? 1, 1);
    const competing = Math.max(groupWaiting[group] ?? 1, 1);
    const slaWindowSeconds = Math.max((item.slaDueAt - item.createdAt) / 1000, 1);
    const view: ItemView = {
      itemIndex,
      group,
      regime: 'urgency',
      breachGain: 0,
      priorityWeight:
        1 +
        (Math.max(1, item.priority) -
          1 +
          weights.customer * (TIER_PRIORITY_BOOST[item.customerTier ?? ''] ?? 0)) /
          2,
      basePriorityWeight: 1 + (Math.max(1, item.priority) - 1) / 2,
      customerTier: item.customerTier ?? 'standard',
      waitSeconds: Math.max(0, (now - item.enqueuedAt) / 1000),
      agingSeconds: Math.max(
        weights.agingHandlingMultiple > 0
          ? weights.agingHandlingMultiple * model.globalSeconds
          : slaWindowSeconds * weights.agingWindowFraction,
        1,
      ),
      secondsToDue: (item.slaDueAt - now) / 1000,
      deferralSeconds: (categorySeconds * competing) / capacity,
      logRatio: Math.log(context.itemRatio(itemIndex)),
      cv: model.categoryCv(item.category),
    };
    // SLA gain per agent: only near the deadline, and only when it is worth a thousandth.
    for (let agentIndex = 0; agentIndex < agents.length; agentIndex++) {
      if (!context.eligible(itemIndex, agentIndex)) continue;
      const handling = context.handlingSeconds(itemIndex, agentIndex);
      if (view.secondsToDue - view.deferralSeconds >= handling * SLA_HORIZON_MULTIPLE) continue;
      const breachNow = lognormalSurvival(view.secondsToDue, handling, view.cv);
      const breachLater = lognormalSurvival(view.secondsToDue - view.deferralSeconds, handling, view.cv);
      const gain = breachLater - breachNow;
      if (gain < SLA_GAIN_FLOOR) continue;
      view.slaGain ??= new Float64Array(agents.length);
      view.slaGain[agentIndex] = gain;
    }
    if (view.slaGain !== undefined)
      for (const gain of view.slaGain) view.breachGain = Math.max(view.breachGain, gain);
    atRiskFlags.push(view.breachGain >= weights.riskGain);
    if (view.slaGain !== undefined) {
      const aged = 1 + view.waitSeconds / view.agingSeconds;
      let low = Number.POSITIVE_INFINITY;
      let high = Number.NEGATIVE_INFINITY;
      let total = 0;
      let count = 0;
      for (let agentIndex = 0; agentIndex < agents.length; agentIndex++) {
        if (!context.eligible(itemIndex, agentIndex)) continue;
        const term = -Math.log(1 + (weights.sla * (view.slaGain[agentIndex] ?? 0)) / aged);
        low = Math.min(low, term);
        high = Math.max(high, term);
        total += term;
        count++;
      }
      if (high - low < SLA_TERM_TOLERANCE) view.slaConstant = total / Math.max(count, 1);
    }
    views.push(view);
  });
  // The guard: an item whose SLA is not at risk is ordered as the simple rule would order it.
  views.forEach((view, column) => {
    if (atRiskFlags[column] === true) return;
    view.regime = 'efficiency';
    // The customer's tier is a contract, not a workload property: its part of the weight stays.
    view.priorityWeight /= view.basePriorityWeight;
    view.basePriorityWeight = 1;
    view.slaGain = undefined;
    view.slaConstant = undefined;
  });
  return { groups, views };
}

function percent(share: number): string {
  return `${(share * 100).toFixed(share < 0.01 ? 1 : 0)}%`;
}

function sumTerms(terms: readonly CostTerm[]): number {
  let total = 0;
  for (const term of terms) total += term.value;
  return total;
}

function summarise(input: {
  readonly chosen: Candidate;
  readonly runnerUp: Candidate | undefined;
  readonly handlingSeconds: number;
  readonly runnerUpSeconds: number | undefined;
  /** Items the runner-up agent was given in this round. */
  readonly runnerUpTook: readonly string[];
  readonly view: ItemView;
  readonly priority: number;
  /** riskGain 0: every item is in the urgency order. */
  readonly guardOff: boolean;
}): string {
  const { chosen, runnerUp, handlingSeconds, runnerUpSeconds, view } = input;
  const customer =
    view.priorityWeight === view.basePriorityWeight
      ? ''
      : ` (${view.customerTier} customer: priority weight ×${(view.priorityWeight / view.basePriorityWeight).toFixed(2)})`;
  const regime = input.guardOff
    ? 'urgency order (guard off): priority and SLA weigh in'
    : view.regime === 'urgency'
      ? `urgency order: SLA at risk (serving now lowers the breach chance by ${percent(view.breachGain)}), so priority and SLA weigh in`
      : `efficiency order: SLA not at risk (breach chance ${percent(view.breachGain)} lower if served now), so priority and SLA do not reorder it`;
  const context = `waited ${formatSeconds(view.waitSeconds)}, SLA due in ${formatSeconds(view.secondsToDue)}, priority ${input.priority}${customer}; ${regime}`;
  if (runnerUp === undefined || runnerUpSeconds === undefined) {
    return `Routed to ${chosen.agentId}, the only eligible agent with a free slot: expected ${formatSeconds(handlingSeconds)}; ${context}.`;
  }
  if (runnerUp.cost < chosen.cost) {
    // The joint assignment gave the better-fitting agent other work that needed it more.
    const took = input.runnerUpTook.length === 0 ? 'other work' : input.runnerUpTook.join(', ');
    return (
      `Routed to ${chosen.agentId} (expected ${formatSeconds(handlingSeconds)}): ${runnerUp.agentId} would fit this item better ` +
      `(${formatSeconds(runnerUpSeconds)}) but takes ${took} this round, and the round costs least that way; ${context}.`
    );
  }
  let decisive = '';
  let largest = 0;
  for (const term of chosen.terms) {
    const other = runnerUp.terms.find((candidate) => candidate.name === term.name);
    const advantage = (other?.value ?? 0) - term.value;
    if (advantage > largest) {
      largest = advantage;
      decisive = term.name;
    }
  }
  const decidedBy = decisive === '' ? 'a tie broken by agent order' : `mostly ${decisive}`;
  return (
    `Routed to ${chosen.agentId}: expected ${formatSeconds(handlingSeconds)} here vs ${formatSeconds(runnerUpSeconds)} ` +
    `on runner-up ${runnerUp.agentId} (decided ${decidedBy}); ${context}.`
  );
}
