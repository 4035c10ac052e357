import { join } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../../lib/definitions/state-machines';
import { type Command, parseOptions, UsageError } from '../cli/command';
import { percent, table } from '../cli/format';
import { highsSolver } from '../lp';
import {
  type AaStudy,
  runAaStudy,
  runShadowCheck,
  runShiftStudy,
  runStationaryStudy,
  runWorseCandidateStudy,
  type ShadowCheck,
  type ShiftStudy,
  type StationaryStudy,
  type WorseCandidateStudy,
} from './bench';
import { loadTuningScenario } from './scenario';

const HELP = `
Usage: npm run bench:tuning -- [--reps N] [--aa N] [--worse-reps N] [--stationary N] [--seed S] [--json]

Measures the tuning loop in the simulator against the targets of issue 6:
  shift scenarios (scenarios/tuning-handling-doubles.yaml, tuning-arrival-surge.yaml,
  tuning-agents-lost.yaml): time to detect < 15 simulated minutes, time to correct < 60
  (SLA attainment back within 2 points of its pre-shift level), loop on vs off on the same seeds;
  A/A experiments on scenarios/tuning-base.yaml: false promotion < 5%;
  a deliberately worse candidate (round robin) in a 20% canary: rolled back before it costs
  1 point of SLA attainment over the day;
  shadow mode: no live decision changes (asserted; exit code 1 otherwise);
  false alarms: drift events on stationary days of tuning-base (no shift), per 24 simulated hours.

Options:
  --reps N        replications per shift scenario, loop on and off (default 20)
  --aa N          A/A experiments (default 100)
  --worse-reps N  replications of the worse candidate (default 20)
  --stationary N  stationary days for the false-alarm count (default 40; 0 skips it)
  --seed S        base seed (default 1)
  --json          print one JSON document instead of the tables
  -h, --help      this help
`;

const Options = z.object({
  reps: z.coerce.number().int().min(1).max(500).default(20),
  aa: z.coerce.number().int().min(1).max(2000).default(100),
  'worse-reps': z.coerce.number().int().min(1).max(500).default(20),
  stationary: z.coerce.number().int().min(0).max(1000).default(40),
  seed: z.coerce.number().int().min(0).default(1),
  json: z.boolean().default(false),
});

const SHIFT_SCENARIOS = ['tuning-handling-doubles', 'tuning-arrival-surge', 'tuning-agents-lost'] as const;
const BASE_SCENARIO = 'tuning-base';

const scenarioPath = (name: string) => join(PROJECT_ROOT, 'scenarios', `${name}.yaml`);
const minutes = (value: number | undefined) => (value === undefined ? 'never' : `${value.toFixed(0)} min`);
const points = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : String(value));
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length === 0
    ? Number.NaN
    : sorted.length % 2 === 1
      ? (sorted[middle] ?? Number.NaN)
      : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};
const defined = (values: readonly (number | undefined)[]) =>
  values.filter((value): value is number => value !== undefined);

export interface TuningBenchReport {
  readonly shifts: readonly ShiftStudy[];
  readonly aa: AaStudy;
  readonly worse: WorseCandidateStudy;
  /** A mildly worse candidate, reported beside the target: what the harm test does when the gap is small. */
  readonly mildlyWorse: WorseCandidateStudy;
  readonly shadow: ShadowCheck;
  /** False alarms on stationary days (undefined when skipped). */
  readonly stationary?: StationaryStudy;
  readonly targets: readonly { readonly target: string; readonly measured: string; readonly met: boolean }[];
}

/** Judges the studies against the issue's targets. */
export function judgeTargets(
  report: Omit<TuningBenchReport, 'targets'>,
): { target: string; measured: string; met: boolean }[] {
  const targets: { target: string; measured: string; met: boolean }[] = [];
  for (const study of report.shifts) {
    const detections = defined(study.detectMinutes);
    const missed = study.detectMinutes.length - detections.length;
    const worst = detections.length === 0 ? Number.POSITIVE_INFINITY : Math.max(...detections);
    const meanDetect = detections.reduce((sum, value) => sum + value, 0) / Math.max(detections.length, 1);
    const within = detections.filter((value) => value < 15).length;
    targets.push({
      target: `${study.scenario}: time to detect < 15 min (mean over replications)`,
      measured: `mean ${meanDetect.toFixed(1)}, median ${median(detections).toFixed(1)}, max ${Number.isFinite(worst) ? worst.toFixed(1) : 'n/a'} min; missed ${missed}`,
      met: missed === 0 && meanDetect < 15,
    });
    targets.push({
      target: `${study.scenario}: time to detect < 15 min (every replication)`,
      measured: `< 15 min in ${within}/${study.replications}`,
      met: within === study.replications,
    });
    targets.push({
      target: `${study.scenario}: time to correct < 60 min`,
      measured: `loop on ${minutes(study.on.timeToCorrect === undefined ? undefined : study.on.timeToCorrect / 60)}, loop off ${minutes(study.off.timeToCorrect === undefined ? undefined : study.off.timeToCorrect / 60)}`,
      met: study.on.timeToCorrect !== undefined && study.on.timeToCorrect < 3600,
    });
  }
  targets.push({
    target: 'A/A experiments: false promotion < 5%',
    measured: `${report.aa.promoted}/${report.aa.experiments} = ${percent(report.aa.falsePromotionRate)} (95% CI ${percent(report.aa.falsePromotionInterval.low)}–${percent(report.aa.falsePromotionInterval.high)})`,
    met: report.aa.falsePromotionRate < 0.05,
  });
  const maxCost = Math.max(...report.worse.costPoints);
  const meanCost =
    report.worse.costPoints.reduce((a, b) => a + b, 0) / Math.max(report.worse.costPoints.length, 1);
  targets.push({
    target: 'worse candidate rolled back (every replication)',
    measured: `${report.worse.rolledBack}/${report.worse.experiments} rolled back, ${report.worse.inconclusive} ran to the time limit`,
    met: report.worse.rolledBack === report.worse.experiments,
  });
  targets.push({
    target: "worse candidate costs < 1 point of the day's SLA attainment (every replication)",
    measured: `mean ${points(meanCost)}, max ${points(maxCost)} points`,
    met: maxCost < 1,
  });
  targets.push({
    target: 'shadow mode changes no live decision (asserted)',
    measured: `${report.shadow.differences} of ${report.shadow.items} items differ; ${report.shadow.shadowDecisions} shadow decisions recorded`,
    met: report.shadow.differences === 0 && report.shadow.shadowDecisions > 0,
  });
  return targets;
}

