import { z } from 'zod';
import type { DriftAction, DriftDetected, DriftKind } from '../events/tuning';
import type { AgentState, HandlingFeatures } from '../model';
import type { Policy } from '../policy';
import { buildHandlingModel } from '../scoring';
import {
  type CapacityCheck,
  type CategoryDemand,
  capacityShortfall,
  groupKey,
  planStandby,
} from './capacity';
import type { TuningConfig } from './config';
import {
  confidenceDrift,
  histogramMean,
  populationStabilityIndex,
  RATE_CUSUM_START,
  type RateCusumState,
  RESIDUAL_CUSUM_START,
  type ResidualCusumState,
  rateCusumSignal,
  residualCusumSignal,
  residualReference,
  updateRateCusum,
  updateResidualCusum,
} from './drift';
import {
  accumulateOutcomes,
  type Experiment,
  type ExperimentDecision,
  type ExperimentEvidence,
  evaluateExperiment,
} from './experiments';
import { addMoments, DecayedMoments, type Moments } from './math';
import {
  CONFIDENCE_BINS,
  type InProgressSnapshot,
  type ObservationBucket,
  totalArrivals,
} from './observations';
import type { Reestimation } from './reestimation';
import { adaptThresholds, type ThresholdChange } from './thresholds';
import { changeImpact, nextPolicyVersion, type PolicyChangeKind } from './versions';

/**
 * One cycle of the tuning loop: `runTuningCycle(state, input) → { state, effects }`, pure. The
 * scheduled workflow on AWS and the simulator on its own clock both call it with the buckets
 * observed since the last cycle; it returns the new detector state and what to do: drift events,
 * model re-estimations, standby calls, at most one policy change (rollback before promotion
 * before threshold adaptation) and whether a person must approve it.
 */

const SkillRequirement = z.object({ skill: z.string(), minProficiency: z.number() });

const RecentEntry = z.object({
  start: z.number(),
  seconds: z.number(),
  arrivals: z.record(z.string(), z.number()),
  confidence: z.array(z.number()),
  completed: z.number(),
  reopened: z.number(),
  residualCount: z.number(),
  largeErrors: z.number(),
  decided: z.number(),
  met: z.number(),
});
type RecentEntry = z.infer<typeof RecentEntry>;

const Cusum = z.object({
  up: z.number(),
  down: z.number(),
  upSince: z.number().optional(),
  downSince: z.number().optional(),
});

export const TuningState = z.object({
  schemaVersion: z.literal(1),
  /** End (epoch ms) of the last bucket processed; later buckets are new. */
  processedUntil: z.number(),
  /** Counter behind the loop's policy version ids. */
  sequence: z.number().int().min(0),
  /** Decayed arrivals of buckets older than the test window: the rate and mix baselines. */
  baseline: z.object({
    at: z.number(),
    seconds: z.number(),
    arrivals: z.record(z.string(), z.number()),
    mix: z.record(z.string(), z.number()),
    confidence: z.array(z.number()),
  }),
  /** Per test: entries starting before this are already inside its baseline (after a rebase). */
  rebasedUntil: z.object({ rate: z.number(), mix: z.number(), confidence: z.number() }),
  /** The test window: the most recent buckets, trimmed to what the tests read. */
  recent: z.array(RecentEntry),
  rateCusum: Cusum,
  residuals: z.record(
    z.string(),
    Cusum.extend({
      reference: DecayedMoments,
      seen: z.number().min(0).optional(),
      referenceAt: z.number().optional(),
      pending: z.array(DecayedMoments.extend({ at: z.number() })).optional(),
      censoredUp: z.number().optional(),
      censoredDown: z.number().optional(),
    }),
  ),
  /** Exponentially weighted arrival rate per category, per second. */
  rates: z.record(z.string(), z.number()),
  ratesAt: z.number(),
  categorySkills: z.record(z.string(), z.array(SkillRequirement)),
  /** Categories whose model restarted at a change point, most recent per category. */
  reestimations: z.array(z.object({ category: z.string(), since: z.number(), at: z.number() })),
  /** Standby calls the loop made or proposed (the hourly guardrail counts the automatic ones). */
  activations: z.array(
    z.object({ agentId: z.string(), at: z.number(), decision: z.enum(['auto', 'approval']) }),
  ),
  lastCapacityAlarmAt: z.number().optional(),
  /** First bucket the rate estimates saw (epoch ms): the capacity check waits for its warm-up. */
  ratesSince: z.number().optional(),
  /** Occupancy of each group of categories in normal operation (slow average), by `groupKey`. */
  occupancyBaseline: z.record(z.string(), z.number()).default({}),
  occupancyBaselineAt: z.number().optional(),
  occupancyBaselineSamples: z.number().int().min(0).default(0),
  lastThresholdChangeAt: z.number().optional(),
});
export type TuningState = z.infer<typeof TuningState>;

