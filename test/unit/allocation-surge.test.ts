import { describe, expect, it } from 'vitest';
import {
  buildAllocationWorkload,
  compareAllocation,
  formatAllocationComparison,
  runAllocationReplication,
} from '../../simulator/allocation/surge-run';
import {
  AllocationScenarioError,
  loadAllocationScenario,
  parseAllocationScenario,
} from '../../simulator/allocation/surge-scenario';

const SCENARIO_PATH = 'scenarios/allocation-surge.yaml';

describe('allocation on a demand surge (scenarios/allocation-surge.yaml)', () => {
  it('lifts the surging queue at least 10 points and keeps every other queue at its target', () => {
    // Prepare
    const scenario = loadAllocationScenario(SCENARIO_PATH);

    // Act
    const comparison = compareAllocation(scenario, { replications: 8, seed: 1 });
    console.info(formatAllocationComparison(comparison));

    // Assess
    const cards = comparison.queues.find((queue) => queue.queueId === 'cards');
    expect(cards?.difference.mean ?? 0).toBeGreaterThanOrEqual(0.1);
    expect((cards?.difference.mean ?? 0) - (cards?.difference.halfWidth ?? 1)).toBeGreaterThan(0.1);
    for (const queue of comparison.queues.filter((candidate) => candidate.queueId !== 'cards')) {
      expect(queue.off.mean, `${queue.queueId} meets its target without allocation`).toBeGreaterThanOrEqual(
        queue.target,
      );
      expect(queue.on.mean, `${queue.queueId} stays at its target with allocation`).toBeGreaterThanOrEqual(
        queue.target,
      );
    }
  });

  it('moves only proficient people whose shifts outlast the horizon, within the hourly limit', () => {
    // Prepare
    const scenario = loadAllocationScenario(SCENARIO_PATH);
    const workload = buildAllocationWorkload(scenario, 11);

    // Act
    const result = runAllocationReplication(workload, 'on');

    // Assess
    const moves = result.runs.flatMap((run) =>
      run.recommendations.flatMap((recommendation) =>
        recommendation.kind === 'move' ? [{ at: run.at, ...recommendation }] : [],
      ),
    );
    expect(moves.length).toBeGreaterThan(0);
    for (const move of moves) {
      expect(move.agentId).not.toMatch(/^novice-/);
      expect(move.toQueue === 'cards' || move.fromQueue === 'cards').toBe(true);
      const shiftEnd = workload.shiftEnds[move.agentId];
      expect(shiftEnd === undefined || shiftEnd > move.at + scenario.policy.horizonMinutes * 60_000).toBe(
        true,
      );
      const sameHour = moves.filter((other) => other.at > move.at - 3_600_000 && other.at <= move.at);
      expect(sameHour.length).toBeLessThanOrEqual(scenario.policy.maxMovesPerHour);
    }
    const loansStaff = Object.values(result.finalAssignments).filter((queue) => queue === 'loans').length;
    expect(loansStaff).toBeGreaterThanOrEqual(scenario.policy.minStaffPerQueue.loans ?? 0);
  });

  it('changes nothing when allocation is off', () => {
    // Prepare
    const workload = buildAllocationWorkload(loadAllocationScenario(SCENARIO_PATH), 3);

    // Act
    const result = runAllocationReplication(workload, 'off');

    // Assess
    expect(result.runs).toEqual([]);
    expect(result.finalAssignments).toEqual(workload.initialAssignments);
  });

  it('is deterministic for a seed', () => {
    // Prepare
    const scenario = loadAllocationScenario(SCENARIO_PATH);

    // Act
    const first = runAllocationReplication(buildAllocationWorkload(scenario, 5), 'on');
    const second = runAllocationReplication(buildAllocationWorkload(scenario, 5), 'on');

    // Assess
    expect(second.queues).toEqual(first.queues);
    expect(second.finalAssignments).toEqual(first.finalAssignments);
  });
});

describe('parseAllocationScenario', () => {
  it('names an agent group logged into an undefined queue', () => {
    // Prepare
    const text = `
name: broken
horizonHours: 2
queues:
  - { queueId: a, arrivalsPerHour: 10, meanHandlingSeconds: 60, target: { fraction: 0.8, withinSeconds: 20 }, requiredSkills: [{ skill: a }] }
  - { queueId: b, arrivalsPerHour: 10, meanHandlingSeconds: 60, target: { fraction: 0.8, withinSeconds: 20 }, requiredSkills: [{ skill: b }] }
agents:
  - { group: x, count: 2, skills: { a: 3 }, queue: c }
policy: { version: p1 }
`;

    // Act / Assess
    expect(() => parseAllocationScenario(text, 'broken.yaml')).toThrow(AllocationScenarioError);
    expect(() => parseAllocationScenario(text, 'broken.yaml')).toThrow(
      /agents\.0\.queue: queue "c" is not defined/,
    );
  });

  it('refuses a group logged into a queue it lacks the skills for', () => {
    // Prepare
    const text = `
name: unskilled
horizonHours: 2
queues:
  - { queueId: a, arrivalsPerHour: 10, meanHandlingSeconds: 60, target: { fraction: 0.8, withinSeconds: 20 }, requiredSkills: [{ skill: a, minProficiency: 3 }] }
  - { queueId: b, arrivalsPerHour: 10, meanHandlingSeconds: 60, target: { fraction: 0.8, withinSeconds: 20 }, requiredSkills: [{ skill: b }] }
agents:
  - { group: x, count: 2, skills: { a: 2 }, queue: a }
policy: { version: p1 }
`;

    // Act / Assess
    expect(() => parseAllocationScenario(text)).toThrow(/agents\.0\.skills: group "x" lacks the skills/);
  });

  it('validates the allocation policy inside the scenario', () => {
    // Prepare
    const text = `
name: policy
horizonHours: 2
queues:
  - { queueId: a, arrivalsPerHour: 10, meanHandlingSeconds: 60, target: { fraction: 0.8, withinSeconds: 20 }, requiredSkills: [{ skill: a }] }
  - { queueId: b, arrivalsPerHour: 10, meanHandlingSeconds: 60, target: { fraction: 0.8, withinSeconds: 20 }, requiredSkills: [{ skill: b }] }
agents:
  - { group: x, count: 2, skills: { a: 2 }, queue: a }
policy: { version: p1, maxMovesPerHour: 1, maxAutoMovesPerHour: 2 }
`;

    // Act / Assess
    expect(() => parseAllocationScenario(text)).toThrow(/policy\.maxAutoMovesPerHour/);
  });
});
