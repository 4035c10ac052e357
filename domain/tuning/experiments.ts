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

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

/**
 * Decides a running A/B experiment from its totals: roll back when the harm test says the
 * candidate is worse; promote when the promotion test says it is better and both arms have the
 * minimum sample; end inconclusive at the sample or time limit; otherwise continue.
 */
export function evaluateExperiment(
  experiment: Pick<Experiment, 'totals' | 'startedAt' | 'mode'>,
  settings: ExperimentSettings,
  now: number,
): ExperimentDecision {
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