/** The state before the first cycle, starting at `now`. */
export function initialTuningState(now: number): TuningState {
  return {
    schemaVersion: 1,
    processedUntil: 0,
    sequence: 0,
    baseline: {
      at: now,
      seconds: 0,
      arrivals: {},
      mix: {},
      confidence: new Array<number>(CONFIDENCE_BINS).fill(0),
    },
    rebasedUntil: { rate: 0, mix: 0, confidence: 0 },
    recent: [],
    rateCusum: RATE_CUSUM_START,
    residuals: {},
    rates: {},
    ratesAt: now,
    categorySkills: {},
    reestimations: [],
    activations: [],
    occupancyBaseline: {},
    occupancyBaselineSamples: 0,
  };
}

export interface TuningCycleInput {
  readonly now: number;
  readonly config: TuningConfig;
  readonly policy: Policy;
  readonly modelVersion: string;
  /** Buckets observed since the last cycle (older ones and unfinished ones are ignored). */
  readonly buckets: readonly ObservationBucket[];
  /** The handling statistics the scorer uses now (re-estimations applied). */
  readonly features: HandlingFeatures;
  /** Everyone on the roster with their status; offline agents count for nothing. */
  readonly roster: readonly AgentState[];
  /** People on call who are not on duty; the loop may call them within the guardrails. */
  readonly standby: readonly AgentState[];
  /** Required skills per category, when known from the configuration (observed ones are kept too). */
  readonly categorySkills?: Readonly<Record<string, readonly { skill: string; minProficiency: number }[]>>;
  readonly experiment?: Experiment;
  /**
   * The items being handled at the end of the last bucket read (`asOf`), when the caller knows
   * them: the residual test then sees handling times grow in work that has not finished yet.
   * Ignored unless `asOf` is the end of the last bucket processed.
   */
  readonly inProgress?: InProgressSnapshot;
}

export interface WindowKpis {
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly arrivalsPerHour: number;
  readonly completions: number;
  readonly slaAttainment: number;
  readonly largeErrorRate: number;
  readonly reopenRate: number;
  readonly meanConfidence: number;
  readonly occupancy: number;
}

/** A new active policy version, or the end of a candidate's trial. */
export interface PolicyChangeProposal {
  readonly kind: PolicyChangeKind;
  /** The policy that becomes active (for a rollback: the control, unchanged). */
  readonly policy: Policy;
  readonly previousVersion: string;
  readonly changes: readonly string[];
  readonly reason: string;
  /** True when a person must approve before it applies (never for rollbacks). */
  readonly needsApproval: boolean;
  readonly approvalReasons: readonly string[];
  readonly experimentId?: string;
  readonly evidence: Readonly<Record<string, number | string>>;
  readonly thresholdChanges?: readonly ThresholdChange[];
}

export interface StandbyCall {
  readonly agentId: string;
  readonly decision: 'auto' | 'approval';
}

export interface TuningCycleResult {
  readonly state: TuningState;
  readonly experiment?: Experiment;
  readonly kpis: WindowKpis;
  readonly drift: readonly DriftDetected[];
  readonly reestimations: readonly Reestimation[];
  readonly standby: readonly StandbyCall[];
  readonly experimentDecision?: ExperimentDecision & { readonly experimentId: string };
  readonly policyChange?: PolicyChangeProposal;
  readonly capacity: CapacityCheck;
  /**
   * Each drift test that ran this cycle: its largest statistic ÷ the threshold it must exceed
   * (above 1 is drift), over its categories and buckets — what the dashboard's Drift widget plots.
   */
  readonly driftRatios: Readonly<Partial<Record<DriftKind, number>>>;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** A capacity alarm repeats at most this often while the shortfall lasts. */
const CAPACITY_ALARM_INTERVAL = 30 * MINUTE;
/** Window arrivals a PSI test waits for (expected counts ≥ 5 per bin for the chi-square calibration). */
const MIN_WINDOW_ARRIVALS = 50;

const iso = (at: number) => new Date(at).toISOString();
const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;

function decay(value: number, elapsedMs: number, halfLifeMinutes: number): number {
  return value * 2 ** (-elapsedMs / (halfLifeMinutes * MINUTE));
}

function sumRecord(entries: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of entries)
    for (const [key, value] of Object.entries(entry)) out[key] = (out[key] ?? 0) + value;
  return out;
}

function total(record: Readonly<Record<string, number>>): number {
  let sum = 0;
  for (const value of Object.values(record)) sum += value;
  return sum;
}

function toRecent(bucket: ObservationBucket): RecentEntry {
  let residualCount = 0;
  for (const moments of Object.values(bucket.residuals)) residualCount += moments.count;
  let decided = 0;
  let met = 0;
  for (const outcome of Object.values(bucket.outcomes)) {
    decided += outcome.decided;
    met += outcome.met;
  }
  return {
    start: bucket.start,
    seconds: bucket.seconds,
    arrivals: { ...bucket.arrivals },
    confidence: [...bucket.confidence],
    completed: bucket.quality.completed,
    reopened: bucket.quality.reopened,
    residualCount,
    largeErrors: bucket.largeErrors,
    decided,
    met,
  };
}

