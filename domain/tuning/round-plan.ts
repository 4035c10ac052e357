import { DEFAULT_POLICY, type Policy } from '../policy';
import type { Assignment, DispatchRound, RoutingPolicy } from '../routing/types';
import type { Experiment } from './experiments';
import { assignInTurns, type ItemArm, intendedArm, type RoutingTurn } from './live-routing';
import { routingPolicyFor } from './routing';

/**
 * The round plan: which policy decides which items of one dispatch round, and what each decided.
 * One pure function, called by the dispatcher Lambda (and so the local runtime, which runs that
 * Lambda's handler) and by the simulator, so the benchmark measures the code that is deployed.
 */

/** A routing policy and the policy document it was built from. */
export interface RoutedBy {
  readonly policy: Policy;
  readonly routing: RoutingPolicy;
}

/** One decision of the round: the assignment, the arm it was made for and who made it. */
export interface PlannedDecision {
  readonly assignment: Assignment;
  readonly arm: ItemArm;
  readonly by: RoutedBy;
}

/** A shadow candidate's decisions for the same round, by item: recorded, never acted on. */
export interface ShadowPlan {
  readonly experiment: Experiment;
  readonly by: RoutedBy;
  readonly assignments: ReadonlyMap<string, Assignment>;
}

/**
 * Something of the experiment that could not run this round. The live decisions never depend on
 * it: the caller logs it and counts it (the dispatcher's ExperimentRoutingFailures metric).
 */
export interface RoundPlanProblem {
  /** candidate: its routing could not be built; shadow: it failed to decide; split: the A/B round failed. */
  readonly stage: 'candidate' | 'shadow' | 'split';
  readonly experimentId: string;
  readonly error: unknown;
}

export interface RoundPlan {
  readonly decisions: readonly PlannedDecision[];
  readonly shadow?: ShadowPlan;
  /** True when the round was split between the A/B arms: the caller counts it for `splitRound`. */
  readonly split: boolean;
  readonly problems: readonly RoundPlanProblem[];
}

export interface RoundPlanInput {
  readonly round: DispatchRound;
  /** The active policy document. */
  readonly policy: Policy;
  /** The current experiment; only a running one takes part. */
  readonly experiment?: Experiment | undefined;
  /**
   * Split rounds before this one: the arms alternate going first (control on even counts), so
   * neither always has first pick of the free agents. @default 0
   */
  readonly splitRound?: number;
  /**
   * Builds a document's routing policy (callers may cache by version, or wrap it in tests).
   * @default routingPolicyFor
   */
  readonly routingFor?: (policy: Policy) => RoutingPolicy;
}

/**
 * Plans one dispatch round. No experiment: the active policy decides every item. A/B: the items
 * whose intended arm is treatment are decided by the candidate and the rest by the active policy,
 * in turns over the same agents. Shadow: the active policy decides all, and the candidate decides
 * the same round on copies, for the record only. A failing candidate never costs routing: the
 * round falls back to the active policy and the failure is returned in `problems`. A failing
 * active policy throws (the round cannot be decided at all).
 *
 * @example
 * const plan = planRound({ round, policy: DEFAULT_POLICY, experiment, splitRound: 3 });
 * plan.decisions; // [{ assignment, arm: 'treatment', by: { policy, routing } }, ...]
 */
