import type { ItemOutcome, LpSolver } from '../../domain/metrics';
import type { Policy } from '../../domain/policy';
import { replicationSeed } from '../run';
import { type HarnessExperiment, type HarnessResult, runTuningSimulation } from './harness';
import {
  attainmentBetween,
  type Correction,
  falseAlarms,
  type SlaPoint,
  slaCurve,
  timeToCorrect,
  timeToDetect,
  wilsonInterval,
} from './measure';
import type { TuningScenario } from './scenario';
import { buildTuningWorkload } from './workload';

/**
 * The tuning benchmark's studies, each over seeded replications with common random numbers (the
 * loop on and off, or with and without an experiment, see the very same arrivals and handling
 * times): shift scenarios (time to detect, time to correct), A/A experiments (false promotion),
 * a deliberately worse candidate (rollback and its SLA cost) and shadow mode (no live decision
 * may change). Targets are those of issue 6.
 */

const MINUTE = 60;
const HOUR = 3600;

export type Progress = (label: string, done: number, total: number) => void;

function outcomesOf(result: HarnessResult): readonly ItemOutcome[] {
  return result.engine.outcomes ?? [];
}

export interface ShiftStudy {
  readonly scenario: string;
  readonly shift: string;
  readonly expects: string;
  readonly replications: number;
  readonly shiftAt: number;
  /** Minutes from the shift to the expected detection, per replication (undefined = missed). */
  readonly detectMinutes: readonly (number | undefined)[];
  /** Drift events before the shift, over all replications, and their kinds. */
  readonly falseAlarms: number;
  readonly falseAlarmKinds: Readonly<Record<string, number>>;
  readonly preShiftAttainment: number;
  readonly on: Correction & { readonly curve: readonly SlaPoint[]; readonly postShiftAttainment: number };
  readonly off: Correction & { readonly curve: readonly SlaPoint[]; readonly postShiftAttainment: number };
  /** People called in per replication (mean), and how many of those calls needed approval. */
  readonly standbyCalls: number;
  readonly approvalCalls: number;
  readonly reestimations: number;
}

function describeShift(tuning: TuningScenario): string {
  const shift = tuning.extras.shift;
  if (shift === undefined) return 'none';
  switch (shift.kind) {
    case 'handling':
      return `${shift.category} handling ×${shift.multiplier} at ${shift.atHours} h`;
    case 'arrivals':
      return `arrivals ×${shift.multiplier} at ${shift.atHours} h`;
    case 'agents':
      return `${shift.count} ${shift.group} agents offline at ${shift.atHours} h`;
  }
}

/** Runs a shift scenario with the loop on and off on the same seeds. */
export function runShiftStudy(
  tuning: TuningScenario,
  options: {
    readonly replications: number;
    readonly seed: number;
    readonly solver: LpSolver;
    readonly progress?: Progress;
  },
): ShiftStudy {
  const { scenario, extras } = tuning;
  const expects = extras.measure.expects ?? 'residual';
  const onRuns: (readonly ItemOutcome[])[] = [];
  const offRuns: (readonly ItemOutcome[])[] = [];
  const detectMinutes: (number | undefined)[] = [];
  let alarms = 0;
  const alarmKinds: Record<string, number> = {};
  let calls = 0;
  let approvals = 0;
  let reestimations = 0;
  let shiftAt = Number.POSITIVE_INFINITY;
  const horizon = scenario.horizonHours * HOUR;
  const warmup = scenario.warmupHours * HOUR;
  for (let replication = 0; replication < options.replications; replication++) {
    const seed = replicationSeed(options.seed, replication);
    const workload = buildTuningWorkload(tuning, seed, options.solver);
    shiftAt = workload.shiftAt;
    const on = runTuningSimulation({ scenario: tuning, workload, loopEnabled: true });
    const off = runTuningSimulation({ scenario: tuning, workload, loopEnabled: false });
    onRuns.push(outcomesOf(on));
    offRuns.push(outcomesOf(off));
    const detected = timeToDetect(on.log, expects, shiftAt, horizon);
    detectMinutes.push(detected === undefined ? undefined : detected / MINUTE);
    alarms += falseAlarms(on.log, shiftAt);
    for (const entry of on.log.drift) {
      if (entry.atSeconds < shiftAt) alarmKinds[entry.event.kind] = (alarmKinds[entry.event.kind] ?? 0) + 1;
    }
    calls += on.log.standby.length;
    approvals += on.log.standby.filter((entry) => entry.decision === 'approval').length;
    reestimations += on.log.reestimations.length;
    options.progress?.(tuning.scenario.name, replication + 1, options.replications);
  }
  const windowSeconds = extras.measure.slaWindowMinutes * MINUTE;
  const curveOptions = {
    from: warmup + windowSeconds,
    to: horizon,
    windowSeconds,
    stepSeconds: extras.measure.stepMinutes * MINUTE,
  };
  const preShiftAttainment = attainmentBetween(onRuns, warmup, shiftAt);
  const tolerance = extras.measure.tolerancePoints / 100;
  const judge = (runs: readonly (readonly ItemOutcome[])[]) => {
    const curve = slaCurve(runs, curveOptions);
    return {
      ...timeToCorrect(curve, shiftAt, preShiftAttainment, tolerance),
      curve,
      postShiftAttainment: attainmentBetween(runs, shiftAt, horizon),
    };
  };
  return {
    scenario: scenario.name,
    shift: describeShift(tuning),
    expects,
    replications: options.replications,
    shiftAt,
    detectMinutes,
    falseAlarms: alarms,
    falseAlarmKinds: alarmKinds,
    preShiftAttainment,
    on: judge(onRuns),
    off: judge(offRuns),
    standbyCalls: calls / Math.max(options.replications, 1),
    approvalCalls: approvals / Math.max(options.replications, 1),
    reestimations: reestimations / Math.max(options.replications, 1),
  };
}

