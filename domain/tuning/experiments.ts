import { z } from 'zod';
import { Policy } from '../policy';
import { hashString } from '../random';
import type { ExperimentSettings } from './config';
import { type ArmOutcomes, armKey, type ObservationBucket } from './observations';

/**
 * Experiments on the decision policy. An item's arm is a pure function of its id and the
 * experiment (so the dispatcher, the audit trail and the tuning loop always agree, and a replay
 * reproduces it); shadow mode computes the candidate's decision and records it without acting on
 * it; A/B mode lets the candidate decide a fixed share of items. The decision uses a mixture
 * sequential probability ratio test (mSPRT; Robbins 1970, Johari et al. 2017): it may be looked
 * at after every batch and still bounds the chance of promoting a candidate that is no better than
 * control by `promotionAlpha` — about half of it in practice, since only one direction promotes.
 * A second mSPRT with its own bound watches for harm and rolls the candidate back.
 */

export const Arm = z.enum(['control', 'treatment']);
export type Arm = z.infer<typeof Arm>;

export const ExperimentStatus = z.enum([
  'running',
  'awaiting-approval',
  'promoted',
  'rolled-back',
  'inconclusive',
  'rejected',
  /** A person stopped it through the ops API: control stays, nothing is promoted. */
  'stopped',
]);
export type ExperimentStatus = z.infer<typeof ExperimentStatus>;

export const ExperimentEvidence = z.object({
  control: z.object({ decided: z.number().int().min(0), met: z.number().int().min(0) }),
  treatment: z.object({ decided: z.number().int().min(0), met: z.number().int().min(0) }),
  /** Treatment minus control SLA attainment (fraction). */
  difference: z.number(),
  /** ln Λ of the promotion and harm mSPRTs, and the ln(1/α) each must reach. */
  promotionLogLikelihood: z.number(),
  promotionBoundary: z.number(),
  harmLogLikelihood: z.number(),
  harmBoundary: z.number(),
});
export type ExperimentEvidence = z.infer<typeof ExperimentEvidence>;

/**
 * An experiment's own stopping rule: each field overrides the tuning configuration's experiment
 * setting of the same name (ExperimentSettings) for this experiment only.
 */
export const ExperimentStoppingRule = z
  .object({
    /** Outcomes each arm needs before a promotion. */
    minDecidedPerArm: z.number().int().min(10).max(1_000_000).optional(),
    /** Ends inconclusive when an arm has this many outcomes without a decision. */
    maxDecidedPerArm: z.number().int().min(100).max(10_000_000).optional(),
    /** Ends inconclusive this long after its start (A/B only; a shadow experiment runs until stopped). */
    maxDurationMinutes: z
      .number()
      .int()
      .min(10)
      .max(14 * 24 * 60)
      .optional(),
    /** Bound on promoting a candidate no better than control (the promotion mSPRT's α). */
    promotionAlpha: z.number().min(0.001).max(0.2).optional(),
  })
  .strict();
export type ExperimentStoppingRule = z.infer<typeof ExperimentStoppingRule>;

/** What rolls an A/B candidate back, besides nothing: each field with its threshold. */
export const ExperimentGuardrails = z
  .object({
    /** SLA attainment, sequential: the harm mSPRT's α (roll back once ln Λ ≥ ln(1/α), treatment worse). */
    harmAlpha: z.number().min(0.001).max(0.5).optional(),
    /**
     * SLA attainment, fixed: roll back as soon as both arms have MIN_DECIDED_FOR_ROLLBACK outcomes
     * and the treatment's attainment is more than this fraction below control's (0.05 = 5 points).
     * A hard limit, not a test: it may roll back a candidate that is only unlucky.
     */
    maxAttainmentDrop: z.number().min(0.001).max(1).optional(),
  })
  .strict();
export type ExperimentGuardrails = z.infer<typeof ExperimentGuardrails>;

