import {
  type Estimate,
  estimate,
  type MetricEstimates,
  type RunMetrics,
  summariseReplications,
} from '../../domain/metrics';
import type { PooledReference, ReplicationResult } from '../run';
import type { BenchTask, BenchTaskResult, PredictionVariant } from './tasks';

export const FLOWTUNE = 'flowtune';
export const FCFS = 'longest-idle-fcfs';

export interface GridPlan {
  readonly scenarios: readonly { readonly name: string; readonly path: string }[];
  readonly loads: readonly number[];
  readonly policies: readonly string[];
  readonly replications: number;
  readonly seed: number;
  /** Prediction variants beyond the scenario's own, and the loads they run at. */
  readonly variants: readonly PredictionVariant[];
  readonly variantLoads: readonly number[];
  readonly logs: readonly string[];
  readonly replayPolicies: readonly string[];
  /** The random section: generated scenarios, each run at its own load by every policy. */
  readonly random?: RandomPlan;
}

export interface RandomPlan {
  readonly seed: number;
  readonly replications: number;
  readonly scenarios: readonly {
    readonly name: string;
    readonly path: string;
    readonly load: number;
    readonly description: string;
  }[];
}

export interface GridCell {
  readonly scenario: string;
  readonly variant: PredictionVariant;
  readonly load: number;
  readonly policy: string;
  readonly metrics: MetricEstimates;
  readonly throughputVsBound: Estimate;
  readonly boundPerHour: number;
  readonly meanDecisionMillis: number;
  readonly reference: PooledReference | undefined;
  readonly slaCeiling: number;
}

export interface ReplayCell {
  readonly log: string;
  readonly policy: string;
  readonly metrics: RunMetrics;
  readonly summary: {
    readonly jobs: number;
    readonly agents: number;
    readonly spanDays: number;
    readonly loggedMeanWait: number;
  };
  readonly meanDecisionMillis: number;
}

/** The tasks of a plan: one per scenario × variant × load × replication (all policies inside, on common random numbers), one per log × policy. */
export function planTasks(plan: GridPlan): BenchTask[] {
  const tasks: BenchTask[] = [];
  // Replays first: they are the longest tasks, so the pool balances better.
  for (const logPath of plan.logs) {
    for (const policy of plan.replayPolicies)
      tasks.push({ kind: 'replay', id: tasks.length, logPath, policy, seed: plan.seed });
  }
  const combos: Array<{ variant: PredictionVariant; load: number }> = [
    ...plan.loads.map((load) => ({ variant: 'scenario' as const, load })),
    ...plan.variants.flatMap((variant) => plan.variantLoads.map((load) => ({ variant, load }))),
  ];
  // Random scenarios: at their own load, as drawn, all policies on one workload per replication.
  for (const scenario of plan.random?.scenarios ?? []) {
    for (let replication = 0; replication < (plan.random?.replications ?? 0); replication++) {
      tasks.push({
        kind: 'grid',
        id: tasks.length,
        scenarioPath: scenario.path,
        variant: 'scenario',
        load: scenario.load,
        replication,
        seed: plan.seed,
        policies: plan.policies,
      });
    }
  }
  for (const scenario of plan.scenarios) {
    for (const { variant, load } of combos) {
      for (let replication = 0; replication < plan.replications; replication++) {
        tasks.push({
          kind: 'grid',
          id: tasks.length,
          scenarioPath: scenario.path,
          variant,
          load,
          replication,
          seed: plan.seed,
          policies: plan.policies,
        });
      }
    }
  }
  return tasks;
}