export interface StationaryStudy {
  readonly scenario: string;
  readonly days: number;
  /** Hours of each day that count: from the warm-up to the horizon. */
  readonly measuredHours: number;
  /** Drift events raised over all days, by kind: every one is false, nothing changed. */
  readonly alarms: Readonly<Record<string, number>>;
  /** The same per 24 simulated hours of operation. */
  readonly alarmsPer24h: Readonly<Record<string, number>>;
  /** People called in per day (mean): the cost of the capacity check's false alarms. */
  readonly standbyCalls: number;
}

/**
 * False alarms on a stationary workload: days of the base scenario with no shift at all, the
 * loop on; every drift event from the warm-up to the horizon is a false alarm. Each day is its
 * own seed, distinct from the other studies'.
 */
export function runStationaryStudy(
  tuning: TuningScenario,
  options: {
    readonly days: number;
    readonly seed: number;
    readonly solver: LpSolver;
    readonly progress?: Progress;
  },
): StationaryStudy {
  const from = tuning.scenario.warmupHours * HOUR;
  const to = tuning.scenario.horizonHours * HOUR;
  const alarms: Record<string, number> = {};
  let calls = 0;
  const { shift: _ignored, ...extras } = tuning.extras;
  const stationary: TuningScenario = { ...tuning, extras };
  for (let day = 0; day < options.days; day++) {
    const workload = buildTuningWorkload(
      stationary,
      replicationSeed(options.seed + 4000, day),
      options.solver,
    );
    const { log } = runTuningSimulation({
      scenario: stationary,
      workload,
      loopEnabled: true,
      keepOutcomes: false,
    });
    for (const entry of log.drift) {
      if (entry.atSeconds < from || entry.atSeconds >= to) continue;
      alarms[entry.event.kind] = (alarms[entry.event.kind] ?? 0) + 1;
    }
    calls += log.standby.filter((call) => call.calledAtSeconds >= from && call.calledAtSeconds < to).length;
    options.progress?.('stationary days', day + 1, options.days);
  }
  const measuredHours = (to - from) / HOUR;
  const hours = measuredHours * options.days;
  return {
    scenario: tuning.scenario.name,
    days: options.days,
    measuredHours,
    alarms,
    alarmsPer24h: Object.fromEntries(
      Object.entries(alarms).map(([kind, count]) => [kind, hours > 0 ? (count / hours) * 24 : Number.NaN]),
    ),
    standbyCalls: calls / Math.max(options.days, 1),
  };
}

export interface ExperimentOutcomeCounts {
  readonly experiments: number;
  readonly promoted: number;
  readonly rolledBack: number;
  readonly inconclusive: number;
  readonly running: number;
}