/** Folds entries that left the test window into the decayed baselines (skipping rebased ones). */
function foldIntoBaseline(
  state: TuningState,
  leaving: readonly RecentEntry[],
  config: TuningConfig,
): TuningState {
  let baseline = state.baseline;
  const halfLife = config.drift.baselineHalfLifeMinutes;
  for (const entry of leaving) {
    const end = entry.start + entry.seconds * 1000;
    const elapsed = Math.max(0, end - baseline.at);
    const arrivals: Record<string, number> = {};
    const mix: Record<string, number> = {};
    for (const [key, value] of Object.entries(baseline.arrivals))
      arrivals[key] = decay(value, elapsed, halfLife);
    for (const [key, value] of Object.entries(baseline.mix)) mix[key] = decay(value, elapsed, halfLife);
    let seconds = decay(baseline.seconds, elapsed, halfLife);
    let confidence = baseline.confidence.map((value) => decay(value, elapsed, halfLife));
    if (entry.start >= state.rebasedUntil.rate) {
      for (const [key, value] of Object.entries(entry.arrivals)) arrivals[key] = (arrivals[key] ?? 0) + value;
      seconds += entry.seconds;
    }
    if (entry.start >= state.rebasedUntil.mix) {
      for (const [key, value] of Object.entries(entry.arrivals)) mix[key] = (mix[key] ?? 0) + value;
    }
    if (entry.start >= state.rebasedUntil.confidence) {
      confidence = confidence.map((value, bin) => value + (entry.confidence[bin] ?? 0));
    }
    baseline = { at: Math.max(baseline.at, end), seconds, arrivals, mix, confidence };
  }
  return { ...state, baseline };
}

interface DriftContext {
  readonly input: TuningCycleInput;
  readonly windowStart: number;
  readonly windowEnd: number;
}

function driftEvent(
  context: DriftContext,
  fields: Pick<DriftDetected, 'kind' | 'direction' | 'statistic' | 'threshold' | 'summary' | 'evidence'> & {
    readonly category?: string;
    readonly since?: number;
    readonly actions: readonly DriftAction[];
  },
): DriftDetected {
  const { input } = context;
  const scope = fields.category === undefined ? 'all' : fields.category;
  return {
    schemaVersion: '1',
    driftId: `${fields.kind}:${scope}:${iso(input.now)}`,
    kind: fields.kind,
    ...(fields.category === undefined ? {} : { category: fields.category }),
    direction: fields.direction,
    statistic: round(fields.statistic),
    threshold: round(fields.threshold),
    ...(fields.since === undefined ? {} : { changeStartedAt: iso(fields.since) }),
    windowStart: iso(context.windowStart),
    windowEnd: iso(context.windowEnd),
    summary: fields.summary,
    evidence: fields.evidence,
    actions: [...fields.actions],
    policyVersion: input.policy.version,
    modelVersion: input.modelVersion,
    detectedAt: iso(input.now),
  };
}

/**
 * Runs one tuning cycle over the buckets observed since the last one.
 *
 * @example
 * const result = runTuningCycle(state, { now, config, policy, modelVersion, buckets, features, roster, standby: [] });
 * for (const event of result.drift) await events.publish('DriftDetected', event);
 */