const DRIFT_KINDS = ['arrival-rate', 'category-mix', 'residual', 'confidence', 'capacity'] as const;

function describeStationary(study: StationaryStudy | undefined): string[] {
  if (study === undefined) return [];
  const hours = study.days * study.measuredHours;
  return [
    `False alarms on stationary days: ${study.days} days of ${study.scenario} with no shift, ${study.measuredHours} h each (${hours} h)`,
    table(
      ['drift kind', 'alarms', 'per 24 simulated hours'],
      DRIFT_KINDS.map((kind) => [
        kind,
        String(study.alarms[kind] ?? 0),
        (((study.alarms[kind] ?? 0) / Math.max(hours, 1e-9)) * 24).toFixed(3),
      ]),
    ),
    `  people called in: ${study.standbyCalls.toFixed(2)} per day`,
    '',
  ];
}

function render(report: TuningBenchReport): string {
  const shiftRows = report.shifts.map((study) => {
    const detections = defined(study.detectMinutes);
    return [
      study.scenario.replace('tuning-', ''),
      study.expects,
      `${median(detections).toFixed(1)} / ${detections.length === 0 ? 'n/a' : Math.max(...detections).toFixed(1)}`,
      `${study.detectMinutes.length - detections.length}`,
      percent(study.preShiftAttainment),
      `${percent(study.on.postShiftAttainment)} / ${percent(study.off.postShiftAttainment)}`,
      `${percent(study.on.lowest)} / ${percent(study.off.lowest)}`,
      `${minutes(study.on.timeToCorrect === undefined ? undefined : study.on.timeToCorrect / 60)} / ${minutes(study.off.timeToCorrect === undefined ? undefined : study.off.timeToCorrect / 60)}`,
      `${study.standbyCalls.toFixed(1)} (${study.approvalCalls.toFixed(1)})`,
      `${study.falseAlarms}${
        study.falseAlarms === 0
          ? ''
          : ` (${Object.entries(study.falseAlarmKinds)
              .map(([kind, count]) => `${kind} ${count}`)
              .join(', ')})`
      }`,
    ];
  });
  const offsets = [-15, 15, 30, 45, 60, 90, 120, 180];
  const curveRows = report.shifts.flatMap((study) => {
    const at = (curve: readonly { at: number; attainment: number }[], minutes: number) =>
      percent(
        curve.find((point) => Math.abs(point.at - (study.shiftAt + minutes * 60)) < 1)?.attainment ??
          Number.NaN,
      );
    return [
      [
        `${study.scenario.replace('tuning-', '')} (on)`,
        ...offsets.map((minutes) => at(study.on.curve, minutes)),
      ],
      [
        `${study.scenario.replace('tuning-', '')} (off)`,
        ...offsets.map((minutes) => at(study.off.curve, minutes)),
      ],
    ];
  });
  const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
  const describeWorse = (title: string, worse: WorseCandidateStudy) => {
    const rollbacks = defined(worse.rollbackMinutes);
    return [
      `${title}: ${worse.candidate}, treatment share ${percent(worse.treatmentShare, 0)}, ${worse.experiments} replications`,
      `  rolled back ${worse.rolledBack}/${worse.experiments}${rollbacks.length === 0 ? '' : ` after median ${median(rollbacks).toFixed(0)} min (max ${Math.max(...rollbacks).toFixed(0)})`}; inconclusive ${worse.inconclusive}, promoted ${worse.promoted}`,
      `  its own items: ${points(mean(worse.armGapPoints))} points below control`,
      `  cost over the day: mean ${points(mean(worse.costPoints))}, max ${points(Math.max(...worse.costPoints))} points; over its live period: mean ${points(mean(worse.exposureCostPoints))} points`,
    ];
  };
  return [
    `Shift scenarios (${report.shifts[0]?.replications ?? 0} replications each; loop on / off on the same seeds)`,
    table(
      [
        'scenario',
        'detector',
        'detect min med/max',
        'missed',
        'SLA pre',
        'SLA post on/off',
        'lowest 15-min on/off',
        'time to correct on/off',
        'calls (approval)',
        'alarms pre-shift',
      ],
      shiftRows,
    ),
    '',
    'SLA attainment of the arrivals of the 15 minutes before each point, pooled over replications (minutes from the shift)',
    table(['scenario', ...offsets.map((minutes) => `${minutes > 0 ? '+' : ''}${minutes}`)], curveRows),
    '',
    `A/A experiments: ${report.aa.experiments} (treatment share ${percent(report.aa.treatmentShare, 0)}, mean ${report.aa.meanDecidedPerArm.toFixed(0)} outcomes per arm)`,
    `  promoted ${report.aa.promoted}, rolled back ${report.aa.rolledBack}, inconclusive ${report.aa.inconclusive}, still running ${report.aa.running}`,
    '',
    ...describeWorse('Worse candidate', report.worse),
    ...describeWorse('Mildly worse candidate', report.mildlyWorse),
    '',
    `Shadow mode: ${report.shadow.items} items, ${report.shadow.differences} differ; ${report.shadow.shadowDecisions} shadow decisions, candidate agreed on ${percent(report.shadow.agreement)}`,
    '',
    ...describeStationary(report.stationary),
    'Targets',
    table(
      ['target', 'measured', ''],
      report.targets.map((entry) => [entry.target, entry.measured, entry.met ? 'met' : 'MISSED']),
    ),
  ].join('\n');
}

