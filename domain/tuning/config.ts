import { z } from 'zod';

/**
 * The tuning loop's settings and guardrails: a validated document stored next to the decision
 * policy (Features table, pk `POLICY`, sk `TUNING`), changeable at run time like the policy.
 * Every automatic change the loop makes stays inside these bounds; anything outside them waits
 * for a person.
 */

const Fraction = z.number().min(0).max(1);

/** A threshold the loop may move, and the interval it must never leave. */
const ThresholdGuardrail = z
  .object({
    min: Fraction,
    max: Fraction,
    /** Where the threshold sits when the window's signals are at their targets. */
    base: Fraction,
  })
  .refine((guard) => guard.min <= guard.base && guard.base <= guard.max, {
    message: 'must satisfy min ≤ base ≤ max',
  });

export const DriftSettings = z.object({
  /** Recent window the distribution tests (category mix, confidence) compare with the baseline. */
  testWindowMinutes: z.number().int().min(5).max(240).default(30),
  /** The baseline forgets with this half-life, so slow seasonal change is not drift. */
  baselineHalfLifeMinutes: z.number().min(30).max(10_080).default(240),
  /** Arrivals the baseline must have seen before the rate and mix tests run. */
  minBaselineArrivals: z.number().int().min(10).default(500),
  /** Per-test false-alarm probability of a PSI test (chi-square calibrated for the sample sizes). */
  psiAlpha: z.number().min(1e-6).max(0.1).default(0.0001),
  /** PSI below this is never drift, however large the samples (0.1: the usual "moderate shift"). */
  psiFloor: z.number().min(0).max(1).default(0.1),
  /** Arrival-rate CUSUM: the rate ratio it is tuned to catch quickly, upward and downward. */
  arrivalUpRatio: z.number().min(1.05).max(5).default(1.4),
  arrivalDownRatio: z.number().min(0.1).max(0.95).default(0.7),
  /** CUSUM decision threshold h (log-likelihood units): higher = fewer false alarms, slower detection. */
  arrivalThreshold: z.number().min(1).max(50).default(9),
  /** Residual CUSUM: shift of the mean log(observed / predicted) it is tuned to, in reference SDs. */
  residualShiftSds: z.number().min(0.1).max(3).default(0.8),
  /**
   * Residual CUSUM decision threshold, in reference SDs (× the shift = log-likelihood units): the
   * lowest whose false-alarm rate on stationary days stays under the completion-only test's at 12
   * (measured: 0.08 against 0.13 alarms per category per 24 h, docs/tuning.md).
   */
  residualThreshold: z.number().min(1).max(50).default(11),
  /**
   * Completions of a category the residual reference (mean, SD) is learned from before testing;
   * afterwards it keeps learning from completions older than the test window, forgetting with the
   * baseline's half-life.
   */
  residualWarmup: z.number().int().min(20).max(10_000).default(300),
  /** Confidence drift: fall of the mean decision confidence (0..1) that counts as drift. */
  confidenceDrop: z.number().min(0.01).max(1).default(0.1),
  /** Decisions the confidence baseline needs before it is tested. */
  minConfidenceDecisions: z.number().int().min(10).default(200),
});
export type DriftSettings = z.infer<typeof DriftSettings>;

export const ThresholdSettings = z.object({
  enabled: z.boolean().default(true),
  /** Human review below this confidence; follows the recent rate of large prediction errors. */
  minConfidence: ThresholdGuardrail.default({ min: 0, max: 0.8, base: 0 }),
  /** Human review above this SLA / escalation risk; follows reopen rate and load. */
  maxAutoRisk: ThresholdGuardrail.default({ min: 0.6, max: 0.99, base: 0.95 }),
  /** Largest move of any threshold in one cycle: thresholds glide, they never jump. */
  maxStepPerCycle: z.number().min(0).max(1).default(0.02),
  /** Moves smaller than this are not worth a new policy version. */
  minChange: z.number().min(0).max(1).default(0.02),
  /** At most one threshold change per this many minutes: versions should not churn with noise. */
  minMinutesBetweenChanges: z.number().min(0).max(1440).default(30),
  /** Completions the window needs before thresholds move. */
  minCompletions: z.number().int().min(1).default(50),
  /** Share of predictions off by more than 2× the loop aims for, and how hard it reacts. */
  /** About 0.4 is inherent for handling times with a CV near 1, even with a perfect mean. */
  errorRateTarget: Fraction.default(0.4),
  errorGain: z.number().min(0).max(10).default(0.5),
  reopenRateTarget: Fraction.default(0.05),
  reopenGain: z.number().min(0).max(10).default(1),
  /** Occupancy at which the risk threshold sits at its base; above it, fewer items go to review. */
  loadReference: Fraction.default(0.8),
  loadGain: z.number().min(0).max(10).default(0.3),
});
export type ThresholdSettings = z.infer<typeof ThresholdSettings>;

