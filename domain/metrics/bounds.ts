/**
 * Static planning LPs (fluid models) of a skill-based system, written in CPLEX LP format so any
 * LP solver can be plugged in; the simulator passes HiGHS. Domain code only builds the models
 * and reads the answer: the solver is injected.
 */

/** Solves a CPLEX LP-format model; returns the optimal objective or a failure status. */
export type LpSolver = (model: string) => { readonly status: string; readonly objective: number };

export interface FluidSystem {
  /** Category shares (any non-negative scale) or counts, by category index. */
  readonly demand: readonly number[];
  /** Slots of each agent (capacity × fraction of time on shift). */
  readonly agentSlots: readonly number[];
  /** True mean handling seconds of category c on agent a; Infinity when the agent is not eligible. */
  readonly handlingSeconds: (category: number, agent: number) => number;
}

function flowTerms(system: FluidSystem, category: number): string[] {
  const terms: string[] = [];
  system.agentSlots.forEach((_, agent) => {
    if (Number.isFinite(system.handlingSeconds(category, agent))) terms.push(`x_${category}_${agent}`);
  });
  return terms;
}

function agentRows(system: FluidSystem, bound: (agent: number) => number): string[] {
  const rows: string[] = [];
  system.agentSlots.forEach((_, agent) => {
    const terms: string[] = [];
    system.demand.forEach((_demand, category) => {
      const handling = system.handlingSeconds(category, agent);
      if (Number.isFinite(handling)) terms.push(`${handling.toPrecision(12)} x_${category}_${agent}`);
    });
    if (terms.length > 0)
      rows.push(` agent_${agent}: ${terms.join(' + ')} <= ${bound(agent).toPrecision(12)}`);
  });
  return rows;
}

/**
 * Maximum sustainable arrival rate (items/s) with the given mix: max s such that flows x_ca meet
 * s·share_c for every category and no agent's slots are over-committed (Σ_c x_ca h_ca ≤ slots_a).
 * "Load 0.9" in the benchmark means 0.9 of this rate.
 */
export function capacityModel(system: FluidSystem): string {
  const totalShare = system.demand.reduce((sum, share) => sum + share, 0);
  const lines = ['Maximize', ' rate: s', 'Subject To'];
  system.demand.forEach((share, category) => {
    const terms = flowTerms(system, category);
    const fraction = (share / totalShare).toPrecision(12);
    if (terms.length === 0) {
      if (share > 0) lines.push(` demand_${category}: ${fraction} s <= 0`);
      return;
    }
    lines.push(` demand_${category}: ${terms.join(' + ')} - ${fraction} s = 0`);
  });
  lines.push(...agentRows(system, (agent) => system.agentSlots[agent] ?? 0), 'End');
  return lines.join('\n');
}

/**
 * Upper bound on completions in a window of `windowSeconds` when `demand[c]` items of each
 * category arrive in it: max Σ x_ca with Σ_a x_ca ≤ demand_c and Σ_c x_ca h_ca ≤ window · slots_a.
 * No routing policy can complete more (it ignores only that work arrives over time).
 */
export function throughputModel(system: FluidSystem, windowSeconds: number): string {
  const objective: string[] = [];
  const lines: string[] = [];
  system.demand.forEach((count, category) => {
    const terms = flowTerms(system, category);
    if (terms.length === 0) return;
    objective.push(...terms);
    lines.push(` demand_${category}: ${terms.join(' + ')} <= ${count.toPrecision(12)}`);
  });
  if (objective.length === 0) return 'Maximize\n obj: 0 zero\nSubject To\n fix: zero = 0\nEnd';
  return [
    'Maximize',
    ` completions: ${objective.join(' + ')}`,
    'Subject To',
    ...lines,
    ...agentRows(system, (agent) => windowSeconds * (system.agentSlots[agent] ?? 0)),
    'End',
  ].join('\n');
}

/** Runs a model through the injected solver and insists on an optimum. */
export function solveOptimal(solver: LpSolver, model: string, what: string): number {
  const result = solver(model);
  if (result.status !== 'Optimal')
    throw new Error(`${what}: LP solver returned "${result.status}", expected "Optimal"`);
  return result.objective;
}
