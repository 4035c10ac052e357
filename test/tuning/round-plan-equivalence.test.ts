import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LpSolver } from '../../domain/metrics';
import type { Policy } from '../../domain/policy';
import type { DispatchMessage } from '../../domain/process';
import { type Experiment, intendedArm, planRound, policyDocumentFor } from '../../domain/tuning';
import { createDispatcherHandler, type RoundReport } from '../../lambdas/dispatcher/handler';
import { createInMemoryPorts } from '../../lambdas/shared/in-memory';
import { InMemoryTuningStore } from '../../lambdas/shared/tuning-store';
import { PROJECT_ROOT } from '../../lib/definitions';
import { highsSolver } from '../../simulator/lp';
import {
  type HarnessExperiment,
  type RoutedRound,
  runTuningSimulation,
} from '../../simulator/tuning/harness';
import { loadTuningScenario, type TuningScenario } from '../../simulator/tuning/scenario';
import { buildTuningWorkload } from '../../simulator/tuning/workload';
import { sqsEvent } from '../handlers/support';

/**
 * One code path: a round the simulator routed, handed to the dispatcher Lambda's handler (in-memory
 * ports: the same agents, statistics, active policy and experiment, the clock at the round's time),
 * must come out with the same assignments, item by item.
 */

const HOUR = 3600;

function shortBase(horizonHours: number): TuningScenario {
  const base = loadTuningScenario(join(PROJECT_ROOT, 'scenarios', 'tuning-base.yaml'));
  return { ...base, scenario: { ...base.scenario, horizonHours, warmupHours: 0.1 } };
}

/** A candidate that weighs the cost differently, so the arms decide differently. */
const candidateOf = (active: Policy): Policy => ({
  ...active,
  version: 'candidate-sla-heavy',
  routing: { strategy: 'flowtune', weights: { sla: 12, handling: 0.5, balance: 0.5 } },
});

/**
 * Rounds the simulator routed that `qualifies` picks (given the round's index among the A/B split
 * rounds, -1 outside one), copied as they were: the engine goes on updating its statistics and
 * waiting set in place. Stops looking after `wanted`.
 */
function routedRounds(
  solver: LpSolver,
  experiment: (active: Policy) => HarnessExperiment | undefined,
  qualifies: (routed: RoutedRound, splitIndex: number) => boolean,
  wanted: number,
): RoutedRound[] {
  const scenario = shortBase(0.5);
  // Above capacity, so items queue and each round chooses among several.
  const workload = buildTuningWorkload(scenario, 7, solver, { load: 1.05 });
  const rounds: RoutedRound[] = [];
  let splits = 0;
  const planned = experiment(scenario.extras.policy);
  runTuningSimulation({
    scenario,
    workload,
    loopEnabled: false,
    keepOutcomes: false,
    ...(planned === undefined ? {} : { experiment: planned }),
    onRound: (routed) => {
      const split = routed.experiment?.status === 'running' && routed.experiment.mode === 'ab';
      const splitIndex = split ? splits++ : -1;
      if (rounds.length < wanted && qualifies(routed, splitIndex)) rounds.push(structuredClone(routed));
    },
  });
  return rounds;
}

/** The dispatcher's assignments for the same round, from a fresh set of in-memory ports. */
async function dispatcherAssignments(routed: RoutedRound): Promise<Map<string, string>> {
  const { round, policy, experiment } = routed;
  const ports = createInMemoryPorts(round.now);
  const tuning = new InMemoryTuningStore(ports.tables);
  for (const agent of round.agents) ports.features.seedAgent(agent);
  const { features } = round;
  await ports.features.updateHandlingStats({ scope: 'global' }, () => features.global);
  for (const [category, stats] of Object.entries(features.byCategory))
    await ports.features.updateHandlingStats({ scope: 'category', category }, () => stats);
  for (const [key, stats] of Object.entries(features.byCategoryAgent)) {
    const [category = '', agentId = ''] = key.split('#');
    await ports.features.updateHandlingStats({ scope: 'category-agent', category, agentId }, () => stats);
  }
  await ports.features.putActivePolicy(policy);
  if (experiment !== undefined) await tuning.saveExperiment(experiment);
  const messages: Extract<DispatchMessage, { kind: 'enqueue' }>[] = round.waiting.map((item) => ({
    kind: 'enqueue',
    taskToken: ports.executions.issueToken(`assign-${item.itemId}`),
    itemId: item.itemId,
    category: item.category,
    requiredSkills: [...item.requiredSkills],
    priority: item.priority,
    createdAt: new Date(item.createdAt).toISOString(),
    slaDueAt: new Date(item.slaDueAt).toISOString(),
    attempt: 1,
    excludedAgents: [...item.excludedAgents],
    enqueuedAt: new Date(item.enqueuedAt).toISOString(),
  }));
  const reports: RoundReport[] = [];
  const handler = createDispatcherHandler({
    ...ports,
    experiments: tuning,
    onRound: (report) => reports.push(report),
  });
  await handler(sqsEvent(messages, { fifo: true }));
  expect(reports).toHaveLength(1);
  return new Map((reports[0]?.assigned ?? []).map((entry) => [entry.itemId, entry.agentId]));
}