export function runTuningCycle(state: TuningState, input: TuningCycleInput): TuningCycleResult {
  const { config, now } = input;
  const drift: DriftDetected[] = [];
  const driftRatios: Partial<Record<DriftKind, number>> = {};
  const tested = (kind: DriftKind, statistic: number, threshold: number) => {
    const ratio = statistic / threshold;
    if (Number.isFinite(ratio)) driftRatios[kind] = Math.max(driftRatios[kind] ?? 0, round(ratio));
  };
  const reestimations: Reestimation[] = [];
  const fresh = [...input.buckets]
    .filter((bucket) => bucket.start >= state.processedUntil && bucket.start + bucket.seconds * 1000 <= now)
    .sort((left, right) => left.start - right.start);
  const windowMs = config.drift.testWindowMinutes * MINUTE;
  let next: TuningState = {
    ...state,
    categorySkills: {
      ...state.categorySkills,
      ...Object.fromEntries(
        Object.entries(input.categorySkills ?? {}).map(([category, skills]) => [
          category,
          skills.map((s) => ({ ...s })),
        ]),
      ),
    },
  };
  const context = (): DriftContext => ({
    input,
    windowStart: next.recent[0]?.start ?? now - windowMs,
    windowEnd: next.processedUntil,
  });

  const cycleResiduals: Record<string, Moments> = {};
  const residualsFrom: Record<string, number> = {};
  for (const bucket of fresh) {
    const end = bucket.start + bucket.seconds * 1000;
    const arrivalsNow = totalArrivals(bucket);
    if (Object.keys(bucket.skills).length > 0) {
      next = { ...next, categorySkills: { ...next.categorySkills, ...bucket.skills } };
    }

    // Arrival rate: Poisson CUSUM of this bucket against the baseline rate.
    const baselineArrivals = total(next.baseline.arrivals);
    if (baselineArrivals >= config.drift.minBaselineArrivals && next.baseline.seconds > 0) {
      const expected = (baselineArrivals / next.baseline.seconds) * bucket.seconds;
      const cusum: RateCusumState = updateRateCusum(
        next.rateCusum,
        arrivalsNow,
        expected,
        {
          upRatio: config.drift.arrivalUpRatio,
          downRatio: config.drift.arrivalDownRatio,
          threshold: config.drift.arrivalThreshold,
        },
        bucket.start,
      );
      next = { ...next, rateCusum: cusum };
      tested('arrival-rate', Math.max(cusum.up, cusum.down), config.drift.arrivalThreshold);
      const signal = rateCusumSignal(cusum, config.drift.arrivalThreshold, end);
      if (signal !== undefined) {
        const since = signal.since;
        const afterChange = [...next.recent.filter((entry) => entry.start >= since), toRecent(bucket)];
        const changedArrivals = afterChange.reduce((sum, entry) => sum + total(entry.arrivals), 0);
        const changedSeconds = afterChange.reduce((sum, entry) => sum + entry.seconds, 0);
        const baselinePerHour = (baselineArrivals / next.baseline.seconds) * 3600;
        const recentPerHour = changedSeconds > 0 ? (changedArrivals / changedSeconds) * 3600 : Number.NaN;
        // The capacity check should plan with the new level at once, not wait for its average.
        const changedRates = Object.fromEntries(
          Object.entries(sumRecord(afterChange.map((entry) => entry.arrivals))).map(([category, count]) => [
            category,
            changedSeconds > 0 ? count / changedSeconds : 0,
          ]),
        );
        next = {
          ...next,
          rates: { ...next.rates, ...changedRates },
          ratesAt: end,
          processedUntil: end,
          rateCusum: RATE_CUSUM_START,
          // The level since the change point becomes the new normal.
          baseline: {
            ...next.baseline,
            at: end,
            arrivals: sumRecord(afterChange.map((entry) => entry.arrivals)),
            seconds: changedSeconds,
          },
          rebasedUntil: { ...next.rebasedUntil, rate: end },
        };
        drift.push(
          driftEvent(context(), {
            kind: 'arrival-rate',
            direction: signal.direction,
            statistic: signal.direction === 'up' ? cusum.up : cusum.down,
            threshold: config.drift.arrivalThreshold,
            since,
            summary: `arrivals ${signal.direction === 'up' ? 'rose' : 'fell'} from ${baselinePerHour.toFixed(0)}/h to about ${recentPerHour.toFixed(0)}/h since ${iso(since)}`,
            evidence: {
              baselinePerHour: round(baselinePerHour, 1),
              recentPerHour: round(recentPerHour, 1),
              ratio: round(recentPerHour / baselinePerHour, 3),
            },
            actions: ['rebaseline', 'call-standby'],
          }),
        );
      }
    }

    // Prediction residuals: gathered over the cycle, tested once per cycle below.
    for (const [category, batch] of Object.entries(bucket.residuals)) {
      cycleResiduals[category] = addMoments(cycleResiduals[category], batch);
      residualsFrom[category] ??= bucket.start;
    }

    // Arrival rate per category, exponentially weighted, for the capacity check.
    const elapsedSeconds = Math.max(bucket.seconds, (end - next.ratesAt) / 1000);
    const weight = 1 - 2 ** (-elapsedSeconds / (config.capacity.rateHalfLifeMinutes * 60));
    const rates: Record<string, number> = {};
    const categories = new Set([...Object.keys(next.rates), ...Object.keys(bucket.arrivals)]);
    for (const category of categories) {
      const observed = (bucket.arrivals[category] ?? 0) / bucket.seconds;
      const previous = next.rates[category];
      rates[category] = previous === undefined ? observed : previous + weight * (observed - previous);
    }
    if (next.ratesSince === undefined) next = { ...next, ratesSince: bucket.start };

    // Slide the test window.
    const recent = [...next.recent, toRecent(bucket)];
    const leaving = recent.filter((entry) => entry.start + entry.seconds * 1000 <= end - windowMs);
    next = foldIntoBaseline(
      {
        ...next,
        rates,
        ratesAt: end,
        processedUntil: end,
        recent: recent.filter((e) => !leaving.includes(e)),
      },
      leaving,
      config,
    );
  }

  // Prediction residuals: one CUSUM per category, once per cycle, on the cycle's completions and,
  // when the caller sent them, the items still running at the end of the last bucket.
  const snapshot =
    input.inProgress !== undefined && input.inProgress.asOf === next.processedUntil
      ? input.inProgress
      : undefined;
  const running: Record<string, number[]> = {};
  if (snapshot !== undefined) {
    for (const item of snapshot.items) {
      const ageSeconds = (snapshot.asOf - item.startedAt) / 1000;
      if (!(ageSeconds > 0) || !(item.predictedSeconds > 0)) continue;
      running[item.category] = [
        ...(running[item.category] ?? []),
        Math.log(ageSeconds / item.predictedSeconds),
      ];
    }
  }
  const residualSettings = {
    shiftSds: config.drift.residualShiftSds,
    threshold: config.drift.residualThreshold,
    warmup: config.drift.residualWarmup,
    // The reference keeps learning like the arrival baseline: lagged by the test window, forgetting
    // with the baseline's half-life, so the model's slow improvement over a day is not drift.
    referenceLagMs: config.drift.testWindowMinutes * MINUTE,
    referenceHalfLifeMs: config.drift.baselineHalfLifeMinutes * MINUTE,
  };
  const residualCategories = new Set([
    ...Object.keys(cycleResiduals),
    ...(snapshot === undefined ? [] : [...Object.keys(running), ...Object.keys(next.residuals)]),
  ]);
  const residuals = { ...next.residuals };
  for (const category of [...residualCategories].sort()) {
    const current: ResidualCusumState = residuals[category] ?? RESIDUAL_CUSUM_START;
    const batch = cycleResiduals[category] ?? { count: 0, sum: 0, sumSq: 0 };
    const updated = updateResidualCusum(
      current,
      batch,
      residualSettings,
      residualsFrom[category] ?? next.processedUntil,
      snapshot === undefined ? undefined : (running[category] ?? []),
    );
    tested('residual', Math.max(updated.up, updated.down), residualSettings.threshold);
    const signal = residualCusumSignal(updated, residualSettings.threshold, next.processedUntil);
    if (signal === undefined) {
      residuals[category] = updated;
      continue;
    }
    const reference = residualReference(updated);
    residuals[category] = RESIDUAL_CUSUM_START;
    reestimations.push({ category, since: signal.since, at: now });
    drift.push(
      driftEvent(context(), {
        kind: 'residual',
        category,
        direction: signal.direction,
        statistic: signal.direction === 'up' ? updated.up : updated.down,
        threshold: residualSettings.threshold,
        since: signal.since,
        summary: `handling times of "${category}" are ${signal.direction === 'up' ? 'longer' : 'shorter'} than the model predicts since ${iso(signal.since)}: its model restarts from the observations since then`,
        evidence: {
          referenceMeanLogRatio: round(reference.mean),
          referenceSd: round(reference.sd),
          latestMeanLogRatio: round(batch.count > 0 ? batch.sum / batch.count : Number.NaN),
          latestCompletions: batch.count,
          running: running[category]?.length ?? 0,
          runningEvidence: round(
            (signal.direction === 'up' ? updated.censoredUp : updated.censoredDown) ?? 0,
            2,
          ),
        },
        actions: ['re-estimate-model'],
      }),
    );
  }
  next = { ...next, residuals };

  // Category mix: PSI of the window against the baseline.
  const mixWindow = sumRecord(
    next.recent.filter((e) => e.start >= next.rebasedUntil.mix).map((e) => e.arrivals),
  );
  if (
    total(next.baseline.mix) >= config.drift.minBaselineArrivals &&
    total(mixWindow) >= MIN_WINDOW_ARRIVALS
  ) {
    const psi = populationStabilityIndex(next.baseline.mix, mixWindow, {
      alpha: config.drift.psiAlpha,
      floor: config.drift.psiFloor,
    });
    tested('category-mix', psi.psi, psi.threshold);
    if (psi.drift) {
      const top = psi.contributions[0];
      drift.push(
        driftEvent(context(), {
          kind: 'category-mix',
          direction: 'shift',
          statistic: psi.psi,
          threshold: psi.threshold,
          summary: `the category mix shifted (PSI ${psi.psi.toFixed(3)} > ${psi.threshold.toFixed(3)})${top === undefined ? '' : `; largest change: "${top.key}" ${(top.expectedShare * 100).toFixed(1)}% → ${(top.actualShare * 100).toFixed(1)}%`}`,
          evidence: Object.fromEntries(
            psi.contributions.slice(0, 5).flatMap((entry) => [
              [`share.${entry.key}.baseline`, round(entry.expectedShare)],
              [`share.${entry.key}.window`, round(entry.actualShare)],
            ]),
          ),
          actions: ['rebaseline', 'call-standby'],
        }),
      );
      next = {
        ...next,
        baseline: { ...next.baseline, mix: mixWindow },
        rebasedUntil: { ...next.rebasedUntil, mix: next.processedUntil },
      };
    }
  }

  // Confidence of decisions: a marked fall against the baseline.
  const confidenceWindow = next.recent
    .filter((entry) => entry.start >= next.rebasedUntil.confidence)
    .reduce(
      (histogram, entry) => histogram.map((count, bin) => count + (entry.confidence[bin] ?? 0)),
      new Array<number>(CONFIDENCE_BINS).fill(0),
    );
  const baselineDecisions = next.baseline.confidence.reduce((sum, value) => sum + value, 0);
  const windowDecisions = confidenceWindow.reduce((sum, value) => sum + value, 0);
  if (baselineDecisions >= config.drift.minConfidenceDecisions && windowDecisions >= MIN_WINDOW_ARRIVALS) {
    const result = confidenceDrift(next.baseline.confidence, confidenceWindow, {
      drop: config.drift.confidenceDrop,
      alpha: config.drift.psiAlpha,
      floor: config.drift.psiFloor,
    });
    tested('confidence', result.psi.psi, result.psi.threshold);
    if (result.drift) {
      drift.push(
        driftEvent(context(), {
          kind: 'confidence',
          direction: 'down',
          statistic: result.psi.psi,
          threshold: result.psi.threshold,
          summary: `decisions are less confident: mean confidence ${result.baselineMean.toFixed(2)} → ${result.windowMean.toFixed(2)}`,
          evidence: {
            baselineMeanConfidence: round(result.baselineMean),
            windowMeanConfidence: round(result.windowMean),
          },
          actions: ['notify'],
        }),
      );
      next = {
        ...next,
        baseline: { ...next.baseline, confidence: confidenceWindow },
        rebasedUntil: { ...next.rebasedUntil, confidence: next.processedUntil },
      };
    }
  }

  // Re-estimations of this cycle replace older ones of the same category.
  if (reestimations.length > 0) {
    const replaced = new Set(reestimations.map((entry) => entry.category));
    next = {
      ...next,
      reestimations: [
        ...next.reestimations.filter((entry) => !replaced.has(entry.category)),
        ...reestimations,
      ],
    };
  }

  // Capacity: demand at the current rates and handling estimates against the roster.
  const model = buildHandlingModel(input.features);
  // Demand rates: every arrival since the last step the arrival CUSUM found — the decayed
  // baseline plus the test window after it — the most precise estimate of the current level while
  // the CUSUM sees no change. A rate from n arrivals over T seconds has SD √n / T (an upper bound
  // for the decayed part), so a young estimate (the start of a day, just after a step) is wide and
  // its lower bound calls nobody on a few noisy minutes.
  const sinceStep = next.recent.filter((entry) => entry.start >= next.rebasedUntil.rate);
  const stepCounts = sumRecord([next.baseline.arrivals, ...sinceStep.map((entry) => entry.arrivals)]);
  const stepSeconds = next.baseline.seconds + sinceStep.reduce((sum, entry) => sum + entry.seconds, 0);
  const rateOf = (category: string): { readonly rate: number; readonly sd: number } => {
    const count = stepCounts[category] ?? 0;
    if (!(stepSeconds > 0)) return { rate: 0, sd: 0 };
    return { rate: count / stepSeconds, sd: Math.sqrt(count) / stepSeconds };
  };
  const known = [...new Set([...Object.keys(next.rates), ...Object.keys(next.baseline.arrivals)])]
    .filter((category) => next.categorySkills[category] !== undefined)
    .sort();
  // The mean handling time is an estimate too: from n observations with SD s its standard error
  // is s / √n — small on months of history, large just after a re-estimation restarted the
  // category from a few minutes of data (which a false residual alarm would otherwise turn into
  // a call). The lower bound of demand (rate × handling) takes both errors (delta method).
  const handlingRelativeError = (category: string): number => {
    const stats = input.features.byCategory[category];
    if (stats === undefined || stats.count < 2 || !(stats.mean > 0)) return 1;
    return Math.sqrt(stats.m2 / (stats.count - 1) / stats.count) / stats.mean;
  };
  const demandsAt = (lowerBound: boolean): CategoryDemand[] =>
    known.map((category) => {
      const { rate, sd } = rateOf(category);
      const relativeError = Math.hypot(rate > 0 ? sd / rate : 1, handlingRelativeError(category));
      return {
        category,
        arrivalsPerSecond: lowerBound
          ? Math.max(0, rate * (1 - config.capacity.rateConfidenceZ * relativeError))
          : rate,
        handlingSeconds: model.category(category).seconds,
        requiredSkills: next.categorySkills[category] ?? [],
      };
    });
  const demands = demandsAt(true);
  const baselines = next.occupancyBaseline;
  const targetOf = (categories: readonly string[]): number => {
    const baseline = baselines[groupKey(categories)];
    const { minOccupancy, maxOccupancy, occupancyMargin } = config.capacity;
    if (baseline === undefined) return maxOccupancy;
    return Math.min(maxOccupancy, Math.max(minOccupancy, baseline + occupancyMargin));
  };
  const standby: StandbyCall[] = [];
  const pendingIds = new Set(
    next.activations.filter((entry) => entry.decision === 'approval').map((entry) => entry.agentId),
  );
  const pending = input.standby.filter((agent) => pendingIds.has(agent.agentId));
  const onDuty = [...input.roster, ...pending.map((agent) => ({ ...agent, status: 'available' as const }))];
  let capacity = capacityShortfall(demands, onDuty, targetOf);
  // Capacity: each group's demand over supply against the occupancy it may reach.
  for (const [key, occupancy] of Object.entries(capacity.groups))
    tested('capacity', occupancy, targetOf(key.split('+')));
  const ratesWarm =
    next.ratesSince !== undefined && now - next.ratesSince >= config.capacity.warmupMinutes * MINUTE;
  if (ratesWarm && capacity.worst === undefined) {
    // Normal operation: each group's occupancy (point estimate) feeds its slow baseline.
    const point = capacityShortfall(demandsAt(false), onDuty, targetOf).groups;
    const elapsed = next.occupancyBaselineAt === undefined ? 0 : now - next.occupancyBaselineAt;
    const samples = next.occupancyBaselineSamples + 1;
    // A running mean until the average's own horizon is reached, then exponential forgetting.
    const weight = Math.max(
      1 / samples,
      1 - 2 ** (-elapsed / (config.drift.baselineHalfLifeMinutes * MINUTE)),
    );
    const updated: Record<string, number> = {};
    for (const [key, occupancy] of Object.entries(point)) {
      if (!Number.isFinite(occupancy)) continue;
      const previous = baselines[key];
      updated[key] = previous === undefined ? occupancy : previous + weight * (occupancy - previous);
    }
    next = {
      ...next,
      occupancyBaseline: updated,
      occupancyBaselineAt: now,
      occupancyBaselineSamples: samples,
    };
  }
  if (config.capacity.enabled && ratesWarm && capacity.worst !== undefined) {
    const autoLastHour = next.activations.filter((e) => e.decision === 'auto' && e.at > now - HOUR).length;
    // Called when the lower bound of demand shows a shortfall; enough people are called to cover
    // the best estimate of demand, not just its lower bound.
    const plan = planStandby({
      demands: demandsAt(false),
      onDuty,
      standby: input.standby.filter((agent) => !pendingIds.has(agent.agentId) && agent.status === 'offline'),
      targetOccupancy: targetOf,
      autoAllowed: Math.max(0, config.capacity.maxAutoActivationsPerHour - autoLastHour),
      maxTotal: Math.max(0, config.capacity.maxActivations - next.activations.length),
    });
    standby.push(...plan.activations);
    const alarmDue =
      next.lastCapacityAlarmAt === undefined || now - next.lastCapacityAlarmAt >= CAPACITY_ALARM_INTERVAL;
    if (plan.activations.length > 0 || alarmDue) {
      const worst = capacity.worst;
      drift.push(
        driftEvent(context(), {
          kind: 'capacity',
          direction: 'up',
          statistic: worst.demandSlots / Math.max(worst.supplySlots, 1e-9),
          threshold: worst.targetOccupancy,
          summary: `${worst.categories.join(' + ')} need ${(worst.demandSlots / worst.targetOccupancy).toFixed(1)} slots to stay at ${Math.round(worst.targetOccupancy * 100)}% occupancy; ${worst.supplySlots} are on duty${plan.activations.length > 0 ? `: calling ${plan.activations.map((entry) => `${entry.agentId}${entry.decision === 'approval' ? ' (needs approval)' : ''}`).join(', ')}` : ''}`,
          evidence: {
            categories: worst.categories.join(','),
            demandSlots: round(worst.demandSlots, 2),
            supplySlots: worst.supplySlots,
            shortfallSlots: round(worst.shortfallSlots, 2),
            targetOccupancy: round(worst.targetOccupancy, 3),
            occupancy: round(capacity.occupancy, 3),
            autoCalls: plan.activations.filter((entry) => entry.decision === 'auto').length,
            callsNeedingApproval: plan.activations.filter((entry) => entry.decision === 'approval').length,
          },
          actions: plan.activations.length > 0 ? ['call-standby'] : ['notify'],
        }),
      );
      next = { ...next, lastCapacityAlarmAt: now };
    }
    next = {
      ...next,
      activations: [
        ...next.activations,
        ...plan.activations.map((entry) => ({ agentId: entry.agentId, at: now, decision: entry.decision })),
      ],
    };
    capacity = plan.after;
  }

  // Window KPIs.
  const window = next.recent;
  const sum = (pick: (entry: RecentEntry) => number) => window.reduce((acc, entry) => acc + pick(entry), 0);
  const windowSeconds = sum((entry) => entry.seconds);
  const completions = sum((entry) => entry.completed);
  const decided = sum((entry) => entry.decided);
  const residualCount = sum((entry) => entry.residualCount);
  const kpis: WindowKpis = {
    windowStart: window[0]?.start ?? now,
    windowEnd: next.processedUntil,
    arrivalsPerHour: windowSeconds > 0 ? (sum((entry) => total(entry.arrivals)) / windowSeconds) * 3600 : 0,
    completions,
    slaAttainment: decided > 0 ? sum((entry) => entry.met) / decided : Number.NaN,
    largeErrorRate: residualCount > 0 ? sum((entry) => entry.largeErrors) / residualCount : Number.NaN,
    reopenRate: completions > 0 ? sum((entry) => entry.reopened) / completions : Number.NaN,
    meanConfidence: histogramMean(
      window.reduce(
        (histogram, entry) => histogram.map((count, bin) => count + (entry.confidence[bin] ?? 0)),
        new Array<number>(CONFIDENCE_BINS).fill(0),
      ),
    ),
    occupancy: capacity.occupancy,
  };

  // Experiment: add the new outcomes, then decide.
  let experiment = input.experiment;
  let experimentDecision: TuningCycleResult['experimentDecision'];
  let policyChange: PolicyChangeProposal | undefined;
  if (experiment !== undefined && experiment.status === 'running') {
    experiment = accumulateOutcomes(experiment, fresh);
    const decision = evaluateExperiment(experiment, config.experiment, now);
    experimentDecision = { ...decision, experimentId: experiment.experimentId };
    const evidence = flattenEvidence(decision.evidence);
    if (decision.decision === 'rollback') {
      experiment = {
        ...experiment,
        status: 'rolled-back',
        decidedAt: now,
        reason: decision.reason,
        evidence: decision.evidence,
      };
      policyChange = {
        kind: 'rolled-back',
        policy: input.policy,
        previousVersion: experiment.candidate.version,
        changes: [],
        reason: `rolled back ${experiment.candidate.version}: ${decision.reason}`,
        needsApproval: false,
        approvalReasons: [],
        experimentId: experiment.experimentId,
        evidence,
      };
    } else if (decision.decision === 'promote') {
      const impact = changeImpact(input.policy, experiment.candidate, config.approval);
      experiment = {
        ...experiment,
        status: impact.highImpact ? 'awaiting-approval' : 'promoted',
        decidedAt: now,
        reason: decision.reason,
        evidence: decision.evidence,
      };
      policyChange = {
        kind: 'promoted',
        policy: experiment.candidate,
        previousVersion: input.policy.version,
        changes: impact.changes,
        reason: `promoted ${experiment.candidate.version}: ${decision.reason}`,
        needsApproval: impact.highImpact,
        approvalReasons: impact.reasons,
        experimentId: experiment.experimentId,
        evidence,
      };
    } else if (decision.decision === 'inconclusive') {
      experiment = {
        ...experiment,
        status: 'inconclusive',
        decidedAt: now,
        reason: decision.reason,
        evidence: decision.evidence,
      };
    }
  }

  // Thresholds glide only when no A/B experiment is running, so its arms stay comparable.
  const abRunning = experiment !== undefined && experiment.status === 'running' && experiment.mode === 'ab';
  const thresholdsDue =
    next.lastThresholdChangeAt === undefined ||
    now - next.lastThresholdChangeAt >= config.thresholds.minMinutesBetweenChanges * MINUTE;
  if (policyChange === undefined && !abRunning && thresholdsDue) {
    const adaptation = adaptThresholds(
      input.policy,
      {
        completions: kpis.completions,
        largeErrorRate: kpis.largeErrorRate,
        reopenRate: kpis.reopenRate,
        occupancy: kpis.occupancy,
      },
      config.thresholds,
    );
    if (adaptation.changes.length > 0) {
      const sequence = next.sequence + 1;
      next = { ...next, sequence, lastThresholdChangeAt: now };
      policyChange = {
        kind: 'threshold-adapted',
        policy: { ...adaptation.policy, version: nextPolicyVersion(input.policy.version, sequence) },
        previousVersion: input.policy.version,
        changes: adaptation.changes.map((change) => change.field),
        reason: adaptation.changes
          .map((change) => `${change.field} ${change.from} → ${change.to}: ${change.reason}`)
          .join('; '),
        needsApproval: false,
        approvalReasons: [],
        evidence: Object.fromEntries(
          adaptation.changes.flatMap((change) => [
            [`${change.field}.from`, change.from],
            [`${change.field}.to`, change.to],
            [`${change.field}.target`, change.target],
          ]),
        ),
        thresholdChanges: adaptation.changes,
      };
    }
  }

  return {
    state: next,
    ...(experiment === undefined ? {} : { experiment }),
    kpis,
    drift,
    reestimations,
    standby,
    ...(experimentDecision === undefined ? {} : { experimentDecision }),
    ...(policyChange === undefined ? {} : { policyChange }),
    capacity,
    driftRatios,
  };
}

function flattenEvidence(evidence: ExperimentEvidence): Record<string, number> {
  return {
    controlDecided: evidence.control.decided,
    controlMet: evidence.control.met,
    treatmentDecided: evidence.treatment.decided,
    treatmentMet: evidence.treatment.met,
    difference: round(evidence.difference),
    promotionLogLikelihood: round(evidence.promotionLogLikelihood),
    promotionBoundary: round(evidence.promotionBoundary),
    harmLogLikelihood: round(evidence.harmLogLikelihood),
    harmBoundary: round(evidence.harmBoundary),
  };
}