export interface AaStudy extends ExperimentOutcomeCounts {
  readonly falsePromotionRate: number;
  readonly falsePromotionInterval: { readonly low: number; readonly high: number };
  readonly treatmentShare: number;
  readonly meanDecidedPerArm: number;
}

function countOutcomes(results: readonly HarnessResult[]): ExperimentOutcomeCounts {
  const status = (result: HarnessResult) => result.log.experiment?.status ?? 'none';
  return {
    experiments: results.length,
    promoted: results.filter((r) => status(r) === 'promoted' || status(r) === 'awaiting-approval').length,
    rolledBack: results.filter((r) => status(r) === 'rolled-back').length,
    inconclusive: results.filter((r) => status(r) === 'inconclusive').length,
    running: results.filter((r) => status(r) === 'running').length,
  };
}

/** A copy of the active policy under a new version: an A/A candidate. */
export function identicalCandidate(policy: Policy, version: string): Policy {
  return { ...policy, version };
}

/**
 * A/A experiments: the candidate is the control under another version. Any promotion is false.
 * Each experiment is its own seed (its own day).
 */
export function runAaStudy(
  tuning: TuningScenario,
  options: {
    readonly experiments: number;
    readonly seed: number;
    readonly solver: LpSolver;
    readonly treatmentShare: number;
    readonly progress?: Progress;
  },
): AaStudy {
  const results: HarnessResult[] = [];
  let decided = 0;
  for (let index = 0; index < options.experiments; index++) {
    const workload = buildTuningWorkload(tuning, replicationSeed(options.seed + 1000, index), options.solver);
    const experiment: HarnessExperiment = {
      experimentId: `aa-${index}`,
      candidate: identicalCandidate(tuning.extras.policy, `${tuning.extras.policy.version}-aa`),
      mode: 'ab',
      treatmentShare: options.treatmentShare,
      startAtSeconds: tuning.scenario.warmupHours * HOUR,
    };
    const result = runTuningSimulation({
      scenario: tuning,
      workload,
      loopEnabled: true,
      experiment,
      keepOutcomes: false,
    });
    results.push(result);
    const totals = result.log.experiment?.totals;
    if (totals !== undefined) decided += (totals.control.decided + totals.treatment.decided) / 2;
    options.progress?.('A/A experiments', index + 1, options.experiments);
  }
  const counts = countOutcomes(results);
  return {
    ...counts,
    falsePromotionRate: counts.promoted / Math.max(counts.experiments, 1),
    falsePromotionInterval: wilsonInterval(counts.promoted, counts.experiments),
    treatmentShare: options.treatmentShare,
    meanDecidedPerArm: decided / Math.max(counts.experiments, 1),
  };
}

export interface WorseCandidateStudy extends ExperimentOutcomeCounts {
  readonly candidate: string;
  readonly treatmentShare: number;
  /** Minutes from the experiment's start to the rollback, per replication (undefined = never). */
  readonly rollbackMinutes: readonly (number | undefined)[];
  /** SLA points lost over the measured day (warm-up to horizon) against the same day without the experiment. */
  readonly costPoints: readonly number[];
  /** The same, over the items that arrived while the candidate was live. */
  readonly exposureCostPoints: readonly number[];
  /** How much worse the candidate's own items did (control − treatment attainment, points). */
  readonly armGapPoints: readonly number[];
}