const asMap = (routed: RoutedRound) =>
  new Map(routed.assignments.map((assignment) => [assignment.itemId, assignment.agentId]));

/** A round with a choice to make: at least three items waiting beyond those it assigned. */
const contended = (routed: RoutedRound) =>
  routed.assignments.length >= 1 && routed.round.waiting.length >= routed.assignments.length + 3;

/**
 * A round whose decisions another plan would make differently: only such a round can tell
 * whether the dispatcher ran the simulator's plan (a round everyone decides alike proves nothing).
 */
const decidedDifferentlyBy = (routed: RoutedRound, other: Policy, experiment?: Experiment) => {
  const plan = planRound({ round: routed.round, policy: other, experiment });
  const theirs = new Map(plan.decisions.map(({ assignment }) => [assignment.itemId, assignment.agentId]));
  return JSON.stringify([...theirs].sort()) !== JSON.stringify([...asMap(routed)].sort());
};

describe('the round plan: dispatcher and simulator decide alike', () => {
  let solver: LpSolver;
  beforeAll(async () => {
    solver = await highsSolver();
  });

  it('assigns the same items to the same agents without an experiment', async () => {
    // Prepare: rounds of a morning in the contact centre, as the simulator routed them.
    const rounds = routedRounds(
      solver,
      () => undefined,
      (routed) =>
        contended(routed) &&
        decidedDifferentlyBy(routed, policyDocumentFor('longest-idle-fcfs', routed.policy)) &&
        decidedDifferentlyBy(routed, candidateOf(routed.policy)),
      3,
    );
    expect(rounds).toHaveLength(3);

    for (const routed of rounds) {
      // Act
      const live = await dispatcherAssignments(routed);

      // Assess
      expect(live).toEqual(asMap(routed));
    }
  });

  it('splits an A/B round between the arms exactly as the simulator does', async () => {
    // Prepare: an A/B experiment from half an hour in; a split round where both arms wait for
    // agents, and that lets control go first, as a fresh dispatcher's first split round does.
    const [split] = routedRounds(
      solver,
      (active) => ({
        experimentId: 'exp-equivalence',
        candidate: candidateOf(active),
        mode: 'ab',
        treatmentShare: 0.5,
        startAtSeconds: 0.15 * HOUR,
      }),
      (routed, splitIndex) => {
        if (splitIndex < 0 || splitIndex % 2 !== 0 || !contended(routed)) return false;
        const arms = routed.round.waiting.map((item) => intendedArm(item, routed.experiment));
        return (
          arms.includes('treatment') &&
          arms.includes('control') &&
          // The split matters: the active policy alone, or the candidate alone, would decide otherwise.
          decidedDifferentlyBy(routed, routed.policy) &&
          routed.experiment !== undefined &&
          decidedDifferentlyBy(routed, routed.experiment.candidate)
        );
      },
      1,
    );
    expect(split).toBeDefined();
    if (split === undefined) return;

    // Act
    const live = await dispatcherAssignments(split);

    // Assess
    expect(live).toEqual(asMap(split));
  });

  it('routes a shadow round by the active policy alone, as the simulator does', async () => {
    // Prepare
    const [shadowed] = routedRounds(
      solver,
      (active) => ({
        experimentId: 'exp-shadow-equivalence',
        candidate: candidateOf(active),
        mode: 'shadow',
        treatmentShare: 0,
        startAtSeconds: 0.15 * HOUR,
      }),
      (routed) =>
        routed.experiment?.status === 'running' &&
        contended(routed) &&
        // Acting on the candidate's decisions would change the round.
        decidedDifferentlyBy(routed, routed.experiment.candidate),
      1,
    );
    expect(shadowed).toBeDefined();
    if (shadowed === undefined) return;

    // Act
    const live = await dispatcherAssignments(shadowed);

    // Assess
    expect(live).toEqual(asMap(shadowed));
  });
});