export function aggregate(
  plan: GridPlan,
  tasks: readonly BenchTask[],
  results: readonly BenchTaskResult[],
): { cells: GridCell[]; replays: ReplayCell[]; errors: string[] } {
  const errors: string[] = [];
  const byKey = new Map<string, { runs: ReplicationResult[]; reference?: PooledReference }>();
  const replays: ReplayCell[] = [];
  results.forEach((result, index) => {
    const task = tasks[index];
    if (task === undefined) return;
    if (result.kind === 'error') {
      errors.push(
        `${task.kind === 'grid' ? `${task.scenarioPath} @ ${task.load}` : `${task.logPath} × ${task.policy}`}: ${result.message}`,
      );
      return;
    }
    if (result.kind === 'replay' && task.kind === 'replay') {
      replays.push({
        log: task.logPath,
        policy: result.policy,
        metrics: result.metrics,
        summary: result.summary,
        meanDecisionMillis: result.meanDecisionMillis,
      });
      return;
    }
    if (result.kind === 'grid' && task.kind === 'grid') {
      const scenario =
        [...plan.scenarios, ...(plan.random?.scenarios ?? [])].find(
          (candidate) => candidate.path === task.scenarioPath,
        )?.name ?? task.scenarioPath;
      for (const [policy, run] of Object.entries(result.results)) {
        const key = JSON.stringify([scenario, task.variant, task.load, policy]);
        const entry = byKey.get(key) ?? { runs: [] };
        entry.runs.push(run);
        entry.reference ??= result.reference;
        byKey.set(key, entry);
      }
    }
  });
  const cells: GridCell[] = [];
  for (const [key, entry] of byKey) {
    const [scenario, variant, load, policy] = JSON.parse(key) as [string, PredictionVariant, number, string];
    cells.push({
      scenario,
      variant,
      load,
      policy,
      metrics: summariseReplications(entry.runs.map((run) => run.metrics)),
      throughputVsBound: estimate(
        entry.runs.map((run) => run.metrics.throughputPerHour / run.throughputBoundPerHour),
      ),
      boundPerHour: entry.runs.reduce((sum, run) => sum + run.throughputBoundPerHour, 0) / entry.runs.length,
      meanDecisionMillis:
        entry.runs.reduce((sum, run) => sum + run.meanDecisionMillis, 0) / entry.runs.length,
      slaCeiling: entry.runs.reduce((sum, run) => sum + run.slaCeiling, 0) / entry.runs.length,
      reference: entry.reference,
    });
  }
  return { cells, replays, errors };
}

export function findCell(
  cells: readonly GridCell[],
  scenario: string,
  variant: PredictionVariant,
  load: number,
  policy: string,
): GridCell | undefined {
  return cells.find(
    (cell) =>
      cell.scenario === scenario && cell.variant === variant && cell.load === load && cell.policy === policy,
  );
}

/** The baseline (not Flowtune) with the lowest mean wait in a scenario × variant × load. */
export function bestBaseline(
  cells: readonly GridCell[],
  scenario: string,
  variant: PredictionVariant,
  load: number,
): GridCell | undefined {
  let best: GridCell | undefined;
  for (const cell of cells) {
    if (
      cell.scenario !== scenario ||
      cell.variant !== variant ||
      cell.load !== load ||
      cell.policy === FLOWTUNE
    )
      continue;
    if (best === undefined || cell.metrics.meanWait.mean < best.metrics.meanWait.mean) best = cell;
  }
  return best;
}

export const VARIANT_LABELS: Readonly<Record<PredictionVariant, string>> = {
  scenario: 'predictions as in the scenario',
  noisy: 'item predictions noisy (CV 1.0)',
  absent: 'item predictions absent',
  cold: 'cold start (no model at all)',
};

export interface TargetCheck {
  readonly target: string;
  readonly scope: string;
  readonly measured: string;
  readonly threshold: string;
  readonly pass: boolean;
}