export const Experiment = z.object({
  experimentId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 of letters, digits, "_.-"'),
  /** shadow: the candidate decides on paper only; ab: it decides `treatmentShare` of the items. */
  mode: z.enum(['shadow', 'ab']),
  controlVersion: z.string().min(1),
  candidate: Policy,
  treatmentShare: z.number().min(0).max(0.5),
  startedAt: z.number(),
  startedBy: z.string().min(1),
  status: ExperimentStatus,
  /** Outcomes decided so far, per arm (A/B only). */
  totals: z.object({
    control: z.object({ decided: z.number().int().min(0), met: z.number().int().min(0) }),
    treatment: z.object({ decided: z.number().int().min(0), met: z.number().int().min(0) }),
  }),
  /** Shadow decisions recorded, and how many agreed with the live decision. */
  shadow: z.object({ decisions: z.number().int().min(0), agreed: z.number().int().min(0) }),
  decidedAt: z.number().optional(),
  reason: z.string().optional(),
  evidence: ExperimentEvidence.optional(),
  /** Why the person who started it did (ops API). */
  startReason: z.string().optional(),
  /** Overrides of the configured stopping rule and guardrails, for this experiment only. */
  stopping: ExperimentStoppingRule.optional(),
  guardrails: ExperimentGuardrails.optional(),
  /** Who stopped it, when a person did (status 'stopped'). */
  stoppedBy: z.string().optional(),
});
export type Experiment = z.infer<typeof Experiment>;

/** murmur3's finaliser: FNV-1a's high bits vary too little between ids like "T-1", "T-2". */
function mix32(hash: number): number {
  let h = hash >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) fixed by the experiment and the item. */
export function splitPoint(experimentId: string, itemId: string): number {
  return mix32(hashString(`${experimentId}:${itemId}`)) / 4294967296;
}

/**
 * The arm of an item: deterministic in (experiment, item id), independent of time and of other
 * items, so any component can recompute it and a retry lands in the same arm. Shadow experiments
 * route every item by control.
 *
 * @example
 * experimentArm('TCK-10482', { experimentId: 'exp-7', mode: 'ab', treatmentShare: 0.2 }); // 'control'
 */
export function experimentArm(
  itemId: string,
  experiment: Pick<Experiment, 'experimentId' | 'mode' | 'treatmentShare'>,
): Arm {
  if (experiment.mode === 'shadow') return 'control';
  return splitPoint(experiment.experimentId, itemId) < experiment.treatmentShare ? 'treatment' : 'control';
}

/**
 * ln Λ of the mSPRT for a difference of two proportions with a N(0, τ²) mixing prior on the
 * difference, using the pooled variance (the null's):
 * Λ = √(V/(V+τ²))·exp(τ²θ̂² / (2V(V+τ²))), V = p̄(1−p̄)(1/n₁ + 1/n₂).
 * Rejecting "no difference" once Λ ≥ 1/α keeps the error below α however often it is checked.
 */
export function msprtLogLikelihood(
  control: ArmOutcomes,
  treatment: ArmOutcomes,
  mixtureSd: number,
): { readonly logLikelihood: number; readonly difference: number } {
  if (control.decided === 0 || treatment.decided === 0) return { logLikelihood: 0, difference: 0 };
  const controlRate = control.met / control.decided;
  const treatmentRate = treatment.met / treatment.decided;
  const difference = treatmentRate - controlRate;
  const total = control.decided + treatment.decided;
  // Half an observation either way keeps the variance positive when every outcome agrees.
  const pooled = Math.min(Math.max((control.met + treatment.met) / total, 0.5 / total), 1 - 0.5 / total);
  const variance = pooled * (1 - pooled) * (1 / control.decided + 1 / treatment.decided);
  const tauSquared = mixtureSd * mixtureSd;
  const logLikelihood =
    0.5 * Math.log(variance / (variance + tauSquared)) +
    (tauSquared * difference * difference) / (2 * variance * (variance + tauSquared));
  return { logLikelihood, difference };
}

