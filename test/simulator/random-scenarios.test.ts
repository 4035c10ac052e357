import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { estimate, summariseReplications } from '../../domain/metrics';
import { type GridCell, type GridPlan, randomTargets, summariseRandom } from '../../simulator/bench/grid';
import { RANDOM_LOAD_RANGE, randomScenario, writeRandomScenarios } from '../../simulator/random-scenarios';
import { loadScenario } from '../../simulator/scenario';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

describe('random scenarios', () => {
  it('draws the same scenario for the same seed and index, and another for another seed', () => {
    // Act
    const first = randomScenario(7, 3);
    const again = randomScenario(7, 3);
    const other = randomScenario(8, 3);

    // Assess
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    expect(first.name).toBe('random-7-03');
  });

  it('covers the documented ranges: every skill structure, capacities 1-5, loads 0.5-1.1, handling CV 0.5-2', () => {
    // Act
    const scenarios = Array.from({ length: 40 }, (_, index) => randomScenario(1, index));

    // Assess
    const structures = new Set(scenarios.map((scenario) => scenario.description.split(' ')[0]));
    expect(structures).toEqual(new Set(['specialist', 'chained', 'overlapping', 'flexible']));
    for (const scenario of scenarios) {
      expect(scenario.load).toBeGreaterThanOrEqual(RANDOM_LOAD_RANGE[0]);
      expect(scenario.load).toBeLessThanOrEqual(RANDOM_LOAD_RANGE[1]);
      for (const group of scenario.agents) {
        expect(group.capacity).toBeGreaterThanOrEqual(1);
        expect(group.capacity).toBeLessThanOrEqual(5);
      }
      for (const category of scenario.categories) {
        expect(category.handlingCv).toBeGreaterThanOrEqual(0.5);
        expect(category.handlingCv).toBeLessThanOrEqual(2);
      }
    }
    // Abandonment on and off, flat and shaped days, several capacities, specialist pools of one skill.
    expect(new Set(scenarios.map((s) => s.categories[0]?.patienceSeconds === undefined))).toEqual(
      new Set([true, false]),
    );
    expect(new Set(scenarios.map((s) => s.arrivals.profile === undefined))).toEqual(new Set([true, false]));
    expect(new Set(scenarios.flatMap((s) => s.agents.map((group) => group.capacity))).size).toBeGreaterThan(
      3,
    );
    const specialist = scenarios.find((scenario) => scenario.description.startsWith('specialist'));
    expect(
      specialist?.agents
        .filter((group) => group.group !== 'senior')
        .every((g) => Object.keys(g.skills).length === 1),
    ).toBe(true);
  });

  it('writes each scenario as a file that loads back through the scenario schema unchanged', () => {
    // Prepare
    const directory = mkdtempSync(join(tmpdir(), 'flowtune-random-'));
    directories.push(directory);

    // Act
    const written = writeRandomScenarios(3, 4, directory);

    // Assess
    expect(written.map((entry) => entry.name)).toEqual([
      'random-3-00',
      'random-3-01',
      'random-3-02',
      'random-3-03',
    ]);
    for (const [index, entry] of written.entries()) {
      expect(loadScenario(entry.path)).toEqual(randomScenario(3, index));
      expect(readFileSync(entry.path, 'utf8')).toMatch(/Re-run: npx flowtune simulate --scenario /);
    }
  });
});

/** A grid cell with the given mean wait and SLA attainment (one replication). */
function cell(scenario: string, load: number, policy: string, meanWait: number, sla: number): GridCell {
  const metrics = summariseReplications([
    {
      arrivals: 100,
      completed: 100,
      abandoned: 0,
      meanWait,
      p50Wait: meanWait,
      p90Wait: meanWait,
      meanCycle: meanWait,
      p50Cycle: meanWait,
      p90Cycle: meanWait,
      slaAttainment: sla,
      throughputPerHour: 10,
      abandonmentRate: 0,
      utilisation: 0.8,
      fairness: 1,
    },
  ]);
  return {
    scenario,
    variant: 'scenario',
    load,
    policy,
    metrics,
    throughputVsBound: estimate([1]),
    boundPerHour: 10,
    meanDecisionMillis: 0,
    reference: undefined,
    slaCeiling: 1,
  };
}

function planOf(scenarios: { name: string; load: number }[]): GridPlan {
  return {
    scenarios: [],
    loads: [],
    policies: ['flowtune', 'longest-idle-fcfs', 'edf'],
    replications: 4,
    seed: 1,
    variants: [],
    variantLoads: [],
    logs: [],
    replayPolicies: [],
    random: {
      seed: 1,
      replications: 4,
      scenarios: scenarios.map((entry) => ({ ...entry, path: `${entry.name}.yaml`, description: 'drawn' })),
    },
  };
}

describe('the random section summary', () => {
  it('divides by the best baseline per scenario, floors tiny waits, and leaves loads above 0.95 out of the targets', () => {
    // Prepare: a loss (1.2×), a win, two near-zero waits, and a saturated scenario Flowtune loses badly.
    const plan = planOf([
      { name: 'a', load: 0.9 },
      { name: 'b', load: 0.7 },
      { name: 'c', load: 0.5 },
      { name: 'd', load: 1.05 },
    ]);
    const cells = [
      cell('a', 0.9, 'flowtune', 120, 0.8),
      cell('a', 0.9, 'longest-idle-fcfs', 100, 0.85),
      cell('a', 0.9, 'edf', 140, 0.9),
      cell('b', 0.7, 'flowtune', 50, 0.95),
      cell('b', 0.7, 'longest-idle-fcfs', 60, 0.94),
      cell('b', 0.7, 'edf', 70, 0.93),
      cell('c', 0.5, 'flowtune', 0.2, 1),
      cell('c', 0.5, 'longest-idle-fcfs', 0.1, 1),
      cell('c', 0.5, 'edf', 0.3, 1),
      cell('d', 1.05, 'flowtune', 900, 0.2),
      cell('d', 1.05, 'longest-idle-fcfs', 300, 0.6),
      cell('d', 1.05, 'edf', 350, 0.6),
    ];

    // Act
    const summary = summariseRandom(plan, cells);
    const targets = randomTargets(summary);

    // Assess
    expect(summary).toMatchObject({
      scenarios: 3,
      worstScenario: 'a',
      slaWorstScenario: 'a',
    });
    expect(summary?.worstRatio).toBeCloseTo(1.2);
    expect(summary?.withinTwoPercentShare).toBeCloseTo(2 / 3);
    // SLA against the baseline best on SLA (edf's 90%), not the one best on wait.
    expect(summary?.slaWorstDeltaPoints).toBeCloseTo(-10);
    expect(summary?.results.find((result) => result.name === 'c')?.ratio).toBe(1);
    expect(summary?.results).toHaveLength(4);
    expect(targets.map((target) => target.pass)).toEqual([false, false, false]);
  });

  it('passes the targets when Flowtune is never worse', () => {
    // Prepare
    const plan = planOf([{ name: 'a', load: 0.9 }]);
    const cells = [cell('a', 0.9, 'flowtune', 100, 0.9), cell('a', 0.9, 'longest-idle-fcfs', 101, 0.9)];

    // Act
    const targets = randomTargets(summariseRandom(plan, cells));

    // Assess
    expect(targets.map((target) => target.pass)).toEqual([true, true, true]);
  });
});