/** Evaluates the issue's targets on the grid: one line per target × scope, passes and misses alike. */
export function checkTargets(
  plan: GridPlan,
  cells: readonly GridCell[],
  replays: readonly ReplayCell[],
  dispatch: { p99Millis: number } | undefined,
  wallSeconds: number,
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : String(value));
  for (const { name } of plan.scenarios) {
    const flowtune = findCell(cells, name, 'scenario', 0.9, FLOWTUNE);
    const fcfs = findCell(cells, name, 'scenario', 0.9, FCFS);
    if (flowtune !== undefined && fcfs !== undefined) {
      const waitRatio = flowtune.metrics.meanWait.mean / fcfs.metrics.meanWait.mean;
      const p90Ratio = flowtune.metrics.p90Wait.mean / fcfs.metrics.p90Wait.mean;
      const slaPoints = (flowtune.metrics.slaAttainment.mean - fcfs.metrics.slaAttainment.mean) * 100;
      checks.push({
        target: 'mean wait vs longest-idle FCFS @0.9',
        scope: name,
        measured: `${fmt(waitRatio)}×`,
        threshold: '≤ 0.50×',
        pass: waitRatio <= 0.5,
      });
      checks.push({
        target: 'p90 wait vs longest-idle FCFS @0.9',
        scope: name,
        measured: `${fmt(p90Ratio)}×`,
        threshold: '≤ 0.60×',
        pass: p90Ratio <= 0.6,
      });
      const headroom = (flowtune.slaCeiling - fcfs.metrics.slaAttainment.mean) * 100;
      checks.push({
        target: 'SLA attainment vs longest-idle FCFS @0.9',
        scope: name,
        measured: `${slaPoints >= 0 ? '+' : ''}${fmt(slaPoints, 1)} pts (${fmt(fcfs.metrics.slaAttainment.mean * 100, 1)}% → ${fmt(flowtune.metrics.slaAttainment.mean * 100, 1)}%; ceiling ${fmt(flowtune.slaCeiling * 100, 1)}%, +${fmt(headroom, 1)} possible)`,
        threshold: '≥ +10 pts',
        pass: slaPoints >= 10,
      });
    }
    let worst = 0;
    let worstAt = '';
    for (const load of plan.loads.filter((value) => value <= 0.95)) {
      const flowtuneCell = findCell(cells, name, 'scenario', load, FLOWTUNE);
      const best = bestBaseline(cells, name, 'scenario', load);
      if (flowtuneCell === undefined || best === undefined) continue;
      const ratio = flowtuneCell.metrics.meanWait.mean / best.metrics.meanWait.mean;
      if (ratio > worst) {
        worst = ratio;
        worstAt = `@${load} vs ${best.policy}`;
      }
    }
    if (worstAt !== '') {
      checks.push({
        target: 'mean wait vs best baseline, loads ≤ 0.95 (worst)',
        scope: name,
        measured: `${fmt(worst, 3)}× ${worstAt}`,
        threshold: '≤ 1.02×',
        pass: worst <= 1.02,
      });
    }
    const saturated = findCell(cells, name, 'scenario', Math.max(...plan.loads), FLOWTUNE);
    if (saturated !== undefined && Math.max(...plan.loads) >= 1) {
      const ratio = saturated.throughputVsBound.mean;
      checks.push({
        target: `throughput vs LP bound @${Math.max(...plan.loads)}`,
        scope: name,
        measured: `${fmt(ratio * 100, 1)}%`,
        threshold: '≥ 98%',
        pass: ratio >= 0.98,
      });
    }
    for (const variant of plan.variants) {
      for (const load of plan.variantLoads) {
        const flowtuneCell = findCell(cells, name, variant, load, FLOWTUNE);
        const best = bestBaseline(cells, name, variant, load);
        if (flowtuneCell === undefined || best === undefined) continue;
        const ratio = flowtuneCell.metrics.meanWait.mean / best.metrics.meanWait.mean;
        checks.push({
          target: `mean wait vs best baseline, ${VARIANT_LABELS[variant]} @${load}`,
          scope: name,
          measured: `${fmt(ratio, 3)}× vs ${best.policy}`,
          threshold: '≤ 1.05×',
          pass: ratio <= 1.05,
        });
      }
    }
  }
  for (const log of plan.logs) {
    const flowtune = replays.find((cell) => cell.log === log && cell.policy === FLOWTUNE);
    const fcfs = replays.find((cell) => cell.log === log && cell.policy === FCFS);
    if (flowtune === undefined || fcfs === undefined) continue;
    const ratio = flowtune.metrics.meanWait / fcfs.metrics.meanWait;
    checks.push({
      target: 'replay mean wait vs longest-idle FCFS',
      scope: log.split('/').at(-1) ?? log,
      measured: `${fmt(ratio, 3)}×`,
      threshold: '< 1×',
      pass: ratio < 1,
    });
  }
  if (dispatch !== undefined) {
    checks.push({
      target: 'dispatch round 200 agents × 500 items, p99',
      scope: 'in-process',
      measured: `${fmt(dispatch.p99Millis, 1)} ms`,
      threshold: '< 20 ms',
      pass: dispatch.p99Millis < 20,
    });
  }
  checks.push({
    target: 'whole bench',
    scope: 'wall clock',
    measured: `${fmt(wallSeconds, 0)} s`,
    threshold: '< 180 s',
    pass: wallSeconds < 180,
  });
  return checks;
}

/**
 * Mean waits below this many seconds count as this many in the random section's ratios: at light
 * load both policies wait almost nothing, and 0.1 s ÷ 0.05 s is noise, not a 2× loss.
 */
export const RANDOM_WAIT_FLOOR_SECONDS = 1;
/** The random targets apply to scenarios at or below this load (above it the system saturates). */
export const RANDOM_TARGET_MAX_LOAD = 0.95;

export interface RandomScenarioResult {
  readonly name: string;
  readonly description: string;
  readonly load: number;
  readonly path: string;
  readonly flowtuneMeanWait: number;
  readonly bestBaseline: string;
  readonly bestBaselineMeanWait: number;
  /** Flowtune's mean wait ÷ the best baseline's (both floored at RANDOM_WAIT_FLOOR_SECONDS). */
  readonly ratio: number;
  readonly flowtuneSla: number;
  readonly bestSlaBaseline: string;
  readonly bestBaselineSla: number;
  /** Flowtune's SLA attainment minus the best baseline's, points. */
  readonly slaDeltaPoints: number;
}