export function planRound(input: RoundPlanInput): RoundPlan {
  const { round, policy } = input;
  const routingFor = input.routingFor ?? routingPolicyFor;
  const live: RoutedBy = { policy, routing: routingFor(policy) };
  const allLive = (): PlannedDecision[] =>
    live.routing.assign(round).map((assignment) => ({ assignment, arm: 'none', by: live }));
  const experiment = input.experiment?.status === 'running' ? input.experiment : undefined;
  if (experiment === undefined) return { decisions: allLive(), split: false, problems: [] };
  const problem = (stage: RoundPlanProblem['stage'], error: unknown): RoundPlanProblem => ({
    stage,
    experimentId: experiment.experimentId,
    error,
  });

  let candidate: RoutedBy;
  try {
    candidate = { policy: experiment.candidate, routing: routingFor(experiment.candidate) };
  } catch (error) {
    return { decisions: allLive(), split: false, problems: [problem('candidate', error)] };
  }

  if (experiment.mode === 'shadow') {
    const decisions = allLive();
    let paper: Assignment[] = [];
    const problems: RoundPlanProblem[] = [];
    try {
      // Copies: a policy must not be able to change what the live decisions were made from.
      paper = candidate.routing.assign({ ...round, waiting: [...round.waiting], agents: [...round.agents] });
    } catch (error) {
      problems.push(problem('shadow', error));
    }
    return {
      decisions,
      shadow: {
        experiment,
        by: candidate,
        assignments: new Map(paper.map((assignment) => [assignment.itemId, assignment])),
      },
      split: false,
      problems,
    };
  }

  const arms = new Map(round.waiting.map((item) => [item.itemId, intendedArm(item, experiment)]));
  const turns: RoutingTurn<RoutedBy>[] = [
    {
      routing: live.routing,
      items: round.waiting.filter((item) => arms.get(item.itemId) !== 'treatment'),
      tag: live,
    },
    {
      routing: candidate.routing,
      items: round.waiting.filter((item) => arms.get(item.itemId) === 'treatment'),
      tag: candidate,
    },
  ];
  if ((input.splitRound ?? 0) % 2 === 1) turns.reverse();
  try {
    const decisions = assignInTurns(round, turns).map(({ assignment, tag }) => ({
      assignment,
      arm: arms.get(assignment.itemId) ?? 'none',
      by: tag,
    }));
    return { decisions, split: true, problems: [] };
  } catch (error) {
    return { decisions: allLive(), split: true, problems: [problem('split', error)] };
  }
}

/**
 * A stateful round planner for one process (a warm Lambda container, one simulation run): counts
 * the split rounds so the arms alternate, and caches each document's routing by version (a
 * policy's version names its content, so one build per version is enough).
 *
 * @example
 * const planner = createRoundPlanner();
 * const plan = planner.plan(round, policy, experiment);
 */
export function createRoundPlanner(
  options: { readonly routingFor?: (policy: Policy) => RoutingPolicy } = {},
): {
  plan(round: DispatchRound, policy: Policy, experiment?: Experiment): RoundPlan;
} {
  const build = options.routingFor ?? routingPolicyFor;
  const cache = new Map<string, { readonly routingSection: string; readonly routing: RoutingPolicy }>();
  const routingFor = (document: Policy): RoutingPolicy => {
    // The store hands out a fresh object each round: compare the routing section, not identity,
    // so a stateful strategy (round robin's cursor) keeps its state between rounds.
    const routingSection = JSON.stringify(document.routing);
    const cached = cache.get(document.version);
    if (cached !== undefined && cached.routingSection === routingSection) return cached.routing;
    const routing = build(document);
    cache.set(document.version, { routingSection, routing });
    return routing;
  };
  let splitRounds = 0;
  return {
    plan(round, policy, experiment) {
      const plan = planRound({ round, policy, experiment, splitRound: splitRounds, routingFor });
      if (plan.split) splitRounds++;
      return plan;
    },
  };
}

/**
 * The policy document a benchmark or simulation runs a strategy under: the given document when it
 * already names that strategy, otherwise the same document with only the strategy swapped (a
 * baseline takes no weights), versioned so its decisions are told apart.
 *
 * @example
 * policyDocumentFor('edf').routing; // { strategy: 'edf', weights: {} }
 */
export function policyDocumentFor(strategy: string, base: Policy = DEFAULT_POLICY): Policy {
  if (strategy === base.routing.strategy) return base;
  return { ...base, version: `${base.version}+${strategy}`, routing: { strategy, weights: {} } };
}

/**
 * A policy document as a RoutingPolicy: every round goes through the round plan, exactly as in the
 * dispatcher (with no experiment running). The simulator and the benchmarks route with this.
 *
 * @example
 * runEngine({ ...options, policy: plannedRouting(DEFAULT_POLICY) });
 */
export function plannedRouting(
  policy: Policy,
  options: { readonly routingFor?: (policy: Policy) => RoutingPolicy } = {},
): RoutingPolicy {
  // Fails here, not in the first round, when the document cannot route.
  (options.routingFor ?? routingPolicyFor)(policy);
  const planner = createRoundPlanner(options);
  return {
    name: policy.routing.strategy,
    assign: (round) => planner.plan(round, policy).decisions.map((decision) => decision.assignment),
  };
}