export type ExperimentDecision =
  | { readonly decision: 'continue'; readonly evidence: ExperimentEvidence; readonly reason: string }
  | { readonly decision: 'promote'; readonly evidence: ExperimentEvidence; readonly reason: string }
  | { readonly decision: 'rollback'; readonly evidence: ExperimentEvidence; readonly reason: string }
  | { readonly decision: 'inconclusive'; readonly evidence: ExperimentEvidence; readonly reason: string };

/** Outcomes the harm test needs per arm before it may roll back (the normal approximation's floor). */
export const MIN_DECIDED_FOR_ROLLBACK = 30;

/**
 * The settings one experiment is decided by: the configured ones, with the experiment's own
 * stopping rule and guardrails over them.
 *
 * @example
 * experimentSettings(config.experiment, { stopping: { maxDurationMinutes: 60 } }).maxDurationMinutes; // 60
 */
export function experimentSettings(
  settings: ExperimentSettings,
  experiment: Pick<Experiment, 'stopping' | 'guardrails'>,
): ExperimentSettings & { readonly maxAttainmentDrop?: number } {
  const { stopping = {}, guardrails = {} } = experiment;
  return {
    ...settings,
    ...stopping,
    ...(guardrails.harmAlpha === undefined ? {} : { harmAlpha: guardrails.harmAlpha }),
    ...(guardrails.maxAttainmentDrop === undefined
      ? {}
      : { maxAttainmentDrop: guardrails.maxAttainmentDrop }),
  };
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

/**
 * Decides a running A/B experiment from its totals: roll back when the harm test says the
 * candidate is worse; promote when the promotion test says it is better and both arms have the
 * minimum sample; end inconclusive at the sample or time limit; otherwise continue.
 */
export function evaluateExperiment(
  experiment: Pick<Experiment, 'totals' | 'startedAt' | 'mode' | 'stopping' | 'guardrails'>,
  configured: ExperimentSettings,
  now: number,
): ExperimentDecision {
  const settings = experimentSettings(configured, experiment);
  const { control, treatment } = experiment.totals;
  const promotion = msprtLogLikelihood(control, treatment, settings.promotionMixtureSd);
  const harm = msprtLogLikelihood(control, treatment, settings.harmMixtureSd);
  const evidence: ExperimentEvidence = {
    control,
    treatment,
    difference: promotion.difference,
    promotionLogLikelihood: promotion.logLikelihood,
    promotionBoundary: Math.log(1 / settings.promotionAlpha),
    harmLogLikelihood: harm.logLikelihood,
    harmBoundary: Math.log(1 / settings.harmAlpha),
  };
  const attainments = `treatment ${percent(treatment.met / Math.max(treatment.decided, 1))} of ${treatment.decided}, control ${percent(control.met / Math.max(control.decided, 1))} of ${control.decided}`;
  if (experiment.mode === 'shadow') {
    return { decision: 'continue', evidence, reason: 'shadow mode: the candidate decides nothing' };
  }
  const smallest = Math.min(control.decided, treatment.decided);
  if (
    smallest >= MIN_DECIDED_FOR_ROLLBACK &&
    harm.difference < 0 &&
    harm.logLikelihood >= evidence.harmBoundary
  ) {
    return {
      decision: 'rollback',
      evidence,
      reason: `candidate worse on SLA attainment (${attainments}; harm test ln Λ ${harm.logLikelihood.toFixed(2)} ≥ ${evidence.harmBoundary.toFixed(2)})`,
    };
  }
  if (
    settings.maxAttainmentDrop !== undefined &&
    smallest >= MIN_DECIDED_FOR_ROLLBACK &&
    -promotion.difference > settings.maxAttainmentDrop
  ) {
    return {
      decision: 'rollback',
      evidence,
      reason: `candidate's SLA attainment more than ${percent(settings.maxAttainmentDrop)} below control's (${attainments}; guardrail maxAttainmentDrop)`,
    };
  }
  if (
    smallest >= settings.minDecidedPerArm &&
    promotion.difference > 0 &&
    promotion.logLikelihood >= evidence.promotionBoundary
  ) {
    return {
      decision: 'promote',
      evidence,
      reason: `candidate better on SLA attainment (${attainments}; promotion test ln Λ ${promotion.logLikelihood.toFixed(2)} ≥ ${evidence.promotionBoundary.toFixed(2)})`,
    };
  }
  const minutes = (now - experiment.startedAt) / 60_000;
  if (smallest >= settings.maxDecidedPerArm || minutes >= settings.maxDurationMinutes) {
    return {
      decision: 'inconclusive',
      evidence,
      reason: `no significant difference after ${Math.round(minutes)} min (${attainments}): control stays`,
    };
  }
  return { decision: 'continue', evidence, reason: `collecting outcomes (${attainments})` };
}

/** Adds the outcomes of new buckets to a running experiment's totals. */
export function accumulateOutcomes(
  experiment: Experiment,
  buckets: readonly ObservationBucket[],
): Experiment {
  const controlKey = armKey(experiment.experimentId, 'control');
  const treatmentKey = armKey(experiment.experimentId, 'treatment');
  let { control, treatment } = experiment.totals;
  for (const bucket of buckets) {
    const c = bucket.outcomes[controlKey];
    const t = bucket.outcomes[treatmentKey];
    if (c !== undefined) control = { decided: control.decided + c.decided, met: control.met + c.met };
    if (t !== undefined) treatment = { decided: treatment.decided + t.decided, met: treatment.met + t.met };
  }
  return { ...experiment, totals: { control, treatment } };
}

/**
 * Starts an experiment of `candidate` against the active policy.
 *
 * @example
 * startExperiment({ experimentId: 'exp-7', candidate, active, mode: 'ab', treatmentShare: 0.2, now, startedBy: 'ops:ana' });
 */
export function startExperiment(input: {
  readonly experimentId: string;
  readonly candidate: Policy;
  readonly active: Policy;
  readonly mode: 'shadow' | 'ab';
  readonly treatmentShare: number;
  readonly now: number;
  readonly startedBy: string;
}): Experiment {
  if (input.candidate.version === input.active.version) {
    throw new RangeError(
      `candidate version "${input.candidate.version}" is the active version; give the candidate its own version`,
    );
  }
  return Experiment.parse({
    experimentId: input.experimentId,
    mode: input.mode,
    controlVersion: input.active.version,
    candidate: input.candidate,
    treatmentShare: input.mode === 'shadow' ? 0 : input.treatmentShare,
    startedAt: input.now,
    startedBy: input.startedBy,
    status: 'running',
    totals: { control: { decided: 0, met: 0 }, treatment: { decided: 0, met: 0 } },
    shadow: { decisions: 0, agreed: 0 },
  });
}

/** One arm's outcomes as a person reads them. */
export interface ArmKpis {
  readonly decided: number;
  readonly met: number;
  /** met ÷ decided; null before the first outcome. */
  readonly slaAttainment: number | null;
}

/** Where a running experiment stands and what ends it. */
export interface ExperimentOutlook {
  readonly arms: { readonly control: ArmKpis; readonly treatment: ArmKpis };
  /** What the tuning loop would decide from these totals now ('continue' while it collects). */
  readonly decision: ExperimentDecision['decision'];
  readonly evidence: ExperimentEvidence;
  readonly reason: string;
  /** The stopping rule and guardrails in force (configured, with the experiment's own over them). */
  readonly settings: ExperimentSettings & { readonly maxAttainmentDrop?: number };
  /** ISO time it ends inconclusive at the latest (A/B), if nothing decides it first. */
  readonly endsAt?: string;
  /** What happens next, one sentence per way out: promote when…, roll back when…, ends at…. */
  readonly next: readonly string[];
}

const armKpis = (arm: ArmOutcomes): ArmKpis => ({
  decided: arm.decided,
  met: arm.met,
  slaAttainment: arm.decided === 0 ? null : arm.met / arm.decided,
});

const fixed = (value: number) => value.toFixed(2);

/**
 * The arms' KPIs, the sequential tests' evidence and what will happen next, for `flowtune ops
 * experiments status`: the same evaluation the tuning loop runs every cycle (evaluateExperiment),
 * spelled out as the conditions that promote, roll back or end the experiment.
 *
 * @example
 * experimentOutlook(experiment, config.experiment, now).next[0]; // 'promotes candidate-7 when …'
 */
export function experimentOutlook(
  experiment: Experiment,
  configured: ExperimentSettings,
  now: number,
  options: { readonly needsApproval?: readonly string[] } = {},
): ExperimentOutlook {
  const settings = experimentSettings(configured, experiment);
  const evaluation = evaluateExperiment(experiment, configured, now);
  const { control, treatment } = experiment.totals;
  const arms = { control: armKpis(control), treatment: armKpis(treatment) };
  const evidence = evaluation.evidence;
  const candidate = experiment.candidate.version;
  const counts = `now ${treatment.decided} treatment, ${control.decided} control`;
  if (experiment.status !== 'running') {
    const ended = `ended ${experiment.status}${experiment.decidedAt === undefined ? '' : ` at ${new Date(experiment.decidedAt).toISOString()}`}${experiment.stoppedBy === undefined ? '' : ` by ${experiment.stoppedBy}`}: ${experiment.reason ?? 'no reason recorded'}`;
    return {
      arms,
      decision: evaluation.decision,
      evidence: experiment.evidence ?? evidence,
      reason: experiment.reason ?? evaluation.reason,
      settings,
      next: [
        experiment.status === 'awaiting-approval'
          ? `promotion of ${candidate} waits for a person: flowtune ops approvals approve|reject (the wait expires in 24 h, rejected)`
          : `nothing: the experiment ${ended}`,
      ],
    };
  }
  if (experiment.mode === 'shadow') {
    return {
      arms,
      decision: evaluation.decision,
      evidence,
      reason: evaluation.reason,
      settings,
      next: [
        `nothing is promoted or rolled back: ${candidate} decides on paper only (SHADOW_DECISION audit records) until someone stops it (flowtune ops experiments stop ${experiment.experimentId} --reason TEXT)`,
      ],
    };
  }
  const endsAt = new Date(experiment.startedAt + settings.maxDurationMinutes * 60_000).toISOString();
  const approval =
    options.needsApproval === undefined || options.needsApproval.length === 0
      ? ''
      : `, then waits for a person's approval (${options.needsApproval.join('; ')})`;
  const next = [
    `promotes ${candidate} when both arms have at least ${settings.minDecidedPerArm} outcomes (${counts}), the treatment's SLA attainment is higher and the promotion test's ln Λ reaches ${fixed(evidence.promotionBoundary)} (now ${fixed(evidence.promotionLogLikelihood)}, α ${settings.promotionAlpha})${approval}`,
    `rolls back to ${experiment.controlVersion} when both arms have at least ${MIN_DECIDED_FOR_ROLLBACK} outcomes, the treatment's SLA attainment is lower and the harm test's ln Λ reaches ${fixed(evidence.harmBoundary)} (now ${fixed(evidence.harmLogLikelihood)}, α ${settings.harmAlpha})${settings.maxAttainmentDrop === undefined ? '' : `, or its attainment is more than ${percent(settings.maxAttainmentDrop)} below control's (now ${percent(Math.max(0, -evidence.difference))} below)`}`,
    `ends inconclusive (${experiment.controlVersion} stays) at ${endsAt} or when an arm reaches ${settings.maxDecidedPerArm} outcomes, whichever comes first`,
  ];
  if (evaluation.decision !== 'continue') {
    next.unshift(`the next tuning cycle decides: ${evaluation.decision} (${evaluation.reason})`);
  }
  return { arms, decision: evaluation.decision, evidence, reason: evaluation.reason, settings, endsAt, next };
}