/** The `random` block of the report: the summary over the scenarios the targets apply to, and every scenario. */
export interface RandomSummary {
  readonly seed: number;
  readonly replications: number;
  /** Scenarios at loads ≤ RANDOM_TARGET_MAX_LOAD (the targets' population). */
  readonly scenarios: number;
  /** Share of those with Flowtune within 1.02× of the best baseline's mean wait. */
  readonly withinTwoPercentShare: number;
  readonly worstRatio: number;
  readonly worstScenario: string;
  /** The lowest Flowtune − best baseline SLA attainment, points (negative: below). */
  readonly slaWorstDeltaPoints: number;
  readonly slaWorstScenario: string;
  readonly waitFloorSeconds: number;
  readonly maxLoad: number;
  /** Every generated scenario, those above maxLoad included. */
  readonly results: readonly RandomScenarioResult[];
}

export function summariseRandom(plan: GridPlan, cells: readonly GridCell[]): RandomSummary | undefined {
  const random = plan.random;
  if (random === undefined || random.scenarios.length === 0) return undefined;
  const floor = (value: number) => Math.max(value, RANDOM_WAIT_FLOOR_SECONDS);
  const results: RandomScenarioResult[] = [];
  for (const scenario of random.scenarios) {
    const flowtune = findCell(cells, scenario.name, 'scenario', scenario.load, FLOWTUNE);
    const best = bestBaseline(cells, scenario.name, 'scenario', scenario.load);
    if (flowtune === undefined || best === undefined) continue;
    let bestSla = best;
    for (const cell of cells) {
      if (cell.scenario !== scenario.name || cell.policy === FLOWTUNE) continue;
      if (cell.metrics.slaAttainment.mean > bestSla.metrics.slaAttainment.mean) bestSla = cell;
    }
    results.push({
      name: scenario.name,
      description: scenario.description,
      load: scenario.load,
      path: scenario.path,
      flowtuneMeanWait: flowtune.metrics.meanWait.mean,
      bestBaseline: best.policy,
      bestBaselineMeanWait: best.metrics.meanWait.mean,
      ratio: floor(flowtune.metrics.meanWait.mean) / floor(best.metrics.meanWait.mean),
      flowtuneSla: flowtune.metrics.slaAttainment.mean,
      bestSlaBaseline: bestSla.policy,
      bestBaselineSla: bestSla.metrics.slaAttainment.mean,
      slaDeltaPoints: (flowtune.metrics.slaAttainment.mean - bestSla.metrics.slaAttainment.mean) * 100,
    });
  }
  const targeted = results.filter((result) => result.load <= RANDOM_TARGET_MAX_LOAD);
  const worst = targeted.reduce<RandomScenarioResult | undefined>(
    (current, result) => (current === undefined || result.ratio > current.ratio ? result : current),
    undefined,
  );
  const slaWorst = targeted.reduce<RandomScenarioResult | undefined>(
    (current, result) =>
      current === undefined || result.slaDeltaPoints < current.slaDeltaPoints ? result : current,
    undefined,
  );
  return {
    seed: random.seed,
    replications: random.replications,
    scenarios: targeted.length,
    withinTwoPercentShare:
      targeted.length === 0
        ? Number.NaN
        : targeted.filter((result) => result.ratio <= 1.02).length / targeted.length,
    worstRatio: worst?.ratio ?? Number.NaN,
    worstScenario: worst?.name ?? '',
    slaWorstDeltaPoints: slaWorst?.slaDeltaPoints ?? Number.NaN,
    slaWorstScenario: slaWorst?.name ?? '',
    waitFloorSeconds: RANDOM_WAIT_FLOOR_SECONDS,
    maxLoad: RANDOM_TARGET_MAX_LOAD,
    results,
  };
}

/** The random section's targets: one line each, passes and misses alike. */
export function randomTargets(summary: RandomSummary | undefined): TargetCheck[] {
  if (summary === undefined) return [];
  const scope = `${summary.scenarios} random scenarios @≤${summary.maxLoad} (seed ${summary.seed}, ${summary.replications} reps)`;
  return [
    {
      target: 'random: share within 1.02× of the best baseline mean wait',
      scope,
      measured: `${(summary.withinTwoPercentShare * 100).toFixed(0)}%`,
      threshold: '≥ 95%',
      pass: summary.withinTwoPercentShare >= 0.95,
    },
    {
      target: 'random: worst mean wait vs best baseline',
      scope,
      measured: `${summary.worstRatio.toFixed(3)}× (${summary.worstScenario})`,
      threshold: '≤ 1.10×',
      pass: summary.worstRatio <= 1.1,
    },
    {
      target: 'random: worst SLA attainment vs best baseline',
      scope,
      measured: `${summary.slaWorstDeltaPoints >= 0 ? '+' : ''}${summary.slaWorstDeltaPoints.toFixed(1)} pts (${summary.slaWorstScenario})`,
      threshold: '≥ −1 pt',
      pass: summary.slaWorstDeltaPoints >= -1,
    },
  ];
}