export const tuningCommand: Command = {
  name: 'tuning',
  summary: 'measure the tuning loop: drift detection and correction, experiments, shadow mode',
  help: HELP,
  async run(argv) {
    const { values } = parseOptions(
      argv,
      {
        reps: { type: 'string' },
        aa: { type: 'string' },
        'worse-reps': { type: 'string' },
        stationary: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean' },
      },
      'tuning',
    );
    const parsed = Options.safeParse(values);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UsageError(`--${issue?.path.join('.') ?? '?'} ${issue?.message ?? 'is invalid'}`);
    }
    const options = parsed.data;
    const solver = await highsSolver();
    const progress = (label: string, done: number, total: number) => {
      if (!options.json) process.stderr.write(`\r${label}: ${done}/${total}   ${done === total ? '\n' : ''}`);
    };
    const started = performance.now();
    const shifts = SHIFT_SCENARIOS.map((name) =>
      runShiftStudy(loadTuningScenario(scenarioPath(name)), {
        replications: options.reps,
        seed: options.seed,
        solver,
        progress,
      }),
    );
    const base = loadTuningScenario(scenarioPath(BASE_SCENARIO));
    const aa = runAaStudy(base, {
      experiments: options.aa,
      seed: options.seed,
      solver,
      treatmentShare: 0.5,
      progress,
    });
    // Deliberately worse: Flowtune's cost with the handling-time exponent negated, so the slowest
    // agent and the longest item win — a sign error in a weight, the kind of mistake a canary is for.
    const worseCandidate = {
      ...base.extras.policy,
      version: `${base.extras.policy.version}-slow-first`,
      routing: { strategy: 'flowtune', weights: { handling: -1.25 } },
    };
    const mildlyWorseCandidate = {
      ...base.extras.policy,
      version: `${base.extras.policy.version}-round-robin`,
      routing: { strategy: 'round-robin', weights: {} },
    };
    const canary = {
      replications: options['worse-reps'],
      seed: options.seed,
      solver,
      treatmentShare: base.extras.tuning.experiment.treatmentShare,
      startAtHours: 2,
      progress,
    };
    const worse = runWorseCandidateStudy(base, { ...canary, candidate: worseCandidate });
    const mildlyWorse = runWorseCandidateStudy(base, { ...canary, candidate: mildlyWorseCandidate });
    const shadow = runShadowCheck(base, { seed: options.seed, solver, candidate: mildlyWorseCandidate });
    const stationary =
      options.stationary > 0
        ? runStationaryStudy(base, { days: options.stationary, seed: options.seed, solver, progress })
        : undefined;
    const partial = {
      shifts,
      aa,
      worse,
      mildlyWorse,
      shadow,
      ...(stationary === undefined ? {} : { stationary }),
    };
    const report: TuningBenchReport = { ...partial, targets: judgeTargets(partial) };
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify(report, (_, value) => (value === undefined ? null : value), 2)}\n`,
      );
    } else {
      process.stdout.write(`${render(report)}\n\n(${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
    }
    // Shadow mode is an assertion, not a figure: a difference is a defect.
    return shadow.differences === 0 ? 0 : 1;
  },
};