export const ExperimentSettings = z.object({
  /** Share of items the candidate decides (deterministic by item id), fixed for an experiment's life. */
  treatmentShare: z.number().min(0.01).max(0.5).default(0.2),
  /** Outcomes each arm needs before any decision. */
  minDecidedPerArm: z.number().int().min(10).default(100),
  /** An experiment that has not decided by then ends inconclusive (control stays). */
  maxDecidedPerArm: z.number().int().min(100).default(5000),
  maxDurationMinutes: z.number().int().min(10).default(480),
  /** Bound on the probability of promoting a candidate no better than control (one-sided, mSPRT). */
  promotionAlpha: z.number().min(0.001).max(0.2).default(0.02),
  /** Bound on the probability of rolling back a candidate no worse than control. */
  harmAlpha: z.number().min(0.001).max(0.5).default(0.1),
  /** SD of the mSPRT mixing prior on the difference in SLA attainment: the effect size tuned for. */
  promotionMixtureSd: z.number().min(0.001).max(1).default(0.05),
  harmMixtureSd: z.number().min(0.001).max(1).default(0.1),
});
export type ExperimentSettings = z.infer<typeof ExperimentSettings>;

export const CapacitySettings = z.object({
  enabled: z.boolean().default(true),
  /**
   * A group of categories may run this much busier than its own baseline (the occupancy at which
   * it met its SLA before) before the loop calls people in...
   */
  occupancyMargin: z.number().min(0).max(1).default(0.08),
  /** ...nobody is called while a group stays below this... */
  minOccupancy: z.number().min(0.1).max(1).default(0.6),
  /** ...and no group may run busier than this, whatever its baseline. */
  maxOccupancy: z.number().min(0.3).max(1).default(0.92),
  /**
   * Half-life of the fast arrival-rate average kept in the state (for inspection: demand uses
   * every arrival since the last step).
   */
  rateHalfLifeMinutes: z.number().min(1).max(240).default(10),
  /**
   * The check uses demand's lower confidence bound, this many SDs below the estimate (the error of
   * the arrival rate since the last step and of the mean handling time), so people are called for
   * a shortfall the observations show, not for a noisy few minutes.
   */
  rateConfidenceZ: z.number().min(0).max(5).default(1.64),
  /** Minutes of arrivals the rate estimates need before the check runs. */
  warmupMinutes: z.number().min(0).max(1440).default(30),
  /** Standby activations the loop may make itself in any trailing hour; more wait for approval. */
  maxAutoActivationsPerHour: z.number().int().min(0).max(100).default(4),
  /** Standby activations the loop may ever propose while the shortfall lasts. */
  maxActivations: z.number().int().min(0).max(1000).default(20),
  /** People on call: agents the loop may propose to bring on duty (offline until then). */
  standbyAgentIds: z.array(z.string().min(1)).max(1000).default([]),
});
export type CapacitySettings = z.infer<typeof CapacitySettings>;

export const ApprovalSettings = z.object({
  /** A routing weight moving by more than this fraction of its value makes a change high-impact. */
  maxAutoWeightChange: z.number().min(0).max(10).default(0.25),
  /** A change of routing strategy or automated categories always waits for a person. */
  strategyChangeNeedsApproval: z.boolean().default(true),
});
export type ApprovalSettings = z.infer<typeof ApprovalSettings>;

export const TuningConfig = z.object({
  version: z.string().min(1).default('tuning-default-1'),
  /** The scheduled workflow runs every this many minutes. */
  cycleMinutes: z.number().int().min(1).max(60).default(2),
  /** Observation buckets are this long. */
  bucketSeconds: z.number().int().min(10).max(3600).default(60),
  drift: DriftSettings.default(DriftSettings.parse({})),
  thresholds: ThresholdSettings.default(ThresholdSettings.parse({})),
  experiment: ExperimentSettings.default(ExperimentSettings.parse({})),
  capacity: CapacitySettings.default(CapacitySettings.parse({})),
  approval: ApprovalSettings.default(ApprovalSettings.parse({})),
});
export type TuningConfig = z.infer<typeof TuningConfig>;
export type TuningConfigInput = z.input<typeof TuningConfig>;

/** Every default: what applies until an operator stores another document. */
export const DEFAULT_TUNING_CONFIG: TuningConfig = TuningConfig.parse({});