/** A deliberately worse candidate in a canary: it must be rolled back before it costs 1 SLA point. */
export function runWorseCandidateStudy(
  tuning: TuningScenario,
  options: {
    readonly replications: number;
    readonly seed: number;
    readonly solver: LpSolver;
    readonly candidate: Policy;
    readonly treatmentShare: number;
    readonly startAtHours: number;
    readonly progress?: Progress;
  },
): WorseCandidateStudy {
  const results: HarnessResult[] = [];
  const rollbackMinutes: (number | undefined)[] = [];
  const costPoints: number[] = [];
  const exposureCostPoints: number[] = [];
  const armGapPoints: number[] = [];
  const warmup = tuning.scenario.warmupHours * HOUR;
  const horizon = tuning.scenario.horizonHours * HOUR;
  const startAt = options.startAtHours * HOUR;
  for (let replication = 0; replication < options.replications; replication++) {
    const workload = buildTuningWorkload(
      tuning,
      replicationSeed(options.seed + 2000, replication),
      options.solver,
    );
    const experiment: HarnessExperiment = {
      experimentId: `worse-${replication}`,
      candidate: options.candidate,
      mode: 'ab',
      treatmentShare: options.treatmentShare,
      startAtSeconds: startAt,
    };
    const withCandidate = runTuningSimulation({ scenario: tuning, workload, loopEnabled: true, experiment });
    const without = runTuningSimulation({ scenario: tuning, workload, loopEnabled: true });
    results.push(withCandidate);
    const rollback = withCandidate.log.policyChanges.find((change) => change.kind === 'rolled-back');
    rollbackMinutes.push(rollback === undefined ? undefined : (rollback.decidedAtSeconds - startAt) / MINUTE);
    const exposureEnd = rollback?.decidedAtSeconds ?? horizon;
    const a = [outcomesOf(without)];
    const b = [outcomesOf(withCandidate)];
    costPoints.push((attainmentBetween(a, warmup, horizon) - attainmentBetween(b, warmup, horizon)) * 100);
    exposureCostPoints.push(
      (attainmentBetween(a, startAt, exposureEnd) - attainmentBetween(b, startAt, exposureEnd)) * 100,
    );
    const totals = withCandidate.log.experiment?.totals;
    if (totals !== undefined && totals.control.decided > 0 && totals.treatment.decided > 0) {
      armGapPoints.push(
        (totals.control.met / totals.control.decided - totals.treatment.met / totals.treatment.decided) * 100,
      );
    }
    options.progress?.('worse candidate', replication + 1, options.replications);
  }
  return {
    ...countOutcomes(results),
    candidate: `${options.candidate.version} (${options.candidate.routing.strategy})`,
    treatmentShare: options.treatmentShare,
    rollbackMinutes,
    costPoints,
    exposureCostPoints,
    armGapPoints,
  };
}

export interface ShadowCheck {
  readonly items: number;
  /** Items whose assignee, start or completion differ with the shadow candidate running: must be 0. */
  readonly differences: number;
  readonly shadowDecisions: number;
  readonly agreement: number;
  readonly firstDifference?: string;
}

/**
 * Shadow mode changes nothing: the same day is run without and with a shadow candidate, and
 * every item must get the same agent at the same time and complete at the same time.
 */
export function runShadowCheck(
  tuning: TuningScenario,
  options: { readonly seed: number; readonly solver: LpSolver; readonly candidate: Policy },
): ShadowCheck {
  const workload = buildTuningWorkload(tuning, replicationSeed(options.seed + 3000, 0), options.solver);
  const plain = runTuningSimulation({ scenario: tuning, workload, loopEnabled: true });
  const shadowed = runTuningSimulation({
    scenario: tuning,
    workload,
    loopEnabled: true,
    experiment: {
      experimentId: 'shadow-check',
      candidate: options.candidate,
      mode: 'shadow',
      treatmentShare: 0,
      startAtSeconds: tuning.scenario.warmupHours * HOUR,
    },
  });
  const before = new Map((plain.engine.outcomes ?? []).map((outcome) => [outcome.itemId, outcome]));
  let differences = 0;
  let firstDifference: string | undefined;
  const after = shadowed.engine.outcomes ?? [];
  for (const outcome of after) {
    const twin = before.get(outcome.itemId);
    const same =
      twin !== undefined &&
      twin.agentId === outcome.agentId &&
      twin.startedAt === outcome.startedAt &&
      twin.completedAt === outcome.completedAt &&
      twin.abandonedAt === outcome.abandonedAt;
    if (!same) {
      differences++;
      firstDifference ??= `${outcome.itemId}: ${JSON.stringify(twin)} vs ${JSON.stringify(outcome)}`;
    }
  }
  if (after.length !== before.size) differences += Math.abs(after.length - before.size);
  const { decisions, agreed } = shadowed.log.shadow;
  return {
    items: after.length,
    differences,
    shadowDecisions: decisions,
    agreement: decisions === 0 ? Number.NaN : agreed / decisions,
    ...(firstDifference === undefined ? {} : { firstDifference }),
  };
}
